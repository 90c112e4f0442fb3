// Package conversion converts NodePools and EC2NodeClasses between karpenter.sh/v1beta1 and
// karpenter.sh/v1 (karpenter.k8s.aws likewise), following Karpenter v1.0's conversion so that
// a v1beta1 object behaves exactly as its v1 form:
//
//   - NodePool spec.disruption.expireAfter moves to spec.template.spec.expireAfter;
//   - consolidationPolicy WhenUnderutilized becomes WhenEmptyOrUnderutilized (with
//     consolidateAfter 0s), and back;
//   - nodeClassRef {apiVersion, kind, name} becomes {group, kind, name}, empty parts taking
//     EC2NodeClass in karpenter.k8s.aws;
//   - the v1beta1 NodePool kubelet, which v1 keeps on the EC2NodeClass, is kept in the
//     annotation compatibility.karpenter.sh/v1beta1-kubelet-conversion and overrides the
//     class's kubelet for that pool's nodes (KubeletFor);
//   - an EC2NodeClass amiFamily with no AMI terms becomes an alias (al2023@latest), and back.
//
// Karpenter's annotations carry what one version cannot hold, with Karpenter's keys, so
// objects move between the two products unchanged. Beyond Karpenter, the v1 fields v1beta1
// has no place for (terminationGracePeriod, budget reasons, an EC2NodeClass kubelet, ...) are
// kept in the annotation nodewright.io/v1-fields on the way down and restored on the way
// up, so a v1beta1 client that reads and writes an object back does not erase them.
//
// Warnings name what a conversion moved out of its field or dropped.
package conversion
