package nodepools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	corev1 "k8s.io/api/core/v1"
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
	n       int // subnet lookups so far
}

func (f *fakeNetwork) Subnets(_ context.Context, terms []awsv1.SubnetSelectorTerm) ([]activities.Subnet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return slices.Clone(f.subnets), f.err
}

func (f *fakeNetwork) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *fakeNetwork) SecurityGroups(_ context.Context, terms []awsv1.SecurityGroupSelectorTerm) ([]activities.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.groups), f.err
}

// AMIs finds one AMI for any terms, so that the tests are about the network.
func (f *fakeNetwork) AMIs(_ context.Context, terms []awsv1.AMISelectorTerm) ([]awsv1.AMI, error) {
	return []awsv1.AMI{{ID: "ami-0a1b2c3d4e5f60001", Name: "al2023", Requirements: []corev1.NodeSelectorRequirement{
		{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}},
	}}}, nil
}

func (f *fakeNetwork) InstanceProfile(_ context.Context, class *awsv1.EC2NodeClass) (string, error) {
	return "lab_" + class.Name, nil
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
	var readied atomic.Int32
	c, dyn, rec := runConfigured(t, func(c *Controller) {
		c.ResolveWith(network)
		c.OnPoolReady(func() { readied.Add(1) })
	}, object(t, class), object(t, pool("p", "")))

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

	if n := readied.Load(); n != 0 {
		t.Errorf("told %d times that a pool became ready while none is", n)
	}
	network.set(labSubnets, labGroups, nil)
	touch(t, dyn)
	eventually(t, "the pool to be offered", func() bool { return len(c.NodePools()) == 1 })
	eventually(t, "the pending pods to be told", func() bool { return readied.Load() == 1 })
	st = classStatus(t, dyn)
	if want := []awsv1.Subnet{{ID: "subnet-a", Zone: "us-east-1a", ZoneID: "use1-az1"}}; !slices.Equal(st.Subnets, want) ||
		classCond(st, awsv1.ConditionReady).Status != metav1.ConditionTrue {
		t.Errorf("class status subnets %+v, Ready %+v; want %+v and True", st.Subnets, classCond(st, awsv1.ConditionReady), want)
	}
}

// A lookup that fails for a while (throttled, EC2 unreachable) keeps the last answer and the
// class in service; one that needs someone to act (a permission missing) is shown, naming
// EC2's code, and holds the class's pools back.
func TestFailedLookups(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantStatus  metav1.ConditionStatus
		wantMessage string
		wantOffered bool
	}{
		{name: "throttled: the last answer stands", err: &requestError{code: "RequestLimitExceeded"},
			wantStatus: metav1.ConditionTrue, wantOffered: true},
		{name: "unreachable: the last answer stands", err: errors.New("dial tcp: connection refused"),
			wantStatus: metav1.ConditionTrue, wantOffered: true},
		{name: "a missing permission is shown", err: &requestError{code: "UnauthorizedOperation"},
			wantStatus: metav1.ConditionFalse, wantMessage: "UnauthorizedOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			network := &fakeNetwork{subnets: labSubnets, groups: labGroups}
			c, dyn, _ := runWith(t, network, object(t, class), object(t, pool("p", "")))
			eventually(t, "the pool to be offered", func() bool { return len(c.NodePools()) == 1 })

			network.set(nil, nil, tt.err)
			touch(t, dyn)
			eventually(t, "the failed lookup", func() bool { return network.calls() >= 2 })
			eventually(t, "the class's subnets condition", func() bool {
				return classCond(classStatus(t, dyn), awsv1.ConditionSubnetsReady).Status == tt.wantStatus
			})
			st := classStatus(t, dyn)
			if msg := classCond(st, awsv1.ConditionSubnetsReady).Message; !strings.Contains(msg, tt.wantMessage) {
				t.Errorf("SubnetsReady message %q, want it to say %q", msg, tt.wantMessage)
			}
			if len(st.Subnets) != 1 || len(st.SecurityGroups) != 1 {
				t.Errorf("status %+v lost what it resolved before", st)
			}
			eventually(t, "the pool to follow its class", func() bool { return (len(c.NodePools()) == 1) == tt.wantOffered })
		})
	}
}

// A failure whose text changes with every call (EC2's request id) must not make the status
// change with every call, which would look again at once, in a loop.
func TestAFailingLookupBacksOff(t *testing.T) {
	network := &fakeNetwork{subnets: labSubnets, groups: labGroups}
	_, dyn, _ := runWith(t, network, object(t, class))
	eventually(t, "the class to resolve", func() bool { return len(classStatus(t, dyn).Subnets) == 1 })
	network.set(nil, nil, &requestError{code: "UnauthorizedOperation", varying: true})
	touch(t, dyn)
	eventually(t, "the failure to show", func() bool {
		return classCond(classStatus(t, dyn), awsv1.ConditionSubnetsReady).Reason == "SubnetsNotResolved"
	})
	before := network.calls()
	time.Sleep(time.Second)
	if n := network.calls() - before; n > 10 {
		t.Errorf("%d lookups in a second while failing, want a few (backing off)", n)
	}
}

// requestError is an EC2 API error; varying gives it a new request id in its text each time.
type requestError struct {
	code    string
	varying bool
	n       int
}

func (e *requestError) Error() string {
	if e.varying {
		e.n++
	}
	return fmt.Sprintf("api error %s: denied, RequestID: %d", e.code, e.n)
}
func (e *requestError) ErrorCode() string             { return e.code }
func (e *requestError) ErrorMessage() string          { return "denied" }
func (e *requestError) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

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
