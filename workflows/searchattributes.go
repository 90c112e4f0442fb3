package workflows

import "go.temporal.io/sdk/temporal"

// Search attribute keys (Keyword) the NodeLifecycle workflow keeps current, so nodes can be
// listed and filtered in the Temporal UI. The server must have them registered. The keys
// are immutable values.
var (
	SearchAttrNodePool     = temporal.NewSearchAttributeKeyKeyword("NodePool")
	SearchAttrNodePhase    = temporal.NewSearchAttributeKeyKeyword("NodePhase")
	SearchAttrNodeName     = temporal.NewSearchAttributeKeyKeyword("NodeName")
	SearchAttrInstanceID   = temporal.NewSearchAttributeKeyKeyword("InstanceID")
	SearchAttrInstanceType = temporal.NewSearchAttributeKeyKeyword("InstanceType")
	SearchAttrZone         = temporal.NewSearchAttributeKeyKeyword("Zone")
	SearchAttrCapacityType = temporal.NewSearchAttributeKeyKeyword("CapacityType")
	// SearchAttrDisruptionReason is set once the node is on its way out (Expired, Empty,
	// Underutilized, Drifted, SpotInterruption, or the operator's reason).
	SearchAttrDisruptionReason = temporal.NewSearchAttributeKeyKeyword("DisruptionReason")
)

// MemoPricePerHour is the NodeLifecycle memo key holding the node's hourly price (USD, a
// number), shown in the Temporal UI and by `starter nodes`.
const MemoPricePerHour = "pricePerHour"

// SearchAttributeNames lists the keys above, for registering them on a server.
func SearchAttributeNames() []string {
	keys := []temporal.SearchAttributeKeyKeyword{
		SearchAttrNodePool, SearchAttrNodePhase, SearchAttrNodeName, SearchAttrInstanceID,
		SearchAttrInstanceType, SearchAttrZone, SearchAttrCapacityType, SearchAttrDisruptionReason,
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.GetName()
	}
	return names
}
