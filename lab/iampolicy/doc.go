// Package iampolicy decides, as IAM would, whether an identity-based policy lets a caller make
// one request. The lab's simulators use it to refuse what AWS would refuse, and the policy
// tests use it to check iam/controller-policy.json against the calls Nodewright makes.
//
// It is hand-written because no maintained Go library evaluates IAM policies: the libraries
// that exist parse them. It models what the shipped policy uses and refuses the rest when the
// policy is parsed, so that nothing it does not understand is ever taken as allowing:
//
//  1. Substitute fills CloudFormation's Fn::Sub placeholders (${ClusterName}, ${AWS::Region},
//     ...) as the stack would; ${!Name} stands for the literal ${Name}.
//  2. Parse reads the JSON: Statement as one object or a list; Action or NotAction, Resource
//     or NotResource, each a string or a list; Effect Allow or Deny; Condition with the
//     operators StringEquals, StringNotEquals, StringEqualsIgnoreCase,
//     StringNotEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals, ArnNotEquals, ArnLike,
//     ArnNotLike and Null, each but Null also with the IfExists suffix or a ForAllValues: or
//     ForAnyValue: prefix. Any other operator (Bool, Numeric*, Date*, IpAddress, ...), a
//     Principal, and a policy variable such as ${aws:username} are errors (IsUnsupported).
//  3. Evaluate matches a Request against every statement: an explicit Deny wins, else any
//     Allow allows, else the request is implicitly denied.
//
// Glossary:
//   - request: an action ("ec2:TerminateInstances") on one resource (an ARN, or "*" for
//     actions that name none) with its request context.
//   - request context: the condition keys the service supplies with the request, each with
//     one or more values (aws:RequestTag/<key>, aws:ResourceTag/<key>, aws:TagKeys,
//     ec2:CreateAction, aws:RequestedRegion, ...). A key absent from it is "not present",
//     which is what Null and the IfExists suffix test.
//   - statement applies: its action, resource and every condition match the request.
//   - implicit deny: no statement allows the request; explicit deny: a Deny statement applies.
//
// As in IAM, actions and condition key names match without regard to case; resources and
// condition values (but for StringEqualsIgnoreCase) match exactly, with * standing for any run
// of characters and ? for one in actions, resources and the Like operators.
package iampolicy
