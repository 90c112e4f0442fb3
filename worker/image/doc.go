// Package image checks the container image's build (the Dockerfile and `make static` at the
// repository root): the binaries are static and reproducible, and the image runs them as a
// non-root user on a base without a shell. It holds tests only.
package image
