package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/nodewright/nodewright/activities"
	"github.com/nodewright/nodewright/activities/bootstrap"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	"github.com/nodewright/nodewright/schedulerengine/catalog"
)

// The kubelet sizes its node from what the user data sets, nothing else: the numbers are
// catalog.NodeResources's, tested there.
func TestKubeletSettingsComeFromUserData(t *testing.T) {
	al2023 := awsv1.AMIFamilyAL2023
	tests := []struct {
		name string
		cfg  bootConfig
		want catalog.KubeletSettings
	}{
		{name: "no settings: the AMI's defaults", cfg: boot(), want: catalog.KubeletSettings{AMIFamily: al2023}},
		{name: "Bottlerocket settings size a Bottlerocket node", cfg: boot(withFormat(formatBottlerocket)),
			want: catalog.KubeletSettings{AMIFamily: awsv1.AMIFamilyBottlerocket}},
		{name: "maxPods and podsPerCore", cfg: boot(withMaxPods(110), withPodsPerCore(5)),
			want: catalog.KubeletSettings{AMIFamily: al2023, MaxPods: ptr.To[int32](110), PodsPerCore: ptr.To[int32](5)}},
		{name: "reservations and eviction thresholds as written", cfg: boot(withSystemReserved("cpu", "100m", "ephemeral-storage", "1Gi"),
			withKubeReserved("memory", "1Gi"), withEvictionHard("nodefs.available", "15%")),
			want: catalog.KubeletSettings{AMIFamily: al2023, SystemReserved: map[string]string{"cpu": "100m", "ephemeral-storage": "1Gi"},
				KubeReserved: map[string]string{"memory": "1Gi"}, EvictionHard: map[string]string{"nodefs.available": "15%"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kubeletSettings(tt.cfg); !equality.Semantic.DeepEqual(got, tt.want) {
				t.Errorf("kubelet settings %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A node registers its memory as EC2 leaves it to the OS, not the type's nominal memory.
func TestResourcesLeaveOutTheVMOverhead(t *testing.T) {
	capacity, allocatable, err := resources(catalogType(t, "m5.large"), Machine{}, boot())
	if err != nil {
		t.Fatalf("resources: %v", err)
	}
	// 8192 MiB less 7.5% is 7577Mi; less 574Mi kube-reserved and 100Mi eviction, Karpenter's 6903Mi.
	if got := capacity[corev1.ResourceMemory]; got.Cmp(resource.MustParse("7577Mi")) != 0 {
		t.Errorf("capacity memory %s, want 7577Mi", got.String())
	}
	if got := allocatable[corev1.ResourceMemory]; got.Cmp(resource.MustParse("6903Mi")) != 0 {
		t.Errorf("allocatable memory %s, want 6903Mi", got.String())
	}
}

func catalogType(t *testing.T, name string) catalog.Type {
	t.Helper()
	types, err := catalog.Load()
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	it, ok := catalog.Index(types)[name]
	if !ok {
		t.Fatalf("instance type %s not in the catalog", name)
	}
	return it
}

// The Done-when, without the lab's control plane: a node booted from the user data
// Nodewright writes for a class registers the allocatable the planner plans for the class.
func TestANodeRegistersWhatThePlannerPlansForItsClass(t *testing.T) {
	cluster := bootstrap.Cluster{Name: "test-cluster", Endpoint: "https://test-cluster", CABundle: "Y2E=", ServiceCIDR: "10.100.0.0/16"}
	maxPods110 := &awsv1.KubeletConfiguration{MaxPods: ptr.To[int32](110)}
	// The volumes are those the class's launch template gives its instances: Nodewright's
	// default mappings when the class has none.
	al2023Default, bottlerocketDefault := volumes("/dev/xvda", "20Gi"), volumes("/dev/xvda", "4Gi", "/dev/xvdb", "20Gi")
	tests := []struct {
		name     string
		family   string
		kubelet  *awsv1.KubeletConfiguration
		mappings []*awsv1.BlockDeviceMapping
		volumes  map[string]resource.Quantity
	}{
		{name: "AL2023 with maxPods 110", family: bootstrap.FamilyAL2023, kubelet: maxPods110, volumes: al2023Default},
		{name: "Bottlerocket with maxPods 110", family: bootstrap.FamilyBottlerocket, kubelet: maxPods110, volumes: bottlerocketDefault},
		{name: "AL2023 with reservations and eviction thresholds", family: bootstrap.FamilyAL2023, kubelet: &awsv1.KubeletConfiguration{
			PodsPerCore: ptr.To[int32](8), KubeReserved: map[string]string{"cpu": "200m", "memory": "1Gi"},
			SystemReserved: map[string]string{"memory": "300Mi", "ephemeral-storage": "2Gi"},
			EvictionHard:   map[string]string{"memory.available": "5%", "nodefs.available": "15%"},
		}, volumes: al2023Default},
		{name: "Bottlerocket with the AMI's defaults", family: bootstrap.FamilyBottlerocket, volumes: bottlerocketDefault},
		{name: "AL2023 with maxPods 110 and a 100Gi root volume", family: bootstrap.FamilyAL2023, kubelet: maxPods110,
			mappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvda", "100Gi", true)}, volumes: volumes("/dev/xvda", "100Gi")},
		{name: "Bottlerocket with maxPods 110 and a 100Gi data volume", family: bootstrap.FamilyBottlerocket, kubelet: maxPods110,
			mappings: []*awsv1.BlockDeviceMapping{mapping("/dev/xvda", "4Gi", false), mapping("/dev/xvdb", "100Gi", true)},
			volumes:  volumes("/dev/xvda", "4Gi", "/dev/xvdb", "100Gi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class := &awsv1.EC2NodeClass{Spec: awsv1.EC2NodeClassSpec{AMIFamily: ptr.To(tt.family), Kubelet: tt.kubelet, BlockDeviceMappings: tt.mappings}}
			machine := Machine{RootDevice: "/dev/xvda", Volumes: tt.volumes}
			userData, err := bootstrap.UserData(tt.family, cluster, bootstrap.Node{Kubelet: tt.kubelet}, nil)
			if err != nil {
				t.Fatalf("user data: %v", err)
			}
			cfg, err := readUserData(userData)
			if err != nil {
				t.Fatalf("read user data: %v", err)
			}
			for _, typ := range []string{"m5.large", "c7g.2xlarge", "p5.48xlarge"} {
				it := catalogType(t, typ)
				capacity, allocatable, err := resources(it, machine, cfg)
				if err != nil {
					t.Fatalf("%s: %v", typ, err)
				}
				plannedCapacity, planned, err := catalog.NodeResources(it, activities.KubeletSettingsOf(class))
				if err != nil {
					t.Fatalf("%s: planned: %v", typ, err)
				}
				if !equality.Semantic.DeepEqual(allocatable, planned) {
					t.Errorf("%s registers allocatable %v, the planner plans %v", typ, allocatable, planned)
				}
				if !equality.Semantic.DeepEqual(capacity, plannedCapacity) {
					t.Errorf("%s registers capacity %v, the planner plans %v", typ, capacity, plannedCapacity)
				}
			}
		})
	}
}

// A node's ephemeral storage is the volume its kubelet's files live on, as launched: the root
// volume, or Bottlerocket's data volume; the AMIs' default 20Gi when the machine does not say.
func TestANodeReportsTheVolumeItsFilesLiveOn(t *testing.T) {
	tests := []struct {
		name     string
		cfg      bootConfig
		machine  Machine
		wantSize string
	}{
		{name: "AL2023 on a 100Gi root volume", cfg: boot(),
			machine: Machine{RootDevice: "/dev/xvda", Volumes: volumes("/dev/xvda", "100Gi")}, wantSize: "100Gi"},
		{name: "AL2023 ignores volumes other than its root", cfg: boot(),
			machine: Machine{RootDevice: "/dev/xvda", Volumes: volumes("/dev/xvda", "30Gi", "/dev/xvdc", "500Gi")}, wantSize: "30Gi"},
		{name: "Bottlerocket on a 100Gi data volume", cfg: boot(withFormat(formatBottlerocket)),
			machine: Machine{RootDevice: "/dev/xvda", Volumes: volumes("/dev/xvda", "4Gi", "/dev/xvdb", "100Gi")}, wantSize: "100Gi"},
		{name: "a machine that does not say has the default", cfg: boot(), machine: Machine{}, wantSize: "20Gi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.machine
			m.InstanceID, m.Type, m.Zone = "i-0123", "m5.large", "us-east-1a"
			node, err := newNode(m, catalogType(t, m.Type), tt.cfg)
			if err != nil {
				t.Fatalf("newNode: %v", err)
			}
			want := resource.MustParse(tt.wantSize)
			if got := node.Status.Capacity[corev1.ResourceEphemeralStorage]; got.Cmp(want) != 0 {
				t.Errorf("ephemeral-storage capacity %s, want %s", got.String(), tt.wantSize)
			}
			k := kubeletSettings(tt.cfg)
			k.RootVolume = &want
			_, planned, err := catalog.NodeResources(catalogType(t, m.Type), k)
			if err != nil {
				t.Fatalf("node resources: %v", err)
			}
			got, wantAllocatable := node.Status.Allocatable[corev1.ResourceEphemeralStorage], planned[corev1.ResourceEphemeralStorage]
			if got.Cmp(wantAllocatable) != 0 {
				t.Errorf("ephemeral-storage allocatable %s, want NodeResources' %s", got.String(), wantAllocatable.String())
			}
		})
	}
}

// volumes are a machine's volume sizes from device, size pairs.
func volumes(deviceSize ...string) map[string]resource.Quantity {
	out := map[string]resource.Quantity{}
	for i := 0; i+1 < len(deviceSize); i += 2 {
		out[deviceSize[i]] = resource.MustParse(deviceSize[i+1])
	}
	return out
}

// mapping is an EC2NodeClass block device mapping of a gp3 volume.
func mapping(device, size string, root bool) *awsv1.BlockDeviceMapping {
	return &awsv1.BlockDeviceMapping{DeviceName: ptr.To(device), RootVolume: root,
		EBS: &awsv1.BlockDevice{VolumeSize: ptr.To(resource.MustParse(size)), VolumeType: ptr.To("gp3")}}
}
