// Package webhook serves the conversion webhook of Nodewright's CRDs: the API server sends it
// karpenter.sh/v1beta1 NodePools and karpenter.k8s.aws/v1beta1 EC2NodeClasses to store as v1,
// and v1 objects to show to v1beta1 clients (package apis/conversion does the work).
//
// At start the worker points the CRDs at itself: it fills in the CA bundle the API server must
// trust (its own self-signed certificate, or the ca.crt of --webhook-cert-dir) and, when told
// where it is reachable (--webhook-url), the URL in place of the Service reference the CRDs
// ship with.
package webhook
