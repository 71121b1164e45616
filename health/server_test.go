package health

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/poll"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// staticSource serves one fixed snapshot.
type staticSource struct{ snap *Snapshot }

func (s staticSource) Snapshot() *Snapshot { return s.snap }

// probedSnapshot probes state once with the fake management and returns
// the snapshot, with the supervisor status st.
func probedSnapshot(t testing.TB, state routerState, st supervisor.Status) *Snapshot {
	t.Helper()
	p := newTestProber(t, testConfig(false), scenarioTarget, newFakeMgmt(state), newFakeSup(st))
	return p.Probe(context.Background())
}

// testServer serves src on a loopback port; the handler fails the test on
// a panic instead of letting net/http swallow it.
func testServer(t testing.TB, src Source) (*Server, string) {
	t.Helper()
	s := NewServer(src, nil)
	s.now = func() time.Time { return src.Snapshot().At.Add(10 * time.Millisecond) }
	inner := s.http.Handler
	s.http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				t.Errorf("handler panicked on %s %q: %v", r.Method, r.URL, v)
				panic(v)
			}
		}()
		inner.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		// Connections the client opened but never used count as busy for
		// 5 s in http.Server.Shutdown: close them first.
		testHTTP.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, "http://" + ln.Addr().String()
}

var testHTTP = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, url)
}

func do(t testing.TB, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestReadyzAndLivez(t *testing.T) {
	up := probedSnapshot(t, stateLinkUp, running)
	down := probedSnapshot(t, stateInteriorDown, running)
	tests := []struct {
		name string
		snap *Snapshot
		path string
		code int
		body string // exact body
	}{
		{"ready", up, "/readyz", 200, "ok"},
		{"ready verbose", up, "/readyz?verbose", 200, "[+]shutdown ok\n[+]router ok\n[+]management ok\n[+]edge-link ok\n" +
			"[+]listener/my-service ok\n[+]listener/my-tcp-service ok\n[+]poller ok\nreadyz check passed\n"},
		{"verbose=1 counts too", up, "/readyz?verbose=1", 200, "[+]shutdown ok\n[+]router ok\n[+]management ok\n[+]edge-link ok\n" +
			"[+]listener/my-service ok\n[+]listener/my-tcp-service ok\n[+]poller ok\nreadyz check passed\n"},
		{"not ready: reasons withheld", down, "/readyz", 503, "[-]edge-link failed: reason withheld\nreadyz check failed\n"},
		{"not ready verbose", down, "/readyz?verbose", 503, "[+]shutdown ok\n[+]router ok\n[+]management ok\n" +
			"[-]edge-link failed: CONNECTING: Connection to 127.0.0.1:45671 failed: proton:io Connection refused - disconnected 127.0.0.1:45671\n" +
			"[+]listener/my-service ok: operStatus down: no reachable consumer of my-service:8080; not required (health.require_listeners is false)\n" +
			"[+]listener/my-tcp-service ok: operStatus down: no reachable consumer of my-tcp-service:5201; not required (health.require_listeners is false)\n" +
			"[+]poller ok\nreadyz check failed\n"},
		{"exclude the failing check", down, "/readyz?exclude=edge-link", 200, "ok"},
		{"exclude verbose, two ways", down, "/readyz?verbose&exclude=edge-link,listener/my-service&exclude=listener/my-tcp-service&exclude=nosuch", 200,
			"[+]shutdown ok\n[+]router ok\n[+]management ok\n[+]edge-link excluded: ok\n[+]listener/my-service excluded: ok\n" +
				"[+]listener/my-tcp-service excluded: ok\n[+]poller ok\nwarn: some health checks cannot be excluded: no matches for \"nosuch\"\nreadyz check passed\n"},
		{"excluding another check keeps the failure", down, "/readyz?exclude=router", 503, "[-]edge-link failed: reason withheld\nreadyz check failed\n"},
		{"one check", down, "/readyz/edge-link", 503, "[-]edge-link failed: CONNECTING: Connection to 127.0.0.1:45671 failed: proton:io Connection refused - disconnected 127.0.0.1:45671\n"},
		{"one listener check", down, "/readyz/listener/my-service", 200, "ok"},
		{"live while the link is down", down, "/livez?verbose", 200, "[+]supervisor ok\n[+]poller ok\nlivez check passed\n"},
		{"live", up, "/livez", 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, base := testServer(t, staticSource{tt.snap})
			code, body := get(t, base+tt.path)
			if code != tt.code || body != tt.body {
				t.Errorf("GET %s = %d\n%s\nwant %d\n%s", tt.path, code, body, tt.code, tt.body)
			}
		})
	}
}

