package workflows

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

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

// SearchAttributeTypes is every search attribute the workflows set, by name, with its type:
// the one list the worker checks (and creates) on a Temporal server and the lab registers.
func SearchAttributeTypes() map[string]enums.IndexedValueType {
	keys := []temporal.SearchAttributeKeyKeyword{
		SearchAttrNodePool, SearchAttrNodePhase, SearchAttrNodeName, SearchAttrInstanceID,
		SearchAttrInstanceType, SearchAttrZone, SearchAttrCapacityType, SearchAttrDisruptionReason,
	}
	types := make(map[string]enums.IndexedValueType, len(keys))
	for _, k := range keys {
		types[k.GetName()] = k.GetValueType()
	}
	return types
}
