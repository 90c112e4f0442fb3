package schedulerengine

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// hostPort is one host port a pod binds on its node.
type hostPort struct {
	protocol corev1.Protocol
	ip       string // "" for every address (0.0.0.0)
	port     int32
}

// podHostPorts lists the host ports a pod binds, as the kube-scheduler's NodePorts filter
// reads them: containers and sidecars (restartable init containers), TCP by default.
func podHostPorts(p *corev1.Pod) []hostPort {
	var out []hostPort
	add := func(c corev1.Container) {
		for _, cp := range c.Ports {
			if cp.HostPort <= 0 {
				continue
			}
			protocol := cp.Protocol
			if protocol == "" {
				protocol = corev1.ProtocolTCP
			}
			ip := cp.HostIP
			if ip == "0.0.0.0" {
				ip = ""
			}
			out = append(out, hostPort{protocol: protocol, ip: ip, port: cp.HostPort})
		}
	}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	for _, c := range p.Spec.Containers {
		add(c)
	}
	return out
}

// conflicts reports whether two bindings of one node collide: same protocol and port, and
// the same address or either on every address.
func (h hostPort) conflicts(o hostPort) bool {
	return h.port == o.port && h.protocol == o.protocol && (h.ip == o.ip || h.ip == "" || o.ip == "")
}

func (h hostPort) String() string {
	ip := h.ip
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d/%s", ip, h.port, h.protocol)
}

// portConflict returns the first of want that collides with a port in use, if any.
func portConflict(used, want []hostPort) (hostPort, bool) {
	for _, w := range want {
		for _, u := range used {
			if w.conflicts(u) {
				return w, true
			}
		}
	}
	return hostPort{}, false
}
