package localhttp

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// SDKConfig is the aws.Config for an SDK client aimed at a simulator served at endpoint, such as
// ssm.NewFromConfig(SDKConfig(region, url)): static lab credentials, Client as the HTTP client,
// and a single attempt per call, so every error the simulator sends reaches the caller.
func SDKConfig(region, endpoint string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLABSIM", "secret", ""),
		HTTPClient:   Client(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 1
				o.RateLimiter = ratelimit.None
			})
		},
	}
}
