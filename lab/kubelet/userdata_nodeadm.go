package kubelet

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"

	kubeletconfig "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

// What nodeadm (the AL2023 EKS AMI's bootstrap agent) looks for in user data.
const (
	nodeConfigMediaType  = "application/node.eks.aws"
	nodeConfigAPIVersion = "node.eks.aws/v1alpha1"
	nodeConfigKind       = "NodeConfig"
)

// nodeConfig is the part of nodeadm's NodeConfig the stand-in reads; nodeadm ignores fields it
// does not know, and so does this.
type nodeConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Cluster struct {
			Name                 string `json:"name"`
			APIServerEndpoint    string `json:"apiServerEndpoint"`
			CertificateAuthority string `json:"certificateAuthority"` // base64 of the PEM bundle
			CIDR                 string `json:"cidr"`
		} `json:"cluster"`
		Kubelet struct {
			// Config is a KubeletConfiguration fragment, kept as a document so that parts merge
			// key by key as nodeadm merges them.
			Config map[string]any `json:"config"`
			Flags  []string       `json:"flags"`
		} `json:"kubelet"`
	} `json:"spec"`
}

// readNodeadm reads user data as nodeadm does: base64 and gzip are undone, a MIME multi-part
// document contributes its application/node.eks.aws parts merged in order, and anything that is
// not multi-part must be a NodeConfig itself.
func readNodeadm(data []byte) (bootConfig, error) {
	nc, err := nodeConfigOf(data)
	if err != nil {
		return bootConfig{}, fmt.Errorf("%s user data: %w", formatNodeadm, err)
	}
	cfg, err := nc.bootConfig()
	if err != nil {
		return bootConfig{}, fmt.Errorf("%s user data: %w", formatNodeadm, err)
	}
	return cfg, nil
}

func nodeConfigOf(data []byte) (nodeConfig, error) {
	data, err := unwrap(data)
	if err != nil {
		return nodeConfig{}, err
	}
	parts, isMultipart, err := multipartReader(data)
	if err != nil {
		return nodeConfig{}, err
	}
	if !isMultipart {
		return decodeNodeConfig(data)
	}
	return mergedNodeConfigs(parts)
}

// multipartReader opens data as a MIME multi-part document. Data whose headers do not parse or
// do not say multipart is not one, and nodeadm then decodes it as a bare NodeConfig.
func multipartReader(data []byte) (*multipart.Reader, bool, error) {
	body := bufio.NewReader(bytes.NewReader(data))
	header, err := textproto.NewReader(body).ReadMIMEHeader()
	if err != nil {
		return nil, false, nil
	}
	mediaType, params, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		return nil, false, nil
	}
	if params["boundary"] == "" {
		return nil, false, fmt.Errorf("MIME %s document has no boundary", mediaType)
	}
	return multipart.NewReader(body, params["boundary"]), true, nil
}

// mergedNodeConfigs merges the NodeConfig parts in order; other parts (the user's shell scripts,
// cloud-config) are for cloud-init, not nodeadm.
func mergedNodeConfigs(parts *multipart.Reader) (nodeConfig, error) {
	var merged *nodeConfig
	for i := 1; ; i++ {
		part, err := parts.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nodeConfig{}, fmt.Errorf("MIME part %d: %w", i, err)
		}
		contentType := part.Header.Get("Content-Type")
		if contentType == "" {
			continue
		}
		mediaType, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return nodeConfig{}, fmt.Errorf("MIME part %d content type %q: %w", i, contentType, err)
		}
		if mediaType != nodeConfigMediaType {
			continue
		}
		raw, err := io.ReadAll(part)
		if err != nil {
			return nodeConfig{}, fmt.Errorf("MIME part %d: %w", i, err)
		}
		if raw, err = unwrap(raw); err != nil {
			return nodeConfig{}, fmt.Errorf("MIME part %d: %w", i, err)
		}
		nc, err := decodeNodeConfig(raw)
		if err != nil {
			return nodeConfig{}, fmt.Errorf("MIME part %d: %w", i, err)
		}
		if merged == nil {
			merged = &nc
		} else {
			merged.merge(nc)
		}
	}
	if merged == nil {
		return nodeConfig{}, fmt.Errorf("no %s part in the MIME document: nodeadm finds no NodeConfig", nodeConfigMediaType)
	}
	return *merged, nil
}

func decodeNodeConfig(raw []byte) (nodeConfig, error) {
	var nc nodeConfig
	if err := yaml.Unmarshal(raw, &nc); err != nil {
		return nodeConfig{}, fmt.Errorf("decode NodeConfig: %w", err)
	}
	if nc.APIVersion != nodeConfigAPIVersion || nc.Kind != nodeConfigKind {
		return nodeConfig{}, fmt.Errorf("document is apiVersion %q kind %q, not %s %s",
			nc.APIVersion, nc.Kind, nodeConfigAPIVersion, nodeConfigKind)
	}
	return nc, nil
}

