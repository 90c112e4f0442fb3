package bootstrap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"

	"sigs.k8s.io/yaml"
)

// Content types of the parts of an AL2023 user data document.
const (
	contentTypeNodeConfig = "application/node.eks.aws"
	contentTypeShell      = `text/x-shellscript; charset="us-ascii"`
	mimeBoundary          = "//"
)

// nodeConfig is the part of nodeadm's NodeConfig (node.eks.aws/v1alpha1) Nodewright writes.
// The type is written here rather than imported: nodeadm's module brings containerd and an
// older controller-runtime with it, for five fields.
type nodeConfig struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       nodeConfigSpec `json:"spec"`
}

type nodeConfigSpec struct {
	Cluster clusterDetails  `json:"cluster"`
	Kubelet kubeletSettings `json:"kubelet"`
}

type clusterDetails struct {
	APIServerEndpoint    string `json:"apiServerEndpoint"`
	CertificateAuthority string `json:"certificateAuthority"`
	CIDR                 string `json:"cidr,omitempty"`
	Name                 string `json:"name"`
}

type kubeletSettings struct {
	Config map[string]any `json:"config,omitempty"`
	Flags  []string       `json:"flags,omitempty"`
}

// mimePart is one part of a multi-part user data document.
type mimePart struct {
	contentType string
	body        string
}

// al2023 writes a MIME document: the class's own parts first, Nodewright's NodeConfig last,
// so that nodeadm, which merges NodeConfigs in order, lets the cluster's identity, labels
// and taints win over the class's.
func al2023(c Cluster, n Node, custom *string) (string, error) {
	if c.ServiceCIDR == "" {
		return "", fmt.Errorf("the cluster's service CIDR (--service-cidr): nodeadm refuses a NodeConfig without one")
	}
	parts, err := customParts(custom)
	if err != nil {
		return "", err
	}
	config, err := nodeConfigFor(c, n)
	if err != nil {
		return "", err
	}
	parts = append(parts, mimePart{contentType: contentTypeNodeConfig, body: "# Nodewright generated NodeConfig\n" + config})
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"" + mimeBoundary + "\"\n\n")
	for _, p := range parts {
		if strings.Contains(p.body, "--"+mimeBoundary) {
			return "", fmt.Errorf("spec.userData contains the MIME boundary %q; use another boundary in it", "--"+mimeBoundary)
		}
		b.WriteString("--" + mimeBoundary + "\nContent-Type: " + p.contentType + "\n\n" + p.body)
		if !strings.HasSuffix(p.body, "\n") {
			b.WriteString("\n")
		}
	}
	b.WriteString("\n--" + mimeBoundary + "--\n")
	return b.String(), nil
}

func nodeConfigFor(c Cluster, n Node) (string, error) {
	config, err := kubeletConfig(n.Kubelet)
	if err != nil {
		return "", err
	}
	if len(n.Taints) > 0 {
		taints := make([]map[string]string, 0, len(n.Taints))
		for _, t := range n.Taints {
			taint := map[string]string{"key": t.Key, "effect": string(t.Effect)}
			if t.Value != "" {
				taint["value"] = t.Value
			}
			taints = append(taints, taint)
		}
		config["registerWithTaints"] = taints
	}
	nc := nodeConfig{
		APIVersion: "node.eks.aws/v1alpha1",
		Kind:       "NodeConfig",
		Metadata:   map[string]any{},
		Spec: nodeConfigSpec{
			Cluster: clusterDetails{APIServerEndpoint: c.Endpoint, CertificateAuthority: c.CABundle, CIDR: c.ServiceCIDR, Name: c.Name},
			Kubelet: kubeletSettings{Config: config},
		},
	}
	if labels := KubeletLabels(n.Labels); len(labels) > 0 {
		nc.Spec.Kubelet.Flags = []string{`--node-labels="` + labelsFlag(labels) + `"`}
	}
	out, err := yaml.Marshal(nc)
	if err != nil {
		return "", fmt.Errorf("encode NodeConfig: %w", err)
	}
	return string(out), nil
}

// customParts reads the class's userData as Karpenter does: a MIME document gives its parts,
// a NodeConfig becomes a NodeConfig part, anything else a shell script.
func customParts(custom *string) ([]mimePart, error) {
	if custom == nil || strings.TrimSpace(*custom) == "" {
		return nil, nil
	}
	data := *custom
	if isMIME(data) {
		parts, err := mimeParts(data)
		if err != nil {
			return nil, fmt.Errorf("spec.userData looks like a MIME document but is not one: %w", err)
		}
		return parts, nil
	}
	var doc struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal([]byte(data), &doc); err == nil && doc.Kind == "NodeConfig" {
		if !strings.HasPrefix(doc.APIVersion, "node.eks.aws/") {
			return nil, fmt.Errorf("spec.userData is a NodeConfig of apiVersion %q; nodeadm reads node.eks.aws/v1alpha1", doc.APIVersion)
		}
		return []mimePart{{contentType: contentTypeNodeConfig, body: data}}, nil
	}
	return []mimePart{{contentType: contentTypeShell, body: data}}, nil
}

func isMIME(data string) bool {
	head, _, _ := strings.Cut(data, "\n\n")
	head = strings.ToLower(head)
	return strings.HasPrefix(head, "mime-version:") || strings.HasPrefix(head, "content-type: multipart/")
}

func mimeParts(data string) ([]mimePart, error) {
	header, err := textproto.NewReader(bufio.NewReader(strings.NewReader(data))).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read its header: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("its Content-Type %q is not multipart with a boundary", header.Get("Content-Type"))
	}
	_, body, _ := strings.Cut(strings.ReplaceAll(data, "\r\n", "\n"), "\n\n")
	reader := multipart.NewReader(strings.NewReader(body), params["boundary"])
	var parts []mimePart
	for {
		p, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			return parts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", len(parts)+1, err)
		}
		content, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", len(parts)+1, err)
		}
		contentType := p.Header.Get("Content-Type")
		if contentType == "" {
			contentType = contentTypeShell
		}
		parts = append(parts, mimePart{contentType: contentType, body: string(bytes.TrimLeft(content, "\n"))})
	}
}
