package temporal

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// PortInUseError reports that a fixed port asked for is already bound, most often by another lab.
type PortInUseError struct {
	Port    int
	Service string // "" for the frontend, "UI" for the Web UI
	Flag    string // the lab flag that moves it
}

func (e *PortInUseError) Error() string {
	what := "port"
	if e.Service != "" {
		what = e.Service + " port"
	}
	return fmt.Sprintf("%s %d in use: is another lab running? use %s", what, e.Port, e.Flag)
}

// ports are the resolved listen ports of one server; ui is 0 when the UI is disabled.
type ports struct {
	frontend, frontendHTTP, history, matching, worker, ui int
}

// allocatePorts checks the fixed ports are free and picks free ones for the rest. All probe listeners stay open
// until every port is chosen, so the kernel cannot hand the same free port out twice.
func allocatePorts(ip string, frontend, ui int) (ports, error) {
	if frontend < 0 || frontend > 65535 {
		return ports{}, fmt.Errorf("frontend port %d out of range", frontend)
	}
	if ui < NoUI || ui > 65535 {
		return ports{}, fmt.Errorf("UI port %d out of range (use %d to disable the UI)", ui, NoUI)
	}
	var probes []net.Listener
	defer func() {
		for _, l := range probes {
			_ = l.Close()
		}
	}()
	reserve := func(port int, inUse *PortInUseError) (int, error) {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			if port != 0 && errors.Is(err, syscall.EADDRINUSE) {
				inUse.Port = port
				return 0, inUse
			}
			return 0, fmt.Errorf("listen on %s port %d: %w", ip, port, err)
		}
		probes = append(probes, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}

	var p ports
	var err error
	if p.frontend, err = reserve(frontend, &PortInUseError{Flag: "--temporal-port"}); err != nil {
		return ports{}, err
	}
	uiWanted := ui
	if ui == 0 && frontend != 0 {
		uiWanted = frontend + uiPortOffset
	}
	if ui != NoUI {
		if p.ui, err = reserve(uiWanted, &PortInUseError{Service: "UI", Flag: "--temporal-ui-port"}); err != nil {
			return ports{}, err
		}
	}
	for _, free := range []*int{&p.frontendHTTP, &p.history, &p.matching, &p.worker} {
		if *free, err = reserve(0, nil); err != nil {
			return ports{}, err
		}
	}
	return p, nil
}

// dialHost is the address clients use to reach services bound on ip: a wildcard bind is reached via loopback.
func dialHost(ip string) string {
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsUnspecified() {
		if parsed.To4() != nil {
			return "127.0.0.1"
		}
		return "::1"
	}
	return ip
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
