package iam

import _ "embed"

// controllerPolicy is the file's text, embedded at build time. go:embed needs a package
// variable; it is read only through ControllerPolicy, and a string cannot be changed.
//
//go:embed controller-policy.json
var controllerPolicy string

// ControllerPolicy is controller-policy.json as shipped, its CloudFormation placeholders
// (${ClusterName}, ${AWS::Region}, ...) not yet filled in.
func ControllerPolicy() string { return controllerPolicy }
