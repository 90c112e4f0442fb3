// Package kubelet stands in for the kubelets of the lab's simulated EC2 instances: when an
// instance boots it registers the Node as a kubelet would, keeps it Ready, runs the pods bound
// to it (marks them Running, finishes their deletion), and when the instance is terminated it
// lets the Node go NotReady and its pods disappear, as a real cluster would.
//
// A node learns everything about its cluster from its EC2 user data, so Boot does too:
//
//  1. readUserData reads it as the AMI's bootstrap agent would: Bottlerocket's TOML settings
//     (userdata_bottlerocket.go), or nodeadm's NodeConfig, bare or in MIME parts merged in
//     order (userdata_nodeadm.go), with the kubelet flags parsed by the kubelet's own flag
//     types (userdata_flags.go).
//  2. checkJoin (join.go) refuses what would keep the node out: missing cluster details,
//     labels or taints the kubelet rejects, another cluster's name, API server or CA.
//  3. newNode (node.go, resources.go) registers the Node with the user data's labels, taints,
//     max pods and reservations, sized by catalog.NodeResources as the planner sizes nodes:
//     memory less EC2's VM overhead, the AMI's kube-reserved and eviction thresholds.
//
// The reader is written from the formats' documentation, not from Nodewright's user-data
// generator, so that the lab is a second opinion on what the generator writes.
package kubelet
