// Package catalog is the embedded EC2 instance-type catalog: specs, us-east-1 on-demand
// prices, spot savings and Karpenter's allocatable figures, with on-demand prices of five
// more regions. The lab's simulators serve it; the worker labels and sizes types from it and,
// when it cannot reach AWS's own figures, prices offerings from it (the Fallback market), as
// Karpenter falls back on its generated tables.
//
// A Market says which zones sell a type and at what price; InstanceTypesIn turns records and
// a market into the scheduler's instance types with their offerings.
//
// NodeResources sizes a node of a type as its kubelet will report it under an EC2NodeClass's
// kubelet settings, root volume and AMI family, by Karpenter's formulas; with the defaults it
// gives the karpenterAllocatable figures of the records, which InstanceTypesIn uses.
package catalog
