// Package activities holds the side effects of Nodewright's workflows: EC2 calls, Kubernetes
// calls and the planning step that runs the scheduler engine, each as a method on a struct
// that owns its client.
package activities
