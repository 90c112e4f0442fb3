// Package kubelet stands in for the kubelets of the lab's simulated EC2 instances: when an
// instance boots it registers the Node as a kubelet would, keeps it Ready, runs the pods bound
// to it (marks them Running, finishes their deletion), and when the instance is terminated it
// lets the Node go NotReady and its pods disappear, as a real cluster would.
package kubelet
