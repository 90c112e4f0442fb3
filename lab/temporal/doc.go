// Package temporal runs an in-process Temporal server (SQLite persistence) with its Web UI, so the lab
// can drive real node workflows without installing or downloading anything. Its frontend can
// serve TLS or mutual TLS from a throwaway CA (Options.TLS, NewTLS).
package temporal
