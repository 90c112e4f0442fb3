package ec2sim

import (
	"fmt"

	"github.com/nodewright/nodewright/lab/simid"
)

// idSource mints EC2-shaped identifiers.
type idSource struct{ simid.Source }

// instanceID has EC2's long form: "i-" and 17 hex digits.
func (g *idSource) instanceID() string { return fmt.Sprintf("i-%017x", g.Next()) }

func (g *idSource) reservationID() string { return fmt.Sprintf("r-%017x", g.Next()) }

func (g *idSource) spotRequestID() string { return fmt.Sprintf("sir-%08x", uint32(g.Next())) }

// launchTemplateID has EC2's form: "lt-" and 17 hex digits.
func (g *idSource) launchTemplateID() string { return fmt.Sprintf("lt-%017x", g.Next()) }

func (g *idSource) fleetID() string { return "fleet-" + g.UUID() }

func (g *idSource) requestID() string { return g.UUID() }
