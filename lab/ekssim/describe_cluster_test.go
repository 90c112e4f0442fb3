package ekssim_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"

	"github.com/nodewright/nodewright/lab/ekssim"
)

func TestDescribeClusterReportsTheClusterAsEKSDoes(t *testing.T) {
	withCIDR := labCluster()
	withCIDR.Name, withCIDR.ServiceCIDR = "other_cluster-2", "172.20.0.0/16"
	tests := []struct {
		name     string
		cluster  ekssim.Cluster
		wantCIDR string
	}{
		{"a cluster with EKS's default service range", labCluster(), "10.100.0.0/16"},
		{"a cluster with its own service range", withCIDR, "172.20.0.0/16"},
	}
	client := clientFor(t, labCluster(), withCIDR)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.DescribeCluster(t.Context(), &eks.DescribeClusterInput{Name: aws.String(tc.cluster.Name)})
			if err != nil {
				t.Fatalf("describe cluster %s: %v", tc.cluster.Name, err)
			}
			c := out.Cluster
			if aws.ToString(c.Name) != tc.cluster.Name || aws.ToString(c.Arn) != "arn:aws:eks:eu-west-1:111122223333:cluster/"+tc.cluster.Name {
				t.Errorf("cluster came back as %s with ARN %s", aws.ToString(c.Name), aws.ToString(c.Arn))
			}
			if aws.ToString(c.Endpoint) != tc.cluster.Endpoint || c.CertificateAuthority == nil || aws.ToString(c.CertificateAuthority.Data) != tc.cluster.CAData {
				t.Errorf("cluster %s has endpoint %s and CA %+v, want %s and its CA data", tc.cluster.Name, aws.ToString(c.Endpoint), c.CertificateAuthority, tc.cluster.Endpoint)
			}
			if n := c.KubernetesNetworkConfig; n == nil || aws.ToString(n.ServiceIpv4Cidr) != tc.wantCIDR || n.IpFamily != types.IpFamilyIpv4 {
				t.Errorf("cluster %s has network config %+v, want service range %s over ipv4", tc.cluster.Name, n, tc.wantCIDR)
			}
			if aws.ToString(c.Version) != "1.34" || c.Status != types.ClusterStatusActive || aws.ToString(c.PlatformVersion) == "" {
				t.Errorf("cluster %s is version %s, %s, platform %q; want 1.34, ACTIVE and a platform version",
					tc.cluster.Name, aws.ToString(c.Version), c.Status, aws.ToString(c.PlatformVersion))
			}
			if c.CreatedAt == nil || !c.CreatedAt.Equal(createdAt) {
				t.Errorf("cluster %s was created at %v, want %v", tc.cluster.Name, c.CreatedAt, createdAt)
			}
		})
	}
}

func TestDescribeClusterRefusesAnUnknownCluster(t *testing.T) {
	tests := []struct{ name, cluster string }{
		{"a name it does not have", "production"},
		{"a known name in other case", "LAB"},
		{"a name that needs escaping in the path", "lab/../lab"},
	}
	client := clientFor(t, labCluster())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.DescribeCluster(t.Context(), &eks.DescribeClusterInput{Name: aws.String(tc.cluster)})
			var notFound *types.ResourceNotFoundException
			var apiErr smithy.APIError
			if !errors.As(err, &notFound) || !errors.As(err, &apiErr) || apiErr.ErrorCode() != ekssim.CodeResourceNotFound {
				t.Fatalf("describe %q failed with %v, want the SDK's ResourceNotFoundException", tc.cluster, err)
			}
			if want := "No cluster found for name: " + tc.cluster + "."; aws.ToString(notFound.Message) != want {
				t.Errorf("describe %q said %q, want %q", tc.cluster, aws.ToString(notFound.Message), want)
			}
		})
	}
}
