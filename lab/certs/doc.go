// Package certs makes the lab's throwaway certificate authorities and the ECDSA P-256
// certificates they sign, for the lab's TLS endpoints (the kube-apiserver, the Temporal
// frontend). Everything is generated fresh per start: the lab is disposable.
package certs
