// Package catalog is the embedded us-east-1 EC2 instance-type catalog: specs, on-demand
// prices, spot savings and Karpenter's allocatable figures. The lab's EC2 simulator serves
// it and the worker prices offerings from it, as Karpenter does with its generated tables.
package catalog
