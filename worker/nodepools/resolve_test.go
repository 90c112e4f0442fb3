package nodepools

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/events"

	"github.com/nodewright/nodewright/activities"
	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
)

// fakeNetwork is a VPC whose subnets and groups the test changes as it goes; err fails every
// lookup.
type fakeNetwork struct {
	mu      sync.Mutex
	subnets []activities.Subnet
	groups  []activities.SecurityGroup
	err     error
}

func (f *fakeNetwork) Subnets(_ context.Context, terms []awsv1.SubnetSelectorTerm) ([]activities.Subnet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.subnets), f.err
}

func (f *fakeNetwork) SecurityGroups(_ context.Context, terms []awsv1.SecurityGroupSelectorTerm) ([]activities.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.groups), f.err
}

func (f *fakeNetwork) set(subnets []activities.Subnet, groups []activities.SecurityGroup, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subnets, f.groups, f.err = subnets, groups, err
}

func classStatus(t *testing.T, dyn *dynamicfake.FakeDynamicClient) awsv1.EC2NodeClassStatus {
	t.Helper()
	u, err := dyn.Resource(awsv1.EC2NodeClassResource).Get(context.Background(), "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var c awsv1.EC2NodeClass
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &c); err != nil {
		t.Fatal(err)
	}
	return c.Status
}

func classCond(s awsv1.EC2NodeClassStatus, typ string) metav1.Condition {
	return conditionIn(s.Conditions, typ)
}

// touch edits the class, as kubectl apply would, so the controller looks at it again.
func touch(t *testing.T, dyn *dynamicfake.FakeDynamicClient) {
	t.Helper()
	api := dyn.Resource(awsv1.EC2NodeClassResource)
	u, err := api.Get(context.Background(), "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.SetAnnotations(map[string]string{"touched": "yes"})
	if _, err := api.Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

var (
	labSubnets = []activities.Subnet{{ID: "subnet-a", Zone: "us-east-1a", ZoneID: "use1-az1", AvailableIPs: 10}}
	labGroups  = []activities.SecurityGroup{{ID: "sg-1", Name: "nodes"}}
)

// A class whose selectors match nothing is not Ready, says which selector and how to fix it,
// and keeps its pools from being offered; once the subnets are there, the pools are offered
// without a restart.
func TestClassesResolveTheirNetworkAndGateTheirPools(t *testing.T) {
	network := &fakeNetwork{groups: labGroups}
	c, dyn, rec := runWith(t, network, object(t, class), object(t, pool("p", "")))

	eventually(t, "the class to say its subnets are missing", func() bool {
		return classCond(classStatus(t, dyn), awsv1.ConditionSubnetsReady).Reason == "SubnetsNotFound"
	})
	st := classStatus(t, dyn)
	if ready := classCond(st, awsv1.ConditionReady); ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, "spec.subnetSelectorTerms") {
		t.Errorf("class Ready %+v, want False naming spec.subnetSelectorTerms", ready)
	}
	if g := classCond(st, awsv1.ConditionSecurityGroupsReady); g.Status != metav1.ConditionTrue || len(st.SecurityGroups) != 1 {
		t.Errorf("security groups %+v, condition %+v; want the one found, True", st.SecurityGroups, g)
	}
	eventually(t, "the pool to wait for its class", func() bool {
		return cond(status(t, dyn, "p"), "NodeClassReady").Reason == "NodeClassNotReady"
	})
	if len(c.NodePools()) != 0 {
		t.Errorf("pools offered %v while their class is not ready", c.NodePools())
	}
	if !drained(rec, "NodeClassNotReady") {
		t.Error("no NodeClassNotReady event on the class")
	}

	network.set(labSubnets, labGroups, nil)
	touch(t, dyn)
	eventually(t, "the pool to be offered", func() bool { return len(c.NodePools()) == 1 })
	st = classStatus(t, dyn)
	if want := []awsv1.Subnet{{ID: "subnet-a", Zone: "us-east-1a", ZoneID: "use1-az1"}}; !slices.Equal(st.Subnets, want) ||
		classCond(st, awsv1.ConditionReady).Status != metav1.ConditionTrue {
		t.Errorf("class status subnets %+v, Ready %+v; want %+v and True", st.Subnets, classCond(st, awsv1.ConditionReady), want)
	}
}

// An EC2 failure is shown on the class and keeps what was resolved before.
func TestAFailedLookupIsShownAndKeepsTheLastAnswer(t *testing.T) {
	network := &fakeNetwork{subnets: labSubnets, groups: labGroups}
	_, dyn, _ := runWith(t, network, object(t, class))
	eventually(t, "the class to resolve", func() bool { return len(classStatus(t, dyn).Subnets) == 1 })

	network.set(nil, nil, errors.New("UnauthorizedOperation: not allowed to DescribeSubnets"))
	touch(t, dyn)
	eventually(t, "the failure to show", func() bool {
		return classCond(classStatus(t, dyn), awsv1.ConditionSubnetsReady).Reason == "SubnetsNotResolved"
	})
	st := classStatus(t, dyn)
	if msg := classCond(st, awsv1.ConditionSubnetsReady).Message; !strings.Contains(msg, "UnauthorizedOperation") {
		t.Errorf("SubnetsReady message %q, want EC2's refusal", msg)
	}
	if len(st.Subnets) != 1 || len(st.SecurityGroups) != 1 {
		t.Errorf("status %+v lost what it resolved before", st)
	}
}

// drained reads the recorder's events so far and says whether one has the reason.
func drained(rec *events.FakeRecorder, reason string) bool {
	found := false
	for {
		select {
		case e := <-rec.Events:
			found = found || strings.Contains(e, reason)
		default:
			return found
		}
	}
}