// merge lays a later NodeConfig over this one as nodeadm does: set scalars replace, flags
// append (kubelet flags later on the command line win), and the kubelet config merges key by
// key, nested maps included, lists replaced.
func (nc *nodeConfig) merge(later nodeConfig) {
	c, l := &nc.Spec.Cluster, later.Spec.Cluster
	override(&c.Name, l.Name)
	override(&c.APIServerEndpoint, l.APIServerEndpoint)
	override(&c.CertificateAuthority, l.CertificateAuthority)
	override(&c.CIDR, l.CIDR)
	nc.Spec.Kubelet.Flags = append(nc.Spec.Kubelet.Flags, later.Spec.Kubelet.Flags...)
	nc.Spec.Kubelet.Config = mergeDocuments(nc.Spec.Kubelet.Config, later.Spec.Kubelet.Config)
}

func override(dst *string, src string) {
	if src != "" {
		*dst = src
	}
}

func mergeDocuments(dst, src map[string]any) map[string]any {
	out := maps.Clone(dst)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range src {
		sub, isMap := v.(map[string]any)
		have, hadMap := out[k].(map[string]any)
		if isMap && hadMap {
			out[k] = mergeDocuments(have, sub)
			continue
		}
		out[k] = v
	}
	return out
}

// bootConfig reads what the kubelet will see: its config file and its command line, where a
// flag overrides the config as in every kubelet.
func (nc nodeConfig) bootConfig() (bootConfig, error) {
	kc, err := nc.kubeletConfig()
	if err != nil {
		return bootConfig{}, err
	}
	flags, err := parseKubeletFlags(nc.Spec.Kubelet.Flags)
	if err != nil {
		return bootConfig{}, err
	}
	cfg := bootConfig{
		Format:       formatNodeadm,
		ClusterName:  nc.Spec.Cluster.Name,
		Endpoint:     nc.Spec.Cluster.APIServerEndpoint,
		ServiceCIDR:  nc.Spec.Cluster.CIDR,
		Labels:       flags.Labels,
		Taints:       kc.RegisterWithTaints,
		MaxPods:      kc.MaxPods,
		PodsPerCore:  kc.PodsPerCore,
		EvictionHard: kc.EvictionHard,
	}
	if flags.TaintsSet {
		cfg.Taints = flags.Taints
	}
	if flags.MaxPodsSet {
		cfg.MaxPods = flags.MaxPods
	}
	if cfg.CA, err = decodeCA(nc.Spec.Cluster.CertificateAuthority); err != nil {
		return bootConfig{}, fmt.Errorf("spec.cluster.certificateAuthority: %w", err)
	}
	if cfg.SystemReserved, err = reservedResources(kc.SystemReserved); err != nil {
		return bootConfig{}, fmt.Errorf("kubelet config systemReserved: %w", err)
	}
	if cfg.KubeReserved, err = reservedResources(kc.KubeReserved); err != nil {
		return bootConfig{}, fmt.Errorf("kubelet config kubeReserved: %w", err)
	}
	if err := checkEvictionThresholds(cfg.EvictionHard); err != nil {
		return bootConfig{}, fmt.Errorf("kubelet config evictionHard: %w", err)
	}
	return cfg, nil
}

// kubeletConfig types the merged fragment with the kubelet's own KubeletConfiguration, so a
// field of the wrong type fails here as it would fail the kubelet.
func (nc nodeConfig) kubeletConfig() (kubeletconfig.KubeletConfiguration, error) {
	var kc kubeletconfig.KubeletConfiguration
	if len(nc.Spec.Kubelet.Config) == 0 {
		return kc, nil
	}
	raw, err := json.Marshal(nc.Spec.Kubelet.Config)
	if err != nil {
		return kc, fmt.Errorf("kubelet config: %w", err)
	}
	if err := json.Unmarshal(raw, &kc); err != nil {
		return kc, fmt.Errorf("kubelet config: %w", err)
	}
	return kc, nil
}

// unwrap undoes what nodeadm undoes before reading: base64 (when all of it decodes) and gzip.
func unwrap(data []byte) ([]byte, error) {
	if decoded, err := base64.StdEncoding.DecodeString(string(data)); err == nil {
		data = decoded
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	return out, nil
}

// decodeCA undoes the base64 both formats wrap the cluster's CA bundle in; what is inside is
// checked against the cluster when the node would dial it.
func decodeCA(b64 string) ([]byte, error) {
	if b64 == "" {
		return nil, nil
	}
	ca, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return ca, nil
}
