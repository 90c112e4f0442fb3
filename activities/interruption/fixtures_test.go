package interruption_test

// Fixtures shaped like the examples in the AWS documentation ("Spot Instance interruption
// notices", "EC2 instance rebalance recommendations", "Amazon EC2 state change events", "AWS Health
// events in EventBridge"), with documentation placeholders replaced by real values.

const spotInterruptionFixture = `{
    "version": "0",
    "id": "12345678-1234-1234-1234-123456789012",
    "detail-type": "EC2 Spot Instance Interruption Warning",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2026-03-04T05:06:07Z",
    "region": "us-east-2",
    "resources": ["arn:aws:ec2:us-east-2a:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "instance-action": "terminate"
    }
}`

const rebalanceRecommendationFixture = `{
    "version": "0",
    "id": "12345678-1234-1234-1234-123456789012",
    "detail-type": "EC2 Instance Rebalance Recommendation",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2026-03-04T05:06:07Z",
    "region": "us-east-2",
    "resources": ["arn:aws:ec2:us-east-2:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0"
    }
}`

// stateChangeFixture is completed with fmt.Sprintf and the state.
const stateChangeFixture = `{
   "version": "0",
   "id": "7bf73129-1428-4cd3-a780-95db273d1602",
   "detail-type": "EC2 Instance State-change Notification",
   "source": "aws.ec2",
   "account": "123456789012",
   "time": "2026-03-04T05:06:07Z",
   "region": "us-east-1",
   "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
   "detail": {
      "instance-id": "i-abcd1111",
      "state": %q
   }
}`

// healthFixture is completed with fmt.Sprintf: service, category, then the affected entities.
const healthFixture = `{
  "version": "0",
  "id": "7fb65329-1628-4cf3-a740-95fg457h1402",
  "detail-type": "AWS Health Event",
  "source": "aws.health",
  "account": "123456789012",
  "time": "2026-03-04T05:06:07Z",
  "region": "us-east-1",
  "resources": ["i-12345678", "i-87654321"],
  "detail": {
    "eventArn": "arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED_ABC123",
    "service": %q,
    "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
    "eventTypeCategory": %q,
    "startTime": "Tue, 10 Mar 2026 15:00:00 GMT",
    "endTime": "Tue, 10 Mar 2026 17:00:00 GMT",
    "eventDescription": [{
      "language": "en_US",
      "latestDescription": "A description of the event will be provided here"
    }],
    "affectedEntities": %s
  }
}`

const twoInstances = `[{"entityValue": "i-12345678", "tags": {"stage": "prod"}}, {"entityValue": "i-87654321"}]`

const capacityReservationFixture = `{
    "version": "0",
    "id": "12345678-1234-1234-1234-123456789012",
    "detail-type": "EC2 Capacity Reservation Instance Interruption Warning",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2026-03-04T05:06:07Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "instance-action": "terminate"}
}`

const autoScalingFixture = `{
  "version": "0",
  "id": "468fb4b6-3b2d-4f5a-8b2c-1d8a5b5a9e3e",
  "detail-type": "EC2 Instance-terminate Lifecycle Action",
  "source": "aws.autoscaling",
  "account": "123456789012",
  "time": "2026-03-04T05:06:07Z",
  "region": "us-east-1",
  "resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:26e7234b:autoScalingGroupName/workers"],
  "detail": {"EC2InstanceId": "i-0633ac2b0d9769723", "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"}
}`
