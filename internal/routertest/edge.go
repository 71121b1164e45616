package routertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
)

// StartTimeout bounds how long a router may take to answer management. A real
// router answers 0.22–0.39 s after spawn, but 20 s when its host name does not
// resolve (README "resolves its own host name twice"): the bound covers that.
const StartTimeout = 30 * time.Second

// Edge is an edge router started directly (no supervisor) from a rendered
// configuration file.
type Edge struct {
	*Process
	Config   string // configuration file passed as -c
	MgmtAddr string // host:port of its management listener
}

// StartEdge launches the router (fake or real, see Binary) on cfg with the
// given controls. It does not wait for the router: use WaitReady.
func StartEdge(t testing.TB, cfg string, c Controls) *Edge {
	t.Helper()
	addr, err := ManagementAddr(cfg)
	if err != nil {
		t.Fatalf("start edge: %v", err)
	}
	bin := Binary(t, c)
	return &Edge{Process: StartProcess(t, bin, cfg), Config: cfg, MgmtAddr: addr}
}

// WaitReady polls until the router answers a management QUERY.
func (e *Edge) WaitReady(t testing.TB) {
	t.Helper()
	waitManagement(t, e.Process, e.MgmtAddr)
}

func waitManagement(t testing.TB, p *Process, addr string) {
	t.Helper()
	Eventually(t, StartTimeout, func() error {
		if p.Exited() {
			st, _ := p.Wait(0)
			return fmt.Errorf("router exited (%s) before answering management", ExitDescription(st))
		}
		_, err := QueryOnce(addr, "router", "id")
		return err
	})
}

// Query runs one QUERY against the edge and fails the test on error.
func (e *Edge) Query(t testing.TB, entity string, attrs ...string) []map[string]any {
	t.Helper()
	return MustQuery(t, e.MgmtAddr, entity, attrs...)
}

// Dial opens a management client closed at cleanup.
func (e *Edge) Dial(t testing.TB) *Mgmt {
	t.Helper()
	return DialT(t, e.MgmtAddr)
}

// DialT opens a management client to addr, closed at cleanup.
func DialT(t testing.TB, addr string) *Mgmt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), MgmtTimeout)
	defer cancel()
	m, err := DialMgmt(ctx, addr)
	if err != nil {
		t.Fatalf("management: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// LinkStatus returns the connectionStatus and connectionMsg of the edge's
// role-edge connector.
func LinkStatus(addr string) (status, msg string, err error) {
	rows, err := QueryOnce(addr, "connector", "role", "connectionStatus", "connectionMsg")
	if err != nil {
		return "", "", err
	}
	r, err := Find(rows, "role", "edge")
	if err != nil {
		return "", "", err
	}
	status, _ = r["connectionStatus"].(string)
	msg, _ = r["connectionMsg"].(string)
	return status, msg, nil
}

// ActiveUplink returns the container id (the interior's router id) of the
// edge's active edge connection: of several open ones, the router uses one.
func ActiveUplink(addr string) (string, error) {
	rows, err := QueryOnce(addr, mgmt.EntityConnection, mgmt.ConnectionAttributes...)
	if err != nil {
		return "", err
	}
	var open []string
	for _, r := range rows {
		c := mgmt.ConnectionFrom(r)
		if !c.IsEdgeUplink() {
			continue
		}
		if c.Active {
			return c.Container, nil
		}
		open = append(open, c.Container)
	}
	return "", fmt.Errorf("no active edge connection (open ones: %v)", open)
}

// WaitLink polls until the edge connector's connectionStatus is want
// (SUCCESS or CONNECTING).
func (e *Edge) WaitLink(t testing.TB, want string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		st, msg, err := LinkStatus(e.MgmtAddr)
		if err != nil {
			return err
		}
		if st != want {
			return fmt.Errorf("connectionStatus %s (%s), want %s", st, msg, want)
		}
		// SUCCESS counts once the connection is open (mgmt.LinkOpened: a real
		// router shows SUCCESS with an empty message for a moment first).
		if want == "SUCCESS" && !mgmt.LinkOpened(st, msg) {
			return fmt.Errorf("connectionStatus SUCCESS, connectionMsg %q: not opened yet", msg)
		}
		return nil
	})
}

// ListenerStatus returns the operStatus of the named tcpListener.
func ListenerStatus(addr, name string) (string, error) {
	rows, err := QueryOnce(addr, "tcpListener", "name", "operStatus")
	if err != nil {
		return "", err
	}
	r, err := Find(rows, "name", name)
	if err != nil {
		return "", err
	}
	s, _ := r["operStatus"].(string)
	return s, nil
}

// WaitListener polls until the named tcpListener's operStatus is want.
func (e *Edge) WaitListener(t testing.TB, name, want string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		st, err := ListenerStatus(e.MgmtAddr, name)
		if err != nil {
			return err
		}
		if st != want {
			return fmt.Errorf("tcpListener %s operStatus %s, want %s", name, st, want)
		}
		return nil
	})
}
