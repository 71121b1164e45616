package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/poll"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// TestReadinessFollowsEdgeLink follows the edge link against the router
// harness (fake by default, real with SKROUTERD), with the default interval
// and timeout of 1 s, and logs how long each step took (make bench measures
// them; the deadlines are only generous bounds):
//   - /readyz turns 200 once the edge link opens;
//   - after the interior stops it turns 503, and ?verbose names the link and
//     the router's message;
//   - when the interior returns it is 200 again.
func TestReadinessFollowsEdgeLink(t *testing.T) {
	for _, tt := range []struct {
		name   string
		events time.Duration // health.listener_interval; 0: events off
	}{{"events", 10 * time.Second}, {"polling", 0}} {
		t.Run(tt.name, func(t *testing.T) { testReadinessFollowsEdgeLink(t, tt.events) })
	}
}

func testReadinessFollowsEdgeLink(t *testing.T, listenerInterval time.Duration) {
	sc := routertest.StartScenario(t, routertest.Controls{})
	cfg := Config{Management: sc.Edge.MgmtAddr, Interval: time.Second, Timeout: time.Second, ListenerInterval: listenerInterval}
	client := mgmt.NewClient(mgmt.ClientConfig{Address: cfg.Management, Timeout: cfg.Timeout})
	t.Cleanup(func() { _ = client.Close() })
	sup := newFakeSup(supervisor.Status{Phase: supervisor.PhaseRunning, PID: sc.Edge.PID(), StartedAt: time.Now()})
	target := Target{Uplinks: []UplinkTarget{{Connector: "uplink", Host: "127.0.0.1", Port: sc.Interior.EdgePort()}},
		Listeners: []ListenerSpec{{Name: sc.Listener.Name, Host: "127.0.0.1", Port: sc.Listener.Port, Address: sc.Listener.Address}}}
	p := newTestProber(t, cfg, target, client, sup)
	srv := httptest.NewServer(NewServer(p, nil).Handler())
	t.Cleanup(srv.Close)
	runProber(t, p)
	readyz := func() (int, string) { return get(t, srv.URL+"/readyz?verbose") }
	expect := func(code int) func() error {
		return func() error {
			if got, body := readyz(); got != code {
				return fmt.Errorf("/readyz %d, want %d:\n%s", got, code, body)
			}
			return nil
		}
	}

	// Deadlines here are generous bounds for a busy machine; the times are
	// logged (and measured by make bench), never asserted.
	// 1. The link opens: ready.
	sc.Edge.WaitLink(t, "SUCCESS", 10*time.Second)
	linkUp := time.Now()
	routertest.Eventually(t, 10*time.Second, expect(http.StatusOK))
	t.Logf("ready %s after the harness saw the link open", time.Since(linkUp).Round(time.Millisecond))

	// 2. The interior stops: 503, naming the link. With events on, they are
	// followed by then (the router answers FLUSH 2 s after its start).
	if listenerInterval > 0 {
		poll.Eventually(t, 10*time.Second, func() error {
			if !p.eventsLive.Load() {
				return errors.New("the router's flow records are not followed")
			}
			return nil
		})
	}
	if listenerInterval > 0 {
		// A timed probe while the events follow the link reads only the
		// tcpListeners: one QUERY, the link and router id kept.
		poll.Eventually(t, 10*time.Second, func() error {
			before := client.Requests()
			s := p.Probe(context.Background())
			if got := client.Requests() - before; got != 1 {
				return fmt.Errorf("a timed probe sent %d requests, want 1 (or another probe ran meanwhile)", got)
			}
			if !s.Ready(time.Now()) || s.RouterID != sc.Spec.ID {
				return fmt.Errorf("after a listeners-only probe: ready %v, router id %q", s.Ready(time.Now()), s.RouterID)
			}
			return nil
		})
	}
	sc.Interior.Stop()
	stopped := time.Now()
	routertest.Eventually(t, 10*time.Second, expect(http.StatusServiceUnavailable))
	t.Logf("not ready %s after the interior stopped", time.Since(stopped).Round(time.Millisecond))
	_, body := readyz()
	if !strings.Contains(body, "[-]edge-link failed: ") {
		t.Errorf("verbose output does not name the link:\n%s", body)
	}
	// The router's own message (connectionStatus: connectionMsg) shows, once
	// the router has written its failure there (at once, or at its first
	// retry 2 s later).
	routertest.Eventually(t, 5*time.Second, func() error {
		st, msg, err := routertest.LinkStatus(sc.Edge.MgmtAddr)
		if err != nil {
			return err
		}
		want := fmt.Sprintf("[-]edge-link failed: %s: %s\n", st, msg)
		failed := fmt.Sprintf("Connection to 127.0.0.1:%d failed", sc.Interior.EdgePort())
		if _, body = readyz(); !strings.Contains(body, want) || !strings.Contains(body, failed) {
			return fmt.Errorf("verbose output lacks %q with %q:\n%s", want, failed, body)
		}
		return nil
	})
	t.Logf("verbose while down:\n%s", body)

	// 3. The interior returns: 200 again.
	sc.Interior.Start()
	restarted := time.Now()
	sc.Edge.WaitLink(t, "SUCCESS", 10*time.Second)
	linkBack := time.Now()
	routertest.Eventually(t, 10*time.Second, expect(http.StatusOK))
	t.Logf("link reopened %s after the interior returned; ready %s after that",
		linkBack.Sub(restarted).Round(time.Millisecond), time.Since(linkBack).Round(time.Millisecond))

	s := p.Snapshot()
	t.Logf("last probe took %s (router %s, version %s)", s.ProbeDuration, s.RouterID, s.RouterVersion)
	if s.RouterID != sc.Spec.ID || s.RouterVersion == "" {
		t.Errorf("router id %q version %q", s.RouterID, s.RouterVersion)
	}
}

