// Package loader is the one way Nodewright reads NodePools and EC2NodeClasses, whether they
// come from a file (--nodepools, starter convert) or from the API server (the worker's
// informers). Every object goes through the same steps the API server takes for a custom
// resource, using the CRDs in crds/:
//
//  1. unknown fields are refused, as kubectl's strict field validation does;
//  2. the schema's defaults are applied for the object's apiVersion;
//  3. the OpenAPI schema and its CEL rules are checked, with the API server's messages;
//  4. a v1beta1 object is converted to v1 (package conversion) and given v1's defaults;
//  5. the rules no schema can state are checked (Validate in apis/v1 and apis/aws/v1).
//
// So a file the loader accepts is one `kubectl apply` accepts, and the error names the same
// field.
package loader
