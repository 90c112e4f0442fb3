package temporal

import (
	"context"
	"log/slog"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts the server's tag-based log.Logger to slog, dropping records below a level that Stop raises
// to Error (shutdown produces a burst of expected warnings).
type serverLogger struct {
	out      *slog.Logger
	minLevel *slog.LevelVar
}

var _ log.Logger = serverLogger{}

func newServerLogger(out *slog.Logger) serverLogger {
	minLevel := &slog.LevelVar{}
	minLevel.Set(slog.LevelWarn)
	return serverLogger{out: out, minLevel: minLevel}
}

func (l serverLogger) Debug(msg string, tags ...tag.Tag) { l.log(slog.LevelDebug, msg, tags) }
func (l serverLogger) Info(msg string, tags ...tag.Tag)  { l.log(slog.LevelInfo, msg, tags) }
func (l serverLogger) Warn(msg string, tags ...tag.Tag)  { l.log(slog.LevelWarn, msg, tags) }
func (l serverLogger) Error(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }

// DPanic, Panic and Fatal are logged as errors without panicking or exiting, like the Temporal CLI does: an
// embedded server must never take the host process down. Start checks ports first, which is where the
// server would otherwise call Fatal.
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }
func (l serverLogger) Panic(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags) }
func (l serverLogger) Fatal(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags) }

func (l serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if level < l.minLevel.Level() || !l.out.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
	}
	l.out.LogAttrs(ctx, level, msg, attrs...)
}

// quietForShutdown keeps only errors from here on.
func (l serverLogger) quietForShutdown() { l.minLevel.Set(slog.LevelError) }
