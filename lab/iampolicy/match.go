package iampolicy

import "strings"

// matchGlob reports whether s matches pattern, in which * stands for any run of characters
// (none included) and ? for exactly one. IAM has no escape for either.
func matchGlob(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	pi, vi := 0, 0
	star, resume := -1, 0 // the last * seen, and where in v its run would next end
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, resume = pi, vi
			pi++
		case star >= 0:
			// Let the last * swallow one more character and try again from there.
			resume++
			pi, vi = star+1, resume
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchAction matches an action pattern such as ec2:Describe*; IAM ignores the case of both.
func matchAction(pattern, action string) bool {
	return matchGlob(strings.ToLower(pattern), strings.ToLower(action))
}

// matchResource matches a Resource element: "*" matches everything, the "*" of actions that
// name no resource included; an ARN pattern matches colon by colon (matchARN).
func matchResource(pattern, resource string) bool {
	return pattern == "*" || matchARN(pattern, resource)
}

// matchARN compares the six colon-separated parts of two ARNs each with wildcards, as IAM
// matches Resource elements and ArnLike: a wildcard never spans the colons between the
// partition, service, region, account and resource, though the resource part may hold colons.
func matchARN(pattern, arn string) bool {
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !matchGlob(pp[i], ap[i]) {
			return false
		}
	}
	return true
}