// TestReadinessAfterRouterRestart: the supervisor replaces the router (new
// pid); the prober reconnects at once and is ready again without waiting
// out a backoff.
func TestReadinessAfterRouterRestart(t *testing.T) {
	sc := routertest.StartScenario(t, routertest.Controls{})
	cfg := Config{Management: sc.Edge.MgmtAddr, Interval: time.Second, Timeout: time.Second}
	// A reconnect backoff far beyond the test's deadlines: readiness in time
	// proves the new router's pid cleared it, not that a backoff ran out.
	client := mgmt.NewClient(mgmt.ClientConfig{Address: cfg.Management, Timeout: cfg.Timeout,
		BackoffInitial: 10 * time.Minute, BackoffMax: 10 * time.Minute})
	t.Cleanup(func() { _ = client.Close() })
	sup := newFakeSup(supervisor.Status{Phase: supervisor.PhaseRunning, PID: sc.Edge.PID(), StartedAt: time.Now()})
	p := newTestProber(t, cfg, Target{Uplinks: []UplinkTarget{{Connector: "uplink"}}}, client, sup)
	runProber(t, p)
	ready := func() error {
		if s := p.Snapshot(); !s.Ready(time.Now()) {
			return fmt.Errorf("not ready: %s", failing(s, time.Now(), true))
		}
		return nil
	}
	routertest.Eventually(t, 10*time.Second, ready)

	sup.set(supervisor.Status{Phase: supervisor.PhaseBackingOff, Restarts: 1})
	sc.Edge.Stop(5 * time.Second)
	if p.Snapshot().Ready(time.Now()) {
		t.Error("ready while the router is backing off")
	}
	// A call while no router answers puts the client into its backoff.
	routertest.Eventually(t, 10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := client.Query(ctx, mgmt.EntityRouter, "id"); err == nil {
			return errors.New("the stopped router still answers")
		}
		return nil
	})
	sc.Edge = routertest.StartEdge(t, sc.Config, routertest.Controls{})
	sup.set(supervisor.Status{Phase: supervisor.PhaseRunning, PID: sc.Edge.PID(), StartedAt: time.Now(), Restarts: 1})
	start := time.Now()
	routertest.Eventually(t, 30*time.Second, ready)
	t.Logf("ready %s after the new router was launched", time.Since(start).Round(time.Millisecond))
}

// BenchmarkProbe measures one probe (three concurrent QUERYs on the
// long-lived connection) against the harness router.
func BenchmarkProbe(b *testing.B) {
	in := routertest.StartInterior(b)
	spec := routertest.EdgeSpec{ID: "edge-bench", Management: routertest.FreePort(b), Uplink: in.EdgeAddr()}
	e := routertest.StartEdge(b, routertest.WriteEdgeConfig(b, spec), routertest.Controls{})
	e.WaitReady(b)
	client := mgmt.NewClient(mgmt.ClientConfig{Address: e.MgmtAddr, Timeout: 2 * time.Second})
	b.Cleanup(func() { _ = client.Close() })
	sup := newFakeSup(supervisor.Status{Phase: supervisor.PhaseRunning, PID: e.PID()})
	p := newTestProber(b, Config{Management: e.MgmtAddr, Interval: time.Second, Timeout: 2 * time.Second}, Target{Uplinks: []UplinkTarget{{Connector: "uplink"}}}, client, sup)
	if s := p.Probe(context.Background()); !s.ManagementOK {
		b.Fatal(s.ManagementError)
	}
	b.ResetTimer()
	for b.Loop() {
		if s := p.Probe(context.Background()); !s.ManagementOK {
			b.Fatal(s.ManagementError)
		}
	}
}

