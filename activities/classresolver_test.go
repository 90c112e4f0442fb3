package activities

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/lab/ec2sim"
	"github.com/nodewright/nodewright/lab/iamsim"
	"github.com/nodewright/nodewright/lab/ssmsim"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// labImages serves the lab's node images through the EC2 and SSM simulators, as AWS
// publishes them for Kubernetes 1.37, and returns the resolver of AMIs.
func labImages(t *testing.T) Images {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	images := ec2sim.DefaultImages("1.37")
	sim := ec2sim.New(ec2sim.Options{Types: types, Images: images})
	ec2URL, err := sim.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	params, err := ssmsim.New(ssmsim.Options{Region: "us-east-1", Parameters: ssmsim.EKSOptimizedAMIParameters("1.37", ssmsim.AMIs{
		AL2023AMD64: images[0].ID, AL2023ARM64: images[1].ID, AL2023NvidiaAMD64: images[2].ID,
		BottlerocketAMD64: images[3].ID, BottlerocketARM64: images[4].ID, Version: "v20251120", BottlerocketVersion: "1.50.0",
	})})
	if err != nil {
		t.Fatal(err)
	}
	ssmURL, err := params.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewStaticCredentialsProvider("lab", "lab", "")
	return Images{
		EC2:               ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(ec2URL), Credentials: creds, HTTPClient: ec2sim.HTTPClient()}),
		SSM:               ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(ssmURL), Credentials: creds, HTTPClient: ssmsim.HTTPClient()}),
		KubernetesVersion: func(context.Context) (string, error) { return "1.37", nil },
	}
}

func TestAMISelectorTermsResolve(t *testing.T) {
	im := labImages(t)
	tests := []struct {
		name    string
		terms   []awsv1.AMISelectorTerm
		wantIDs []string
		wantErr error
	}{
		{"al2023@latest: one AMI per architecture and GPU variant", []awsv1.AMISelectorTerm{{Alias: "al2023@latest"}},
			[]string{"ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60002", "ami-0a1b2c3d4e5f60003"}, nil},
		{"al2023 pinned to a release", []awsv1.AMISelectorTerm{{Alias: "al2023@v20251120"}},
			[]string{"ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60002", "ami-0a1b2c3d4e5f60003"}, nil},
		{"bottlerocket@latest: the variants AWS publishes", []awsv1.AMISelectorTerm{{Alias: "bottlerocket@latest"}},
			[]string{"ami-0a1b2c3d4e5f60004", "ami-0a1b2c3d4e5f60005"}, nil},
		{"an alias pinned to a release AWS never made", []awsv1.AMISelectorTerm{{Alias: "al2023@v20990101"}}, nil, ErrNoAMI},
		{"ids", []awsv1.AMISelectorTerm{{ID: "ami-0a1b2c3d4e5f60002"}, {ID: "ami-0a1b2c3d4e5f60001"}},
			[]string{"ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60002"}, nil},
		{"a name with wildcards, owned by Amazon", []awsv1.AMISelectorTerm{{Name: "bottlerocket-aws-k8s-1.37-*", Owner: "amazon"}},
			[]string{"ami-0a1b2c3d4e5f60004", "ami-0a1b2c3d4e5f60005"}, nil},
		{"a name nobody owns", []awsv1.AMISelectorTerm{{Name: "my-golden-image-*"}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			amis, err := im.AMIs(context.Background(), tt.terms)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range amis {
				ids = append(ids, a.ID)
				if len(a.Requirements) == 0 {
					t.Errorf("AMI %s has no requirements: every instance type would take it", a.ID)
				}
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("AMIs %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

// Each alias variant suits only its instance types: arm64 types the arm64 AMI, GPU types the
// NVIDIA one.
func TestAliasAMIsSuitTheirInstanceTypes(t *testing.T) {
	amis, err := labImages(t).AMIs(context.Background(), []awsv1.AMISelectorTerm{{Alias: "al2023@latest"}})
	if err != nil {
		t.Fatal(err)
	}
	types, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]map[string]string{}
	for _, it := range catalog.InstanceTypes(types, []string{"us-east-1a"}) {
		labels[it.Name] = it.Labels
	}
	for typ, want := range map[string]string{"m6a.large": "ami-0a1b2c3d4e5f60001", "m7g.large": "ami-0a1b2c3d4e5f60002", "g5.xlarge": "ami-0a1b2c3d4e5f60003"} {
		var suits []string
		for _, a := range amis {
			if amiSuits(a, labels[typ]) {
				suits = append(suits, a.ID)
			}
		}
		if !slices.Equal(suits, []string{want}) {
			t.Errorf("%s suits %v, want only %s", typ, suits, want)
		}
	}
}

func TestInstanceProfilesFollowTheClassesRole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := iamsim.New(iamsim.Options{Roles: []string{"NodeRole", "OtherRole"}})
	if err != nil {
		t.Fatal(err)
	}
	url, err := sim.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), HTTPClient: iamsim.HTTPClient(),
		Credentials: credentials.NewStaticCredentialsProvider("lab", "lab", "")})
	p := InstanceProfiles{API: api, ClusterName: "lab", Region: "us-east-1"}
	class := &awsv1.EC2NodeClass{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: awsv1.EC2NodeClassSpec{Role: "arn:aws:iam::111122223333:role/NodeRole"}}

	name, err := p.Ensure(ctx, class)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := p.Ensure(ctx, class); err != nil || again != name {
		t.Fatalf("second Ensure: %q, %v; want %q again", again, err, name)
	}
	got, ok := sim.InstanceProfile(name)
	if !ok || !slices.Equal(got.Roles, []string{"NodeRole"}) || got.Tags["kubernetes.io/cluster/lab"] != "owned" || got.Tags[TagNodeClass] != "default" {
		t.Fatalf("profile %+v: want the class's role and the ownership tags", got)
	}

	class.Spec.Role = "OtherRole"
	if _, err := p.Ensure(ctx, class); err != nil {
		t.Fatal(err)
	}
	if got, _ := sim.InstanceProfile(name); !slices.Equal(got.Roles, []string{"OtherRole"}) {
		t.Errorf("roles %v after the class's role changed, want [OtherRole]", got.Roles)
	}

	class.Spec.Role = "NoSuchRole"
	if _, err := p.Ensure(ctx, class); iamCode(err) != "NoSuchEntity" {
		t.Errorf("a role IAM does not know: error %v, want NoSuchEntity", err)
	}

	if err := p.Delete(ctx, class); err != nil {
		t.Fatal(err)
	}
	if _, ok := sim.InstanceProfile(name); ok {
		t.Error("the profile outlived its class")
	}

	given := &awsv1.EC2NodeClass{ObjectMeta: metav1.ObjectMeta{Name: "byo"}, Spec: awsv1.EC2NodeClassSpec{InstanceProfile: aws.String("missing")}}
	if _, err := p.Ensure(ctx, given); iamCode(err) != "NoSuchEntity" {
		t.Errorf("a given profile that does not exist: error %v, want NoSuchEntity", err)
	}
}
