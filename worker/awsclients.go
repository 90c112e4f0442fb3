package worker

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"k8s.io/client-go/kubernetes"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/bootstrap"
)

// classResolver builds what resolves the EC2NodeClasses: EC2 for subnets, security groups and
// images, SSM for AMI aliases, IAM for instance profiles.
func classResolver(ctx context.Context, cfg Config, ec2Client *ec2.Client, kube kubernetes.Interface) (activities.ClassResolver, error) {
	awsCfg, err := awsConfig(ctx, cfg)
	if err != nil {
		return activities.ClassResolver{}, err
	}
	ssmClient := ssm.NewFromConfig(awsCfg, func(o *ssm.Options) {
		if cfg.SSMEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.SSMEndpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	})
	iamClient := iam.NewFromConfig(awsCfg, func(o *iam.Options) {
		if cfg.IAMEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.IAMEndpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	})
	return activities.ClassResolver{
		Network:  activities.Network{API: ec2Client},
		Images:   activities.Images{EC2: ec2Client, SSM: ssmClient, KubernetesVersion: kubernetesVersion(kube)},
		Profiles: activities.InstanceProfiles{API: iamClient, ClusterName: cfg.ClusterName, Region: cfg.Region},
	}, nil
}

// kubernetesVersion reads the API server's minor version ("1.33"), under which AWS publishes
// the EKS AMIs.
func kubernetesVersion(kube kubernetes.Interface) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return KubernetesVersion(kube) }
}

// KubernetesVersion is the API server's minor version, as EKS and its AMI names write it
// ("1.33").
func KubernetesVersion(kube kubernetes.Interface) (string, error) {
	v, err := kube.Discovery().ServerVersion()
	if err != nil {
		return "", fmt.Errorf("read the API server's version: %w", err)
	}
	return v.Major + "." + strings.TrimSuffix(v.Minor, "+"), nil
}

// nodeCluster remembers what nodes need to join once EKS has answered: until then each
// launch asks again, and nothing else waits for it.
type nodeCluster struct {
	cfg Config
	mu  sync.Mutex
	got *bootstrap.Cluster
}

// Get returns the cluster as the flags and EKS describe it.
func (n *nodeCluster) Get(ctx context.Context) (bootstrap.Cluster, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.got != nil {
		return *n.got, nil
	}
	c, err := clusterForNodes(ctx, n.cfg)
	if err != nil {
		return bootstrap.Cluster{}, err
	}
	n.got = &c
	return c, nil
}

// clusterForNodes is what nodes need to join: the flags, or EKS's DescribeCluster for what
// they leave out.
func clusterForNodes(ctx context.Context, cfg Config) (bootstrap.Cluster, error) {
	c := bootstrap.Cluster{Name: cfg.ClusterName, Endpoint: cfg.ClusterEndpoint, CABundle: cfg.ClusterCABundle, ServiceCIDR: cfg.ServiceCIDR}
	if c.Endpoint != "" && c.CABundle != "" && c.ServiceCIDR != "" {
		return c, nil
	}
	awsCfg, err := awsConfig(ctx, cfg)
	if err != nil {
		return c, err
	}
	client := eks.NewFromConfig(awsCfg, func(o *eks.Options) {
		if cfg.EKSEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.EKSEndpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	})
	out, err := client.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(cfg.ClusterName)})
	if err != nil {
		return c, fmt.Errorf("ask EKS for cluster %s's endpoint, CA and service CIDR, which nodes need to join (or give --cluster-endpoint, --cluster-ca-bundle and --service-cidr): %w",
			cfg.ClusterName, err)
	}
	cluster := out.Cluster
	if c.Endpoint == "" {
		c.Endpoint = aws.ToString(cluster.Endpoint)
	}
	if c.CABundle == "" && cluster.CertificateAuthority != nil {
		c.CABundle = aws.ToString(cluster.CertificateAuthority.Data)
	}
	if net := cluster.KubernetesNetworkConfig; c.ServiceCIDR == "" && net != nil {
		c.ServiceCIDR = aws.ToString(net.ServiceIpv4Cidr)
		if c.ServiceCIDR == "" { // an IPv6 cluster
			c.ServiceCIDR = aws.ToString(net.ServiceIpv6Cidr)
		}
	}
	if c.ServiceCIDR == "" {
		return c, fmt.Errorf("EKS describes cluster %s without a service CIDR; give --service-cidr", cfg.ClusterName)
	}
	if _, err := base64.StdEncoding.DecodeString(c.CABundle); err != nil || c.Endpoint == "" {
		return c, fmt.Errorf("EKS describes cluster %s without an endpoint or a readable CA; give --cluster-endpoint and --cluster-ca-bundle", cfg.ClusterName)
	}
	return c, nil
}
