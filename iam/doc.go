// Package iam makes the controller policy users install (controller-policy.json, beside it)
// available to Go code, so that the lab enforces the very document this folder ships.
package iam