func TestNotFoundAndBadRequests(t *testing.T) {
	_, base := testServer(t, staticSource{probedSnapshot(t, stateLinkUp, running)})
	tests := []struct {
		method, path string
		code         int
	}{
		{"GET", "/", 404},
		{"GET", "/healthz", 404},
		{"GET", "/readyzz", 404},
		{"GET", "/readyz/nosuch", 404},
		{"GET", "/livez/edge-link", 404},
		{"GET", "/status/x", 404},
		{"POST", "/readyz", 405},
		{"DELETE", "/status", 405},
		{"HEAD", "/readyz", 200},
		{"GET", "/readyz?verbose=%zz&exclude=%", 200},
		{"GET", "/readyz?exclude=" + strings.Repeat("x,", 2000), 200},
		{"GET", "/readyz/%2e%2e/status", 404},
		{"GET", "/metrics?name[]=x", 200},
	}
	for _, tt := range tests {
		if code, _ := do(t, tt.method, base+tt.path); code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, code, tt.code)
		}
	}
	// Malformed requests at the protocol level get 400s, not panics.
	for _, raw := range []string{
		"GARBAGE\r\n\r\n",
		"GET /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET /readyz HTTP/1.1\r\n" + strings.Repeat("X-Big: "+strings.Repeat("a", 1000)+"\r\n", 40) + "\r\n",
		"GET /readyz HTTP/9.9\r\nHost: x\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(conn, raw)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		var proto string
		var code int
		if _, err := fmt.Sscanf(line, "%s %d", &proto, &code); err != nil || code < 400 {
			t.Errorf("%.40q answered %q, want an error status", raw, line)
		}
	}
}

// TestSlowClientIsCut: a client that never finishes its headers is
// disconnected after the read-header timeout.
func TestSlowClientIsCut(t *testing.T) {
	_, base := testServer(t, staticSource{probedSnapshot(t, stateLinkUp, running)})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /readyz HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	_ = conn.SetReadDeadline(time.Now().Add(readHeaderTimeout + 5*time.Second))
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %s", readHeaderTimeout+5*time.Second)
	}
}

func TestStatusJSON(t *testing.T) {
	st := running
	st.StartedAt = time.Now().Add(-90 * time.Second)
	st.Restarts = 2
	st.LastExit = &supervisor.Exit{PID: 4000, Code: 1, At: time.Date(2026, 11, 26, 20, 7, 36, 0, time.UTC), Uptime: 3 * time.Second,
		LastLogs: []string{"skrouterd: boom"}}
	snap := probedSnapshot(t, stateConnectorRemoved, st)
	_, base := testServer(t, staticSource{snap})
	code, body := get(t, base+"/status")
	if code != 200 {
		t.Fatalf("GET /status = %d %s", code, body)
	}
	var d StatusDoc
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	if !d.Ready || !d.Live || d.CheckedAt == nil {
		t.Errorf("ready %v live %v checked %v", d.Ready, d.Live, d.CheckedAt)
	}
	r := d.Router
	if r.PID != 4242 || r.Phase != "running" || r.Restarts != 2 || r.UptimeSeconds < 89 || r.ID != "edge-proxy-1" || r.Version != "0.0.0+e2ec51a4-main" {
		t.Errorf("router = %+v", r)
	}
	if r.LastExit == nil || r.LastExit.PID != 4000 || r.LastExit.Code != 1 || r.LastExit.UptimeSeconds != 3 || r.LastExit.LastLogs[0] != "skrouterd: boom" {
		t.Errorf("last exit = %+v", r.LastExit)
	}
	if len(d.Uplinks) != 1 || d.Uplinks[0] != d.Uplink {
		t.Errorf("uplinks = %+v, want [the uplink in use %+v]", d.Uplinks, d.Uplink)
	}
	u := d.Uplink
	if u.Host != "127.0.0.1" || u.Port != 45671 || u.ConnectionStatus != "SUCCESS" || !strings.HasPrefix(u.ConnectionMsg, "[C1] Connection Opened") || !u.LinkUp || u.Interior != "interior" {
		t.Errorf("uplink = %+v", u)
	}
	want := []ListenerDoc{
		{Name: "my-service", Host: "0.0.0.0", Port: 18080, Address: "my-service:8080", Exists: true, OperStatus: "down", ConnectionsOpened: 56, ConnectionsClosed: 56},
		{Name: "my-tcp-service", Host: "0.0.0.0", Port: 15201, Address: "my-tcp-service:5201", Exists: true, OperStatus: "up", ConnectionsOpened: 4, ConnectionsClosed: 4},
	}
	if fmt.Sprint(d.Listeners) != fmt.Sprint(want) {
		t.Errorf("listeners = %+v\nwant %+v", d.Listeners, want)
	}
	if len(d.Checks["ready"]) != 7 || len(d.Checks["live"]) != 2 {
		t.Errorf("checks = %+v", d.Checks)
	}
	for _, key := range []string{`"connectionStatus"`, `"operStatus"`, `"connectionsOpened"`, `"uptimeSeconds"`, `"lastExit"`, `"version"`} {
		if !strings.Contains(body, key) {
			t.Errorf("/status lacks %s", key)
		}
	}
}

