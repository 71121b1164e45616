package main

import (
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// The private topology: a service proxy's tcpListener reaches a workload
// through a workload-side proxy's tcpConnector, across an interior that has
// only its edge listener (no tcpListener, no tcpConnector). Both proxies are
// `edgeproxy run`; fake router by default, real with SKROUTERD.
func TestRunConnectorsThroughInterior(t *testing.T) {
	t.Parallel()
	in := routertest.StartInterior(t)
	backend := routertest.StartBackend(t, "my-service:8080")

	// A listener port nothing consumes yet: it stays closed (the negative
	// control for the greeting below).
	_, svcMgmt, port := routerProxy(t, in, routertest.Controls{})
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(svcMgmt) })
	if err := greets(port, backend.Greeting()); err == nil {
		t.Fatal("the service proxy answers before any connector exists")
	}

	_, workMgmt, _ := routerProxy(t, in, routertest.Controls{},
		"EDGEPROXY_LISTENERS=", "EDGEPROXY_CONNECTORS=my-service:8080="+backend.Backend)
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(workMgmt) })
	routertest.Eventually(t, 30*time.Second, func() error { return greets(port, backend.Greeting()) })
	for range 20 {
		if err := greets(port, backend.Greeting()); err != nil {
			t.Fatalf("through the workload-side proxy: %v", err)
		}
	}
	if n := backend.Requests(); n < 21 {
		t.Errorf("the backend served %d requests, want at least 21", n)
	}
	rows := routertest.MustQuery(t, workMgmt, "tcpConnector", "name", "address")
	if len(rows) != 1 || rows[0]["name"] != "my-service-8080" || rows[0]["address"] != "my-service:8080" {
		t.Errorf("workload-side tcpConnectors: %v", rows)
	}
	if rows := routertest.MustQuery(t, in.MgmtAddr(), "tcpConnector", "name"); len(rows) != 0 {
		t.Errorf("the interior has tcpConnectors: %v", rows)
	}
}
