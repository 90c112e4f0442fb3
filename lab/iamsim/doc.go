// Package iamsim is an in-process IAM endpoint speaking the AWS Query protocol (form-encoded
// requests, XML responses) that the real aws-sdk-go-v2 IAM client uses. It holds roles and
// instance profiles, which is what a node provisioner touches: CreateRole and GetRole to seed and
// look up a node role; CreateInstanceProfile, GetInstanceProfile, DeleteInstanceProfile,
// AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile, TagInstanceProfile,
// UntagInstanceProfile, ListInstanceProfileTags and ListInstanceProfiles to manage profiles.
//
// It refuses what IAM refuses, in IAM's error envelope and status codes, so the SDK surfaces the
// same codes: NoSuchEntity (404), EntityAlreadyExists, DeleteConflict and LimitExceeded (409),
// ValidationError, InvalidInput and MalformedPolicyDocument (400). Names are unique and found
// regardless of case, as in IAM. Policies, users, groups and permissions are not simulated: every
// caller may do everything.
//
// It is hand-written because no maintained library serves IAM to the Go SDK in-process.
package iamsim
