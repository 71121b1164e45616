package mgmt_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// These tests run the management client against the router test harness
// (the fake skrouterd by default, a real one when SKROUTERD names it) and
// its real AMQP dialer against peers that are not routers. They are an
// external test package: routertest imports mgmt.

// edgeUplink returns the first open outgoing edge connection, as the
// health prober picks it.
func edgeUplink(conns []mgmt.Record) (mgmt.Connection, bool) {
	for _, r := range conns {
		if c := mgmt.ConnectionFrom(r); c.IsEdgeUplink() {
			return c, true
		}
	}
	return mgmt.Connection{}, false
}

func TestClientAgainstRouter(t *testing.T) {
	sc := routertest.StartScenario(t, routertest.Controls{})
	sc.Edge.WaitLink(t, "SUCCESS", 10*time.Second)
	c := mgmt.NewClient(mgmt.ClientConfig{Address: sc.Edge.MgmtAddr, Timeout: 2 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()

	connectors, err := c.Query(ctx, mgmt.EntityConnector, "name", "role", "connectionStatus", "connectionMsg")
	if err != nil {
		t.Fatal(err)
	}
	if len(connectors) != 1 || connectors[0].String("name") != "uplink" || connectors[0].String("connectionStatus") != "SUCCESS" {
		t.Errorf("connectors = %v", connectors)
	}
	conns, err := c.Query(ctx, mgmt.EntityConnection, "role", "dir", "opened", "container")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := edgeUplink(conns); !ok || u.Container != "interior" {
		t.Errorf("no open edge connection to the interior in %v", conns)
	}
	all, err := c.Query(ctx, mgmt.EntityTCPListener) // all attributes
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].String("port") != strconv.Itoa(sc.Listener.Port) || all[0].String("address") != "my-service:8080" {
		t.Errorf("tcpListeners = %v", all)
	}
	if _, ok := all[0].Int("connectionsOpened"); !ok {
		t.Errorf("connectionsOpened not an integer: %#v", all[0]["connectionsOpened"])
	}
	routers, err := c.Query(ctx, mgmt.EntityRouter, "id")
	if err != nil || len(routers) != 1 || routers[0].String("id") != "edge-proxy-1" {
		t.Errorf("router = %v, %v", routers, err)
	}
	if v, _ := c.RemoteProperties()["version"].(string); v == "" {
		t.Errorf("no version in the open frame properties %v", c.RemoteProperties())
	}

	// READ, CREATE, DELETE and their errors.
	rec, err := c.Read(ctx, mgmt.EntityTCPListener, "my-service")
	if err != nil || rec.String("address") != "my-service:8080" {
		t.Errorf("read my-service = %v, %v", rec, err)
	}
	port := strconv.Itoa(routertest.FreePort(t))
	created, err := c.Create(ctx, mgmt.EntityTCPListener, "x", map[string]any{"host": "127.0.0.1", "port": port, "address": "my-service:8080"})
	if err != nil {
		t.Fatalf("create x: %v", err)
	}
	if created.String("identity") == "" || created.String("name") != "x" || created.String("port") != port {
		t.Errorf("created = %v", created)
	}
	_, err = c.Create(ctx, mgmt.EntityTCPListener, "x", map[string]any{"host": "127.0.0.1", "port": port, "address": "my-service:8080"})
	var se *mgmt.StatusError
	if !errors.As(err, &se) || se.Code < 400 {
		t.Errorf("duplicate create: %v, want a 4xx/5xx mgmt.StatusError", err)
	}
	if err := c.Delete(ctx, mgmt.EntityTCPListener, "x"); err != nil {
		t.Fatalf("delete x: %v", err)
	}
	if _, err := c.Read(ctx, mgmt.EntityTCPListener, "x"); !mgmt.IsNotFound(err) {
		t.Errorf("read after delete: %v, want 404", err)
	}
	if err := c.Delete(ctx, mgmt.EntityTCPListener, "nosuch"); !mgmt.IsNotFound(err) {
		t.Errorf("delete nonexistent: %v, want 404", err)
	}
	// UPDATE: a log entity's enable is updatable (200, the entity as it now
	// is); a tcpListener's port is not (400, as the real router's agent).
	logRec, err := c.Update(ctx, "io.skupper.router.log", "log/FLOW_LOG", map[string]any{"enable": "info+"})
	if err != nil || logRec.String("enable") != "info+" {
		t.Errorf("update log/FLOW_LOG = %v, %v", logRec, err)
	}
	_, err = c.Update(ctx, mgmt.EntityTCPListener, "my-service", map[string]any{"port": port})
	if !errors.As(err, &se) || se.Code != 400 || !strings.Contains(se.Description, "Cannot update attribute 'port'") {
		t.Errorf("update tcpListener port: %v, want 400 Cannot update attribute 'port'", err)
	}
	if _, err := c.Update(ctx, mgmt.EntityTCPListener, "nosuch", map[string]any{"observer": "none"}); !mgmt.IsNotFound(err) {
		t.Errorf("update nonexistent: %v, want 404", err)
	}
	if _, err := c.Query(ctx, "io.skupper.router.bogus"); !errors.As(err, &se) || se.Code != 400 {
		t.Errorf("query bogus type: %v, want 400", err)
	}

	// The typed tcpListener calls a runtime listener manager would use.
	yPort := routertest.FreePort(t)
	y, err := c.CreateTCPListener(ctx, mgmt.TCPListener{Name: "y", Host: "127.0.0.1", Port: yPort, Address: "my-service:8080"})
	if err != nil || y.Name != "y" || y.Port != yPort || y.Address != "my-service:8080" {
		t.Fatalf("create y = %+v, %v", y, err)
	}
	listeners, err := c.TCPListeners(ctx)
	if err != nil || len(listeners) != 2 {
		t.Errorf("tcpListeners = %+v, %v; want my-service and y", listeners, err)
	}
	if err := c.DeleteTCPListener(ctx, "y"); err != nil {
		t.Errorf("delete y: %v", err)
	}
	if err := c.DeleteTCPListener(ctx, "y"); !mgmt.IsNotFound(err) {
		t.Errorf("delete y twice: %v, want 404", err)
	}
	if c.Dials() != 1 {
		t.Errorf("dials = %d, want one long-lived connection", c.Dials())
	}
}

// TestClientReconnectsAfterRouterRestart: the router is replaced; the
// client reconnects by itself (after its backoff) and at once after Reset.
func TestClientReconnectsAfterRouterRestart(t *testing.T) {
	sc := routertest.StartScenario(t, routertest.Controls{})
	c := mgmt.NewClient(mgmt.ClientConfig{Address: sc.Edge.MgmtAddr, Timeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	query := func() error { _, err := c.Query(context.Background(), mgmt.EntityRouter, "id"); return err }
	if err := query(); err != nil {
		t.Fatal(err)
	}
	for _, reset := range []bool{false, true} {
		sc.Edge.Stop(5 * time.Second)
		routertest.Eventually(t, 5*time.Second, func() error {
			if query() == nil {
				return errors.New("still answering after the router stopped")
			}
			return nil
		})
		sc.Edge = routertest.StartEdge(t, sc.Config, routertest.Controls{})
		sc.Edge.WaitReady(t)
		if reset {
			c.Reset()
			if err := query(); err != nil {
				t.Fatalf("first call after Reset: %v", err)
			}
			continue
		}
		routertest.Eventually(t, 5*time.Second, query) // backoff is capped at 2 s
	}
}

// TestClientRouterStopsAnswering: the router keeps the connection open but
// answers nothing (fake only): calls time out, none hangs.
func TestClientRouterStopsAnswering(t *testing.T) {
	sc := routertest.StartScenario(t, routertest.Controls{HangAfter: 1500 * time.Millisecond})
	c := mgmt.NewClient(mgmt.ClientConfig{Address: sc.Edge.MgmtAddr, Timeout: 300 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	var err error
	routertest.Eventually(t, 5*time.Second, func() error {
		_, err = c.Query(context.Background(), mgmt.EntityRouter, "id")
		if err == nil {
			return errors.New("still answering")
		}
		return nil
	})
	var te *mgmt.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a mgmt.TimeoutError", err)
	}
	t.Logf("hung router: %v", err)
}

// TestClientSilentAMQPPeer uses the real AMQP dialer against a TCP server
// that accepts and never writes: the call fails within the timeout.
func TestClientSilentAMQPPeer(t *testing.T) {
	addr := routertest.StartSilentPeer(t)
	c := mgmt.NewClient(mgmt.ClientConfig{Address: addr, Timeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	start := time.Now()
	_, err := c.Query(context.Background(), mgmt.EntityRouter, "id")
	elapsed := time.Since(start)
	var te *mgmt.TimeoutError
	if !errors.As(err, &te) || te.Stage != "connect" {
		t.Fatalf("err = %v, want a connect mgmt.TimeoutError", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("returned after %s", elapsed)
	}
	t.Logf("silent peer: %v after %s", err, elapsed.Round(time.Millisecond))
}

// TestClientRefused uses the real dialer against a closed port.
func TestClientRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := mgmt.NewClient(mgmt.ClientConfig{Address: addr, Timeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Query(context.Background(), mgmt.EntityRouter, "id")
	if err == nil || !strings.Contains(err.Error(), "connect "+addr) {
		t.Fatalf("err = %v, want a connect error naming %s", err, addr)
	}
}
