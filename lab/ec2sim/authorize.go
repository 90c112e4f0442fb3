package ec2sim

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/nodewright/nodewright/lab/iampolicy"
)

// caller is who sent a request, as its SigV4 Authorization header names them: the access key
// and the region the request was signed for. The simulator checks no signature.
type caller struct {
	accessKey string
	region    string // aws:RequestedRegion
}

// callerOf reads the credential scope of the Authorization header
// ("AWS4-HMAC-SHA256 Credential=AKID/20260304/us-east-1/ec2/aws4_request, ...");
// an unsigned request is anonymous and asks for the simulator's own region.
func callerOf(r *http.Request, region string) caller {
	c := caller{accessKey: "anonymous", region: region}
	_, credential, found := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !found {
		return c
	}
	credential, _, _ = strings.Cut(credential, ",")
	scope := strings.Split(strings.TrimSpace(credential), "/")
	if len(scope) >= 3 && scope[0] != "" && scope[2] != "" {
		c.accessKey, c.region = scope[0], scope[2]
	}
	return c
}

// principal is the ARN a denial names the caller by. The simulator knows only the access key,
// so it names a user of that name in the region's account.
func (c caller) principal() string { return "arn:aws:iam::" + AccountID + ":user/" + c.accessKey }

// access is one authorisation EC2 makes for a request: an action on one resource, with the
// condition keys EC2 supplies for that resource. aws:RequestedRegion is added by authorize.
type access struct {
	action   string // service:action, such as ec2:TerminateInstances
	resource string // an ARN, or "*" for actions that name no resource
	context  map[string][]string
}

// authorize asks the policy about each access in turn and refuses the request at the first
// one it denies, with the message EC2 gives. With no policy every request is allowed.
func (s *Sim) authorize(c caller, accesses ...access) *apiError {
	if s.policy == nil {
		return nil
	}
	for _, a := range accesses {
		context := maps.Clone(a.context)
		if context == nil {
			context = map[string][]string{}
		}
		context["aws:RequestedRegion"] = []string{c.region}
		d := s.policy.Evaluate(iampolicy.Request{Action: a.action, Resource: a.resource, Context: context})
		if !d.Allowed {
			return unauthorized(c, a, d)
		}
	}
	return nil
}

// unauthorized words a denial as EC2 does, then adds what EC2 would encode (its "Encoded
// authorization failure message") in plain words: the statement or condition that decided.
func unauthorized(c caller, a access, d iampolicy.Decision) *apiError {
	why := "because no identity-based policy allows the " + a.action + " action"
	if d.ExplicitDeny {
		why = "with an explicit deny in an identity-based policy"
	}
	return newAPIError(CodeUnauthorizedOperation,
		"You are not authorized to perform this operation. User: %s is not authorized to perform: %s on resource: %s %s. Decoded authorization failure message (ec2sim): %s",
		c.principal(), a.action, a.resource, why, d.Reason())
}

// arn names one of the region's resources of a kind (instance, launch-template, ...); id "*"
// stands for resources a request is about to create, as EC2 names them when it authorises.
func (s *Sim) arn(kind, id string) string {
	return "arn:aws:ec2:" + s.region() + ":" + AccountID + ":" + kind + "/" + id
}

// imageARN names an image. Images belong to no account in an ARN, whoever published them.
func (s *Sim) imageARN(id string) string { return "arn:aws:ec2:" + s.region() + "::image/" + id }

// requestTags are the condition keys for tags a request asks a resource to be created with:
// aws:RequestTag/<key> for each, and aws:TagKeys listing the keys. None when it asks for none.
func requestTags(tags map[string]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range tags {
		out["aws:RequestTag/"+k] = []string{v}
	}
	if len(tags) > 0 {
		out["aws:TagKeys"] = slices.Sorted(maps.Keys(tags))
	}
	return out
}

// resourceTags are the condition keys for the tags an existing resource carries.
func resourceTags(tags map[string]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range tags {
		out["aws:ResourceTag/"+k] = []string{v}
	}
	return out
}

// withKey adds one condition key to a context, returning it.
func withKey(context map[string][]string, key string, values ...string) map[string][]string {
	context[key] = values
	return context
}