func TestMetrics(t *testing.T) {
	st := running
	st.Restarts = 3
	_, base := testServer(t, staticSource{probedSnapshot(t, stateConnectorRemoved, st)})
	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	value := func(name string, labels map[string]string) (float64, error) {
		f, ok := families[name]
		if !ok {
			return 0, fmt.Errorf("no family %s", name)
		}
	next:
		for _, m := range f.Metric {
			got := map[string]string{}
			for _, lp := range m.Label {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.Counter.GetValue(), nil
			case dto.MetricType_GAUGE:
				return m.Gauge.GetValue(), nil
			}
			return 0, fmt.Errorf("%s has type %s", name, f.GetType())
		}
		return 0, fmt.Errorf("%s has no series %v", name, labels)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
		typ    dto.MetricType
	}{
		{"edgeproxy_router_up", nil, 1, dto.MetricType_GAUGE},
		{"edgeproxy_router_restarts_total", nil, 3, dto.MetricType_COUNTER},
		{"edgeproxy_edge_link_up", nil, 1, dto.MetricType_GAUGE},
		{"edgeproxy_uplink_up", map[string]string{"connector": "uplink", "host": "127.0.0.1", "port": "45671"}, 1, dto.MetricType_GAUGE},
		{"edgeproxy_management_up", nil, 1, dto.MetricType_GAUGE},
		{"edgeproxy_listener_up", map[string]string{"name": "my-service", "address": "my-service:8080"}, 0, dto.MetricType_GAUGE},
		{"edgeproxy_listener_up", map[string]string{"name": "my-tcp-service", "address": "my-tcp-service:5201"}, 1, dto.MetricType_GAUGE},
		{"edgeproxy_listener_connections_opened_total", map[string]string{"name": "my-service"}, 56, dto.MetricType_COUNTER},
		{"edgeproxy_listener_connections_closed_total", map[string]string{"name": "my-tcp-service"}, 4, dto.MetricType_COUNTER},
		{"edgeproxy_ready", nil, 1, dto.MetricType_GAUGE},
		{"edgeproxy_live", nil, 1, dto.MetricType_GAUGE},
		{"edgeproxy_router_info", map[string]string{"id": "edge-proxy-1", "version": "0.0.0+e2ec51a4-main"}, 1, dto.MetricType_GAUGE},
	}
	for _, tt := range tests {
		got, err := value(tt.name, tt.labels)
		if err != nil {
			t.Error(err)
			continue
		}
		if got != tt.want || families[tt.name].GetType() != tt.typ {
			t.Errorf("%s%v = %v (%s), want %v (%s)", tt.name, tt.labels, got, families[tt.name].GetType(), tt.want, tt.typ)
		}
	}
	if _, err := value("edgeproxy_probe_duration_seconds", nil); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes"} {
		if _, ok := families[name]; !ok {
			t.Errorf("no %s (Go/process collectors)", name)
		}
	}
}

