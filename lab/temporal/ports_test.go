package temporal

import (
	"errors"
	"net"
	"strconv"
	"testing"
)

func TestAllocatePorts(t *testing.T) {
	frontend := freeTestPort(t)
	for _, tc := range []struct {
		name     string
		frontend int
		ui       int
		check    func(t *testing.T, p ports)
	}{
		{
			name: "a fixed frontend port puts the UI 1000 above it", frontend: frontend, ui: 0,
			check: func(t *testing.T, p ports) {
				if p.frontend != frontend || p.ui != frontend+uiPortOffset {
					t.Fatalf("frontend %d, UI %d; want %d and %d", p.frontend, p.ui, frontend, frontend+uiPortOffset)
				}
			},
		},
		{
			name: "a free frontend port gets a free UI port", frontend: 0, ui: 0,
			check: func(t *testing.T, p ports) {
				if p.frontend == 0 || p.ui == 0 {
					t.Fatalf("frontend %d, UI %d; want both picked", p.frontend, p.ui)
				}
			},
		},
		{
			name: "NoUI leaves the UI without a port", frontend: 0, ui: NoUI,
			check: func(t *testing.T, p ports) {
				if p.ui != 0 {
					t.Fatalf("UI port %d, want none", p.ui)
				}
			},
		},
		{
			name: "every service gets its own port", frontend: 0, ui: 0,
			check: func(t *testing.T, p ports) {
				all := []int{p.frontend, p.frontendHTTP, p.history, p.matching, p.worker, p.ui}
				seen := map[int]bool{}
				for _, port := range all {
					if port == 0 || seen[port] {
						t.Fatalf("ports %v are not distinct and non-zero", all)
					}
					seen[port] = true
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := allocatePorts("127.0.0.1", tc.frontend, tc.ui)
			if err != nil {
				t.Fatalf("allocate ports: %v", err)
			}
			tc.check(t, p)
		})
	}
}

func TestAllocatePortsReportsTakenPorts(t *testing.T) {
	taken, port := holdTestPort(t)
	defer taken.Close()
	for _, tc := range []struct {
		name        string
		frontend    int
		ui          int
		wantService string
		wantMessage string
	}{
		{
			name: "a taken frontend port names the frontend flag", frontend: port, ui: NoUI,
			wantMessage: "port " + strconv.Itoa(port) + " in use: is another lab running? use --temporal-port",
		},
		{
			name: "a taken UI port names the UI flag", frontend: 0, ui: port, wantService: "UI",
			wantMessage: "UI port " + strconv.Itoa(port) + " in use: is another lab running? use --temporal-ui-port",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := allocatePorts("127.0.0.1", tc.frontend, tc.ui)
			var inUse *PortInUseError
			if !errors.As(err, &inUse) || inUse.Port != port || inUse.Service != tc.wantService {
				t.Fatalf("allocate ports returned %v, want a *PortInUseError for %s port %d", err, tc.wantService, port)
			}
			if err.Error() != tc.wantMessage {
				t.Fatalf("error %q, want %q", err, tc.wantMessage)
			}
		})
	}
}

// freeTestPort returns a port that, like the port 1000 above it, was free a moment ago.
func freeTestPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, port := holdTestPort(t)
		above, err := net.Listen("tcp", hostPort("127.0.0.1", port+uiPortOffset))
		_ = l.Close()
		if err == nil {
			_ = above.Close()
			return port
		}
	}
	t.Fatal("found no free port whose UI port (+1000) is also free")
	return 0
}

func holdTestPort(t *testing.T) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on a free port: %v", err)
	}
	return l, l.Addr().(*net.TCPAddr).Port
}
