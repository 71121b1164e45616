package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// workload is an HTTP backend on a fixed loopback port that can be stopped
// and started again on the same port, as a container is.
type workload struct {
	t    *testing.T
	addr string
	srv  *http.Server
}

const workloadGreeting = "hello from the workload\n"

func startWorkload(t *testing.T) *workload {
	w := &workload{t: t, addr: net.JoinHostPort(routertest.Loopback, strconv.Itoa(routertest.FreePort(t)))}
	w.start()
	t.Cleanup(w.stop)
	return w
}

func (w *workload) start() {
	w.t.Helper()
	var ln net.Listener
	routertest.Eventually(w.t, 10*time.Second, func() error {
		var err error
		ln, err = net.Listen("tcp", w.addr)
		return err
	})
	w.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(rw, workloadGreeting)
	})}
	go w.srv.Serve(ln) //nolint:errcheck // returns on Close
}

func (w *workload) stop() { _ = w.srv.Close() }

// The private topology: a service proxy's tcpListener reaches a workload
// through a workload-side proxy's tcpConnector, across an interior that has
// only its edge listener (no tcpListener, no tcpConnector). Both proxies are
// `edgeproxy run`; fake router by default, real with SKROUTERD. Stopping the
// workload turns the workload-side proxy's connector check red (still
// ready: not required by default) and, the tcpConnector withdrawn, the
// service proxy's tcpListener down; starting it brings traffic back with no
// proxy restarted.
func TestRunConnectorsThroughInterior(t *testing.T) {
	t.Parallel()
	in := routertest.StartInterior(t)
	wl := startWorkload(t)

	// A listener port nothing consumes yet: it stays closed (the negative
	// control for the greeting below).
	svc, svcMgmt, port := routerProxy(t, in, routertest.Controls{})
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(svcMgmt) })
	if err := greets(port, workloadGreeting); err == nil {
		t.Fatal("the service proxy answers before any connector exists")
	}

	work, workMgmt, _ := routerProxy(t, in, routertest.Controls{},
		"EDGEPROXY_LISTENERS=", "EDGEPROXY_CONNECTORS=my-service:8080="+wl.addr,
		"EDGEPROXY_HEALTH__CONNECTOR_INTERVAL=200ms")
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(workMgmt) })
	routertest.Eventually(t, 30*time.Second, func() error { return greets(port, workloadGreeting) })
	for range 20 {
		if err := greets(port, workloadGreeting); err != nil {
			t.Fatalf("through the workload-side proxy: %v", err)
		}
	}
	rows := routertest.MustQuery(t, workMgmt, "tcpConnector", "name", "address")
	if len(rows) != 1 || rows[0]["name"] != "my-service-8080" || rows[0]["address"] != "my-service:8080" {
		t.Errorf("workload-side tcpConnectors: %v", rows)
	}
	if rows := routertest.MustQuery(t, in.MgmtAddr(), "tcpConnector", "name"); len(rows) != 0 {
		t.Errorf("the interior has tcpConnectors: %v", rows)
	}
	workHealth := "http://" + envValue(work.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")
	svcHealth := "http://" + envValue(svc.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")
	verbose := func(base, want string, code int) func() error {
		return func() error {
			got, body := getBody(t, base+"/readyz?verbose")
			if got != code || !strings.Contains(body, want) {
				return fmt.Errorf("%s/readyz?verbose = %d, want %d with %q:\n%s", base, got, code, want, body)
			}
			return nil
		}
	}
	routertest.Eventually(t, 10*time.Second, verbose(workHealth, "[+]connector/my-service-8080 ok\n", 200))

	// The workload stops.
	wl.stop()
	routertest.Eventually(t, 10*time.Second, verbose(workHealth, "[+]connector/my-service-8080 ok: target "+wl.addr+" of my-service:8080 does not accept connections", 200))
	routertest.Eventually(t, 10*time.Second, verbose(workHealth, "tcpConnector withdrawn until it does; not required (health.require_connectors is false)", 200))
	routertest.Eventually(t, 20*time.Second, func() error {
		st, err := routertest.ListenerStatus(svcMgmt, "my-service-8080")
		if err != nil || st != "down" {
			return fmt.Errorf("service proxy's tcpListener %q (%v), want down", st, err)
		}
		return nil
	})
	routertest.Eventually(t, 10*time.Second, verbose(svcHealth, "[+]listener/my-service-8080 ok: operStatus down", 200))
	_, body := getBody(t, workHealth+"/metrics")
	if !strings.Contains(body, `edgeproxy_connector_target_up{address="my-service:8080",name="my-service-8080",target="`+wl.addr+`"} 0`) {
		t.Errorf("metrics lack the target down:\n%s", body)
	}

	// It starts again: traffic is back, no proxy restarted.
	wl.start()
	routertest.Eventually(t, 30*time.Second, func() error { return greets(port, workloadGreeting) })
	routertest.Eventually(t, 10*time.Second, verbose(workHealth, "[+]connector/my-service-8080 ok\n", 200))
	for _, p := range []*proxy{svc, work} {
		if pids := harnessRouterPIDs(t, p.record); len(pids) != 1 {
			t.Errorf("routers started: %v, want one per proxy", pids)
		}
	}
}
