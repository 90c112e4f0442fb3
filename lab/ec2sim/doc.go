// Package ec2sim is an in-process EC2 Query-API server that the real aws-sdk-go-v2 EC2 client can
// talk to, simulating instant fleets, instance boot and termination over the instance-type catalog.
//
// It is hand-written because no maintained library simulates what the lab needs: client-token
// semantics, injected faults and spot interruptions, and EC2's refusals with EC2's error codes.
//
// Actions, and what each refuses as EC2 does:
//
//   - CreateLaunchTemplate stores version 1 of a template: its tags, and LaunchTemplateData's
//     ImageId, InstanceType, UserData, SecurityGroupId.N, IamInstanceProfile, MetadataOptions,
//     BlockDeviceMapping.N, Monitoring, NetworkInterface.N and TagSpecification.N. Refuses a missing
//     name (MissingParameter), a name outside [a-zA-Z0-9().-/_]{3,128}
//     (InvalidLaunchTemplateName.MalformedException), a name in use
//     (InvalidLaunchTemplateName.AlreadyExistsException), user data that is not base64
//     (InvalidUserData.Malformed) or over 16384 bytes decoded (InvalidParameterValue), a security
//     group the VPC lacks (InvalidGroup.NotFound), a hop limit outside 1..64 or HttpTokens other
//     than required/optional (InvalidParameterValue), and a tag spec for a resource type the call
//     cannot tag (InvalidParameterValue). A reused ClientToken replays, or with other parameters
//     is an IdempotentParameterMismatch.
//   - DescribeLaunchTemplates (ids, names, filters launch-template-name, create-time, tag:<key>,
//     tag-key, tag-value; MaxResults 1..200) and DeleteLaunchTemplate (by id or name). An unknown
//     name is InvalidLaunchTemplateName.NotFoundException, an unknown id
//     InvalidLaunchTemplateId.NotFound; filters that match nothing answer an empty set.
//   - CreateFleet (instant only) resolves each config's template by id or name at $Latest,
//     $Default or 1 (other versions: InvalidLaunchTemplateId.VersionNotFound). An override's
//     InstanceType and ImageId win over the template's; with neither it is a MissingParameter.
//     Instances keep the image, decoded user data, groups, instance profile, template and
//     metadata options; the template's instance tags lie under the fleet's. With an image
//     registry (Options.Images), an unknown image fails the call (InvalidAMIID.NotFound) and an
//     image whose architecture differs from the instance type's fails only that override, in
//     errorSet, as capacity shortfalls do; so does an override whose zone or subnet does not
//     offer its type (Unsupported, in EC2's words), while one naming neither launches only in
//     zones that do. A template without an instance profile still launches.
//   - DescribeImages answers from the registry (ImageId.N, Owner.N, filters name, image-id,
//     architecture, owner-id, owner-alias, state, tag:<key>, tag-key, tag-value); an unknown
//     ImageId.N is InvalidAMIID.NotFound.
//   - DescribeInstanceTypeOfferings answers from the market (Options.Market; without one every
//     type is in every zone) by LocationType region (the default), availability-zone or
//     availability-zone-id (the subnets' AZ ids), with filters instance-type and location and
//     MaxResults 5..1000 (1000 when absent); an unknown LocationType is InvalidParameterValue.
//   - DescribeSpotPriceHistory answers the market's spot prices (without a market, the catalog's
//     modelled price since the Sim's start) by InstanceType.N, AvailabilityZone,
//     ProductDescription.N (only Linux/UNIX and Linux/UNIX (Amazon VPC) are priced; Linux/UNIX
//     when none is given), filters availability-zone, instance-type and product-description,
//     from StartTime to EndTime (EndTime defaults to now, StartTime to EndTime), newest
//     first, 1000 to a page at most (a larger MaxResults is taken, as EC2 takes it); an end
//     before the start or a MaxResults under 1 is InvalidParameterValue.
//   - DescribeInstances, TerminateInstances, DescribeInstanceTypes, DescribeSubnets and
//     DescribeSecurityGroups, with EC2's filters, paging and not-found codes.
//
// Faults: InjectError fails the next calls of one action with a chosen code; SetChaos injects
// random ones, repeatable from a seed (chaos.go): throttling on a fraction of each action's
// calls, InsufficientInstanceCapacity on a fixed fraction of (instance type, zone) offerings,
// and lost responses of mutating calls, whose effect stays while the client sees the connection
// close and retries (CreateFleet's client token then answers with the instances it launched).
//
// With an IAM policy (Options.Policy), every request is first authorised as EC2 authorises it,
// action by action and resource by resource with the condition keys EC2 supplies
// (authorize_requests.go lists them); one the policy denies answers UnauthorizedOperation, HTTP
// 403, worded as EC2 words it, and changes nothing. Calls on the Sim's Go API are not requests
// and are never authorised.
//
// Glossary: a record is the simulator's view of an instance, and Instance the snapshot it hands
// out; the registry is the list of images the region knows; an access is one authorisation a
// request needs (an action on one resource, with its condition keys).
package ec2sim
