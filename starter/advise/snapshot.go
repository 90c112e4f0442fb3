package advise

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	awsv1 "github.com/nodewright/nodewright/apis/aws/v1"
	apisv1 "github.com/nodewright/nodewright/apis/v1"
	"github.com/nodewright/nodewright/apis/v1alpha1"
	"github.com/nodewright/nodewright/schedulerengine"
)

// Snapshot is what the rules read: a cluster's (or a set of files') NodePools in their v1
// form, EC2NodeClasses, nodes and workloads. starter plan reads its files into one too.
type Snapshot struct {
	NodePools            []apisv1.NodePool
	NodeClasses          []awsv1.EC2NodeClass
	Nodes                []corev1.Node
	Pods                 []corev1.Pod
	Deployments          []appsv1.Deployment
	StatefulSets         []appsv1.StatefulSet
	PodDisruptionBudgets []policyv1.PodDisruptionBudget
	// ReplicaSets, Jobs and DaemonSets are read from files only, for the dry run (starter
	// plan); the rules do not judge them.
	ReplicaSets []appsv1.ReplicaSet
	Jobs        []batchv1.Job
	DaemonSets  []appsv1.DaemonSet
	// ClusterPolicies hold the cluster-wide limits a dry run plans within (from files, or
	// ClusterPoliciesFromCluster). The rules do not judge them.
	ClusterPolicies []v1alpha1.ClusterPolicy
}

// Config is what the rules judge by besides the snapshot.
type Config struct {
	// InstanceTypes are the types pools are evaluated against (the embedded catalog), with
	// offerings in the zones the cluster uses.
	InstanceTypes []schedulerengine.InstanceType
	// WorkerName is the app.kubernetes.io/name label of the worker's Deployment and pods,
	// "nodewright" (the chart's name) when empty.
	WorkerName string
	// SkipNamespaces are namespaces whose workloads are not checked (the worker's placement
	// still is), for system add-ons the user does not own.
	SkipNamespaces []string
}

// Labels and thresholds the rules use.
const (
	// LabelAppName is the label the chart puts on the worker's Deployment and pods.
	LabelAppName = "app.kubernetes.io/name"
	// DefaultWorkerName is the chart's name, the worker's LabelAppName.
	DefaultWorkerName = "nodewright"
	// MinSpotInstanceTypes is how many instance types a spot pool should allow: Karpenter
	// replaces a spot node by a cheaper spot one only with at least this many to choose from,
	// and EC2 finds spot capacity more often with more pools.
	MinSpotInstanceTypes = 15
)

func (c Config) workerName() string {
	if c.WorkerName == "" {
		return DefaultWorkerName
	}
	return c.WorkerName
}
