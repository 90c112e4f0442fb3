package moto

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/nodewright/nodewright/lab/ec2sim"
)

// The lab's EC2 simulator refuses what moto refuses, with the same error code: a request our
// client gets wrong fails in the lab as it would on AWS.
func TestTheLabRefusesWhatMotoRefuses(t *testing.T) {
	motoEC2 := ec2Client(t)
	reset(t)
	sim := ec2sim.New(ec2sim.Options{})
	t.Cleanup(sim.Close)
	server := httptest.NewServer(sim)
	t.Cleanup(server.Close)
	labEC2 := ec2.New(ec2.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(server.URL),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""), HTTPClient: ec2sim.HTTPClient(),
	})
	tests := []struct {
		name string
		call func(ctx context.Context, api *ec2.Client) error
	}{
		{"an unknown subnet id", func(ctx context.Context, api *ec2.Client) error {
			_, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0123456789abcdef0"}})
			return err
		}},
		{"an unknown security group id", func(ctx context.Context, api *ec2.Client) error {
			_, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
			return err
		}},
		{"an unknown security group name", func(ctx context.Context, api *ec2.Client) error {
			_, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"no-such-group"}})
			return err
		}},
		{"an unknown instance id", func(ctx context.Context, api *ec2.Client) error {
			_, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
			return err
		}},
		{"terminating an unknown instance", func(ctx context.Context, api *ec2.Client) error {
			_, err := api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, got := code(tt.call(ctx(t), motoEC2)), code(tt.call(ctx(t), labEC2))
			if want == "" {
				t.Fatalf("moto accepted the request: the case proves nothing")
			}
			if got != want {
				t.Errorf("the lab answered %q, moto %q", got, want)
			}
		})
	}
}

// code is an API error's code, "" for success or another failure.
func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