// TestMetricsWhenDown: with the link down and management silent, the
// link and listener gauges read 0 (stale data is not reported as up).
func TestMetricsWhenDown(t *testing.T) {
	snap := probedSnapshot(t, routerState{err: &mgmt.TimeoutError{Request: "QUERY x", Timeout: time.Second, Stage: "answer"}}, running)
	_, base := testServer(t, staticSource{snap})
	_, body := get(t, base+"/metrics")
	for _, line := range []string{"edgeproxy_router_up 1", "edgeproxy_management_up 0", "edgeproxy_edge_link_up 0", "edgeproxy_ready 0",
		`edgeproxy_listener_up{address="my-service:8080",name="my-service"} 0`} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// TestScrapesCostTheRouterNothing: 10,000 /readyz requests (and /status,
// /metrics) cause no management traffic: only the poller queries.
func TestScrapesCostTheRouterNothing(t *testing.T) {
	m := newFakeMgmt(stateLinkUp)
	p := newTestProber(t, testConfig(false), scenarioTarget, m, newFakeSup(running))
	p.Probe(context.Background())
	before := m.queries.Load()
	_, base := testServer(t, p)
	const requests = 10_000
	hammer(t, base+"/readyz?verbose", requests)
	get(t, base+"/status")
	get(t, base+"/metrics")
	if after := m.queries.Load(); after != before {
		t.Errorf("%d requests caused %d management queries, want 0", requests, after-before)
	}
	if before != queriesPerProbe {
		t.Errorf("one probe made %d queries, want %d", before, queriesPerProbe)
	}
}

// queriesPerProbe: connector, tcpListener and router; no connection list.
const queriesPerProbe = 3

// hammer sends n GETs to url from 8 workers; every answer's status must
// be one of want (200 when none is given).
func hammer(t testing.TB, url string, n int, want ...int) {
	t.Helper()
	if len(want) == 0 {
		want = []int{http.StatusOK}
	}
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				resp, err := testHTTP.Get(url)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if !slices.Contains(want, resp.StatusCode) {
					errs <- fmt.Errorf("GET %s: status %d, want one of %v", url, resp.StatusCode, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestSilentManagementDoesNotHang: a management port that accepts TCP and
// never answers neither hangs the poller nor the HTTP server; the timeout
// shows in the verbose output.
func TestSilentManagementDoesNotHang(t *testing.T) {
	addr := routertest.StartSilentPeer(t)
	cfg := testConfig(false)
	cfg.Management, cfg.Interval, cfg.Timeout = addr, 200*time.Millisecond, 300*time.Millisecond
	client := mgmt.NewClient(mgmt.ClientConfig{Address: addr, Timeout: cfg.Timeout})
	t.Cleanup(func() { _ = client.Close() })
	p := newTestProber(t, cfg, scenarioTarget, client, newFakeSup(running))
	runProber(t, p)
	s := NewServer(p, nil)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	quick := &http.Client{Timeout: 2 * time.Second} // a hung handler fails the request
	var body string
	poll.Eventually(t, 10*time.Second, func() error {
		resp, err := quick.Get(srv.URL + "/readyz?verbose")
		if err != nil {
			t.Fatalf("/readyz hung: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if resp.StatusCode != 503 || !strings.Contains(body, "[-]management failed: QUERY io.skupper.router.") {
			return fmt.Errorf("%d %s", resp.StatusCode, body)
		}
		return wantProbes(p, 3)
	})
	if !strings.Contains(body, "within 300ms") {
		t.Errorf("verbose output does not report the timeout:\n%s", body)
	}
	t.Logf("silent management:\n%s", body)
}

func BenchmarkReadyzHandler(b *testing.B) {
	for _, path := range []string{"/readyz", "/readyz?verbose", "/metrics"} {
		b.Run(path, func(b *testing.B) {
			s := NewServer(staticSource{probedSnapshot(b, stateLinkUp, running)}, nil)
			h := s.Handler()
			req := httptest.NewRequest("GET", path, nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}

// BenchmarkReadyzHTTP measures /readyz over loopback HTTP with keep-alive.
func BenchmarkReadyzHTTP(b *testing.B) {
	_, base := testServer(b, staticSource{probedSnapshot(b, stateLinkUp, running)})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := testHTTP.Get(base + "/readyz")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
