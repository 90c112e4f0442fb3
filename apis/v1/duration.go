package v1

import (
	"fmt"
	"strings"
	"time"
)

// NillableDuration is a duration that may also be "Never". Set is false when the field was
// absent, so a default can tell "unset" from "0s".
//
// The CRD schema only lets through whole seconds, minutes and hours ("90s", "1h30m") or
// "Never", as Karpenter's does; decoding accepts any Go duration so that a value read back
// from Marshal ("1h30m0s") round-trips.
type NillableDuration struct {
	Duration time.Duration
	Never    bool
	Set      bool
	// raw is the text the duration was read from, written back unchanged so that "10h" stays
	// "10h" through a conversion rather than becoming "10h0m0s".
	raw string
}

// Never is the NillableDuration "Never".
var Never = NillableDuration{Never: true, Set: true}

// DurationOf is the NillableDuration holding d.
func DurationOf(d time.Duration) NillableDuration { return NillableDuration{Duration: d, Set: true} }

func (d *NillableDuration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*d = NillableDuration{}
		return nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return fmt.Errorf("duration must be a string such as \"720h\" or \"Never\", got %s", s)
	}
	s = s[1 : len(s)-1]
	if s == "Never" {
		*d = Never
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: use hours, minutes and seconds such as \"720h\" or \"90s\", or \"Never\": %w", s, err)
	}
	if v < 0 {
		return fmt.Errorf("duration %q must not be negative", s)
	}
	*d = DurationOf(v)
	d.raw = s
	return nil
}

func (d NillableDuration) MarshalJSON() ([]byte, error) {
	switch {
	case !d.Set:
		return []byte("null"), nil
	case d.Never:
		return []byte(`"Never"`), nil
	case d.raw != "":
		return fmt.Appendf(nil, "%q", d.raw), nil
	default:
		return fmt.Appendf(nil, "%q", d.Duration.String()), nil
	}
}

// String is the duration as it would be written.
func (d NillableDuration) String() string {
	b, _ := d.MarshalJSON()
	return strings.Trim(string(b), `"`)
}

// Equal compares durations by value, not by how they were written.
func (d NillableDuration) Equal(o NillableDuration) bool {
	return d.Set == o.Set && d.Never == o.Never && d.Duration == o.Duration
}

// IsZero lets `omitempty`-style encoders (and omitzero) leave an unset duration out.
func (d NillableDuration) IsZero() bool { return !d.Set }
