package starter

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"sigs.k8s.io/yaml"

	"github.com/nodewright/nodewright/workflows"
)

// outputFormat is a read command's -o: a table (the default), a wide table, or the same rows as
// JSON or YAML.
type outputFormat string

const (
	outputTable outputFormat = "table"
	outputWide  outputFormat = "wide"
	outputJSON  outputFormat = "json"
	outputYAML  outputFormat = "yaml"
)

// outputFormats are the values -o takes, as its help and errors list them.
func outputFormats() []string {
	return []string{string(outputTable), string(outputWide), string(outputJSON), string(outputYAML)}
}

// Set refuses a format the starter cannot print, naming the ones it can.
func (o *outputFormat) Set(v string) error {
	if !slices.Contains(outputFormats(), v) {
		return fmt.Errorf("want one of %s", strings.Join(outputFormats(), ", "))
	}
	*o = outputFormat(v)
	return nil
}

func (o *outputFormat) String() string {
	if o == nil || *o == "" {
		return string(outputTable)
	}
	return string(*o)
}

// Type names the value in the flag's help.
func (o *outputFormat) Type() string { return "format" }

// printNodes writes the nodes in the chosen format; json and yaml are a list of NodeRow.
func printNodes(w io.Writer, format outputFormat, rows []NodeRow, now time.Time) error {
	switch format {
	case outputJSON, outputYAML:
		if rows == nil {
			rows = []NodeRow{} // an empty list, not null
		}
		return writeStructured(w, format, rows)
	case outputWide:
		return PrintNodesWide(w, rows, now)
	default:
		return PrintNodes(w, rows, now)
	}
}

// NodeDescription is describe's structured output: the workflow id and the node's state.
type NodeDescription struct {
	WorkflowID string `json:"workflowID"`
	workflows.NodeState
}

// printState writes a node's state in the chosen format.
func printState(w io.Writer, format outputFormat, id string, st workflows.NodeState) error {
	switch format {
	case outputJSON, outputYAML:
		return writeStructured(w, format, NodeDescription{WorkflowID: id, NodeState: st})
	case outputWide:
		return PrintStateWide(w, id, st)
	default:
		return PrintState(w, id, st)
	}
}

// writeStructured writes v as indented JSON or as YAML (the same field names).
func writeStructured(w io.Writer, format outputFormat, v any) error {
	var data []byte
	var err error
	if format == outputYAML {
		data, err = yaml.Marshal(v)
	} else {
		data, err = json.MarshalIndent(v, "", "  ")
		data = append(data, '\n')
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", format, err)
	}
	_, err = w.Write(data)
	return err
}

// nodeRowJSON is NodeRow's JSON form: the workflow status by name (Running, Completed, ...)
// rather than the API's number.
type nodeRowJSON struct {
	plainNodeRow
	Status string `json:"status,omitempty"`
}

// plainNodeRow is NodeRow without its JSON methods, so they can use the field tags.
type plainNodeRow NodeRow

// MarshalJSON writes the row with its status by name.
func (r NodeRow) MarshalJSON() ([]byte, error) {
	out := nodeRowJSON{plainNodeRow: plainNodeRow(r)}
	if r.Status != enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		out.Status = r.Status.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *NodeRow) UnmarshalJSON(data []byte) error {
	var in nodeRowJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*r = NodeRow(in.plainNodeRow)
	if in.Status == "" {
		return nil
	}
	status, err := enumspb.WorkflowExecutionStatusFromString(in.Status)
	if err != nil {
		return fmt.Errorf("node row %s: status: %w", r.WorkflowID, err)
	}
	r.Status = status
	return nil
}