// TestScrapesWithRouter: with the poller running against the harness
// router, 10,000 /readyz requests add no management requests: every
// request the client sent belongs to a probe (four per probe).
func TestScrapesWithRouter(t *testing.T) {
	sc := routertest.StartScenario(t, routertest.Controls{})
	cfg := Config{Management: sc.Edge.MgmtAddr, Interval: 200 * time.Millisecond, Timeout: time.Second}
	client := mgmt.NewClient(mgmt.ClientConfig{Address: cfg.Management, Timeout: cfg.Timeout})
	t.Cleanup(func() { _ = client.Close() })
	sup := newFakeSup(supervisor.Status{Phase: supervisor.PhaseRunning, PID: sc.Edge.PID(), StartedAt: time.Now()})
	p := newTestProber(t, cfg, Target{Uplinks: []UplinkTarget{{Connector: "uplink"}}}, client, sup)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	_, base := testServer(t, p)
	const requests = 10_000
	routertest.Eventually(t, 10*time.Second, func() error { // hammer wants 200s
		if s := p.Snapshot(); !s.Ready(time.Now()) {
			return fmt.Errorf("not ready: %s", failing(s, time.Now(), true))
		}
		return nil
	})
	// What is measured is the management traffic, not readiness: on a busy
	// machine a probe may time out under this load and turn the proxy
	// not-ready for a moment, which is a correct answer too.
	hammer(t, base+"/readyz", requests, http.StatusOK, http.StatusServiceUnavailable)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	probes, sent := p.Probes(), client.Requests()
	t.Logf("%d /readyz requests; %d probes sent %d management requests", requests, probes, sent)
	// At most queriesPerProbe per probe: HTTP adds none. Fewer is right
	// when a probe under this load timed out: the client then drops the
	// connection, and a probe during its reconnect backoff sends nothing.
	if sent > queriesPerProbe*probes || sent < queriesPerProbe {
		t.Errorf("%d management requests for %d probes, want at most %d per probe and none for HTTP", sent, probes, queriesPerProbe)
	}
	if probes < 2 {
		t.Errorf("only %d probes: the poller did not run alongside the requests", probes)
	}
}

// BenchmarkProbeOpenFlows measures one probe while N idle TCP flows are held
// open through the edge router's tcpListener: each flow is a connection row
// in the router, which the probe does not list, so its cost must not grow
// with N. Run it with a real router (SKROUTERD) for meaningful numbers.
func BenchmarkProbeOpenFlows(b *testing.B) {
	for _, flows := range []int{0, 1000, 3000} {
		b.Run(fmt.Sprintf("flows=%d", flows), func(b *testing.B) {
			if flows > 1000 && !routertest.Real() {
				b.Skip("the fake forwards each flow with threads of its own; 3000 needs a real router")
			}
			in := routertest.StartInterior(b)
			svc := in.AddService(b, "my-service:8080")
			l := routertest.Listener{Name: "my-service", Port: routertest.FreePort(b), Address: svc.Address}
			spec := routertest.EdgeSpec{ID: "edge-bench", Management: routertest.FreePort(b), Uplink: in.EdgeAddr(), Listeners: []routertest.Listener{l}}
			e := routertest.StartEdge(b, routertest.WriteEdgeConfig(b, spec), routertest.Controls{})
			e.WaitReady(b)
			e.WaitListener(b, l.Name, "up", 20*time.Second)
			addr := net.JoinHostPort(routertest.Loopback, strconv.Itoa(l.Port))
			for range flows {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					b.Fatalf("flow: %v", err)
				}
				b.Cleanup(func() { c.Close() })
			}
			client := mgmt.NewClient(mgmt.ClientConfig{Address: e.MgmtAddr, Timeout: 5 * time.Second})
			b.Cleanup(func() { _ = client.Close() })
			sup := newFakeSup(supervisor.Status{Phase: supervisor.PhaseRunning, PID: e.PID()})
			p := newTestProber(b, Config{Management: e.MgmtAddr, Interval: time.Second, Timeout: 5 * time.Second},
				Target{Uplinks: []UplinkTarget{{Connector: "uplink"}}, Listeners: []ListenerSpec{{Name: l.Name, Host: routertest.Loopback, Port: l.Port, Address: l.Address}}}, client, sup)
			if s := p.Probe(context.Background()); !s.ManagementOK {
				b.Fatal(s.ManagementError)
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap := ms.HeapAlloc
			b.ResetTimer()
			for b.Loop() {
				if s := p.Probe(context.Background()); !s.ManagementOK {
					b.Fatal(s.ManagementError)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(heap))/(1<<20), "heap-growth-MiB")
		})
	}
}
