package interruption

import (
	"errors"
	"fmt"
)

// MalformedError is a message that is not an EventBridge event this package can read: bad JSON,
// or an event missing what its kind needs. Such messages can only be logged and deleted.
type MalformedError struct {
	Reason string
	Err    error // the JSON error, if that was the cause
}

func (e *MalformedError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("malformed interruption message: %s: %v", e.Reason, e.Err)
	}
	return "malformed interruption message: " + e.Reason
}

func (e *MalformedError) Unwrap() error { return e.Err }

// UnsupportedError is a well-formed event of a source and detail-type this package does not
// handle, for example a capacity reservation interruption.
type UnsupportedError struct {
	Source, DetailType string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("unsupported interruption message: source %q, detail-type %q", e.Source, e.DetailType)
}

// IsMalformed reports whether err, or an error it wraps, is a *MalformedError.
func IsMalformed(err error) bool {
	var malformed *MalformedError
	return errors.As(err, &malformed)
}

// IsUnsupported reports whether err, or an error it wraps, is an *UnsupportedError.
func IsUnsupported(err error) bool {
	var unsupported *UnsupportedError
	return errors.As(err, &unsupported)
}

func malformed(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}
