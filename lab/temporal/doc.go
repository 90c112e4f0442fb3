// Package temporal runs an in-process Temporal server (SQLite persistence) with its Web UI, so the lab
// can drive real node workflows without installing or downloading anything.
package temporal
