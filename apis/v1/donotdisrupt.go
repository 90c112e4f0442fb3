package v1

import (
	"strconv"
	"time"
)

// DoNotDisrupt reads a karpenter.sh/do-not-disrupt value as the disruption engine honours
// it: "true" (any strconv.ParseBool true) protects for good and a false value not at all; a
// duration protects that long after the pod starts; anything else protects for good, as the
// annotation clearly meant to protect.
func DoNotDisrupt(value string) (forever bool, d time.Duration) {
	if b, err := strconv.ParseBool(value); err == nil {
		return b, 0
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return true, 0
	}
	return false, d
}
