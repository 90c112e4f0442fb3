package v1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// APIVersion is the only NodePool apiVersion Nodewright reads.
const APIVersion = Group + "/v1"

// KindNodePool is the kind LoadNodePools picks out of a manifest.
const KindNodePool = "NodePool"

// LoadNodePools reads every NodePool from a manifest of one or more YAML documents separated
// by "---", as a user would kubectl-apply it. Documents of other kinds (an EC2NodeClass, a
// ConfigMap) are skipped; a NodePool of another apiVersion is an error rather than a silent
// misreading. Each NodePool is validated and then given Karpenter's defaults. All validation
// problems are returned together, each a *ValidationError.
func LoadNodePools(data []byte) ([]NodePool, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	var (
		pools   []NodePool
		errs    []error
		firstAt = map[string]int{}
	)
	for i, doc := range docs {
		number := i + 1
		pool, isPool, err := decodeNodePool(doc, number)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !isPool {
			continue
		}
		if problems := pool.validate(); len(problems) > 0 {
			for _, p := range problems {
				p.Document = number
				errs = append(errs, p)
			}
			continue
		}
		if first, dup := firstAt[pool.Name]; dup {
			errs = append(errs, &ValidationError{
				Pool:     pool.Name,
				Document: number,
				Field:    "metadata.name",
				Message:  fmt.Sprintf("is defined twice (documents %d and %d); NodePool names must be unique", first, number),
			})
			continue
		}
		firstAt[pool.Name] = number
		pool.SetDefaults()
		pools = append(pools, pool)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return pools, nil
}

// splitDocuments cuts a multi-document YAML stream into its documents, dropping empty ones.
func splitDocuments(data []byte) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("split YAML documents: %w", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		docs = append(docs, doc)
	}
}

// stripComments removes whole-line comments so a document of only comments counts as empty.
func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			continue
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out
}

// decodeNodePool reads one document. isPool is false for documents of other kinds.
func decodeNodePool(doc []byte, number int) (pool NodePool, isPool bool, err error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return NodePool{}, false, fmt.Errorf("document %d: not a Kubernetes object: %w", number, err)
	}
	if head.Kind != KindNodePool {
		return NodePool{}, false, nil
	}
	if head.APIVersion != APIVersion {
		return NodePool{}, false, &ValidationError{
			Pool:     head.Metadata.Name,
			Document: number,
			Field:    "apiVersion",
			Message:  fmt.Sprintf("%q is not supported; set apiVersion: %s (the karpenter.sh/v1 NodePool API)", head.APIVersion, APIVersion),
		}
	}
	if err := yaml.Unmarshal(doc, &pool); err != nil {
		return NodePool{}, false, fmt.Errorf("document %d: nodepool %q: %w", number, head.Metadata.Name, err)
	}
	return pool, true, nil
}
