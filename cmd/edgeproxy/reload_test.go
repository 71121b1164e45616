package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
	"github.com/edgeproxy/edgeproxy/routerconf"
	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

// memRouter is a router's runtime entities in memory, as management sees
// them; failCreate makes that many CREATEs of the named entity fail with
// the router's 500.
type memRouter struct {
	mu         sync.Mutex
	entities   map[string]map[string]mgmt.Record // long type → name → record
	failCreate map[string]int
	calls      []string
}

func newMemRouter() *memRouter {
	return &memRouter{entities: map[string]map[string]mgmt.Record{}, failCreate: map[string]int{}}
}

func (m *memRouter) Query(_ context.Context, typ string, _ ...string) ([]mgmt.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mgmt.Record
	for _, r := range m.entities[typ] {
		out = append(out, r)
	}
	return out, nil
}

func (m *memRouter) Create(_ context.Context, typ, name string, attrs map[string]any) (mgmt.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "CREATE "+name)
	if m.failCreate[name] > 0 {
		m.failCreate[name]--
		return nil, &mgmt.StatusError{Request: "CREATE " + typ + " " + name, Code: 500, Description: "CError: refused"}
	}
	if m.entities[typ] == nil {
		m.entities[typ] = map[string]mgmt.Record{}
	}
	if _, dup := m.entities[typ][name]; dup {
		return nil, &mgmt.StatusError{Request: "CREATE " + typ + " " + name, Code: 400, Description: "duplicate name"}
	}
	r := mgmt.Record{"name": name}
	for k, v := range attrs {
		r[k] = v
	}
	m.entities[typ][name] = r
	return r, nil
}

func (m *memRouter) Update(_ context.Context, typ, name string, attrs map[string]any) (mgmt.Record, error) {
	return mgmt.Record{"name": name}, nil
}

func (m *memRouter) Delete(_ context.Context, typ, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "DELETE "+name)
	if _, ok := m.entities[typ][name]; !ok {
		return &mgmt.StatusError{Request: "DELETE " + typ + " " + name, Code: 404, Description: "Not Found"}
	}
	delete(m.entities[typ], name)
	return nil
}

func (m *memRouter) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, byName := range m.entities {
		for n := range byName {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

type stubTarget struct {
	reload   health.ReloadStatus
	withheld map[string]bool // tcpConnector names the gate keeps out
}

func (s *stubTarget) SetTarget(health.Target)            {}
func (s *stubTarget) SetReload(r health.ReloadStatus)    { s.reload = r }
func (s *stubTarget) Withholds(e routerconf.Entity) bool { return s.withheld[e.Name()] }

type stubRestarter struct{ reasons []string }

func (s *stubRestarter) Restart(reason string) { s.reasons = append(s.reasons, reason) }
func (s *stubRestarter) SetManagement(string)  {}

// newTestReloader is a reloader of the YAML file with listeners over an
// in-memory router that has the running configuration's entities.
func newTestReloader(t *testing.T, yaml string) (*reloader, *memRouter, *stubTarget, *stubRestarter, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "edgeproxy.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	rendered := filepath.Join(dir, "skrouterd.json")
	c := &cli{opts: options{configFile: cfg}, environ: []string{"EDGEPROXY_ROUTER__CONFIG_FILE=" + rendered}}
	s, err := c.load()
	if err != nil {
		t.Fatal(err)
	}
	logs := &supervisortest.LogBuffer{}
	target, sup := &stubTarget{}, &stubRestarter{}
	r, err := newReloader(c, s, slog.New(slog.NewJSONHandler(logs, nil)), sup, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.watcher.Close()
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	})
	m := newMemRouter()
	r.m = m
	for _, e := range r.entities {
		if e.Type == "tcpListener" || e.Type == "tcpConnector" {
			if _, err := m.Create(context.Background(), "io.skupper.router."+e.Type, e.Name(), e.Map()); err != nil {
				t.Fatal(err)
			}
		}
	}
	m.calls = nil
	return r, m, target, sup, cfg
}

func listenersYAML(ports map[string]int, names ...string) string {
	var b strings.Builder
	b.WriteString("listeners:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: %s\n    host: 127.0.0.1\n    port: %d\n    address: %s:80\n", n, ports[n], n)
	}
	return b.String()
}

// TestReloadFailureConverges: a CREATE that fails is followed by converging
// the router to the new set (the half-applied plan is finished); one that
// keeps failing ends with the router restored to the running set, the file
// untouched and the reload reported failed.
func TestReloadFailureConverges(t *testing.T) {
	t.Parallel()
	ports := map[string]int{"keep": routertest.FreePort(t), "gone": routertest.FreePort(t), "added": routertest.FreePort(t)}
	for _, tc := range []struct {
		name      string
		failures  int
		wantOK    bool
		wantNames []string
	}{
		{name: "fails once, then converges", failures: 1, wantOK: true, wantNames: []string{"added", "keep"}},
		{name: "keeps failing: restored", failures: 100, wantOK: false, wantNames: []string{"gone", "keep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, m, target, sup, cfg := newTestReloader(t, listenersYAML(ports, "keep", "gone"))
			file := r.cur.Supervisor.ConfigFile
			if err := r.write(r.cur); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(file)
			m.failCreate["added"] = tc.failures
			if err := os.WriteFile(cfg, []byte(listenersYAML(ports, "keep", "added")), 0o600); err != nil {
				t.Fatal(err)
			}
			r.reload(context.Background(), "test")
			if got := m.names(); !slices.Equal(got, tc.wantNames) {
				t.Errorf("router has %v, want %v (calls %v)", got, tc.wantNames, m.calls)
			}
			if slices.Contains(m.calls, "DELETE keep") || slices.Contains(m.calls, "CREATE keep") {
				t.Errorf("the unchanged listener was touched: %v", m.calls)
			}
			if target.reload.OK != tc.wantOK {
				t.Errorf("reload status %+v, want ok=%v", target.reload, tc.wantOK)
			}
			after, _ := os.ReadFile(file)
			if changed := string(after) != string(before); changed != tc.wantOK {
				t.Errorf("router.config_file changed=%v, want %v", changed, tc.wantOK)
			}
			if !tc.wantOK && !strings.Contains(target.reload.Error, "restored the running configuration") {
				t.Errorf("error %q", target.reload.Error)
			}
			if len(sup.reasons) != 0 {
				t.Errorf("restarts %v", sup.reasons)
			}
		})
	}
}

// TestReloadLeavesWithheldConnectorsOut: converging after a failed step
// does not create a tcpConnector the connector gate has withdrawn (its
// target refuses); without the gate's word (the negative control) the same
// converge creates it.
func TestReloadLeavesWithheldConnectorsOut(t *testing.T) {
	t.Parallel()
	ports := map[string]int{"keep": routertest.FreePort(t), "added": routertest.FreePort(t)}
	yaml := func(listeners ...string) string {
		return listenersYAML(ports, listeners...) +
			fmt.Sprintf("connectors:\n  - name: db\n    host: 127.0.0.1\n    port: %d\n    address: db:5432\n", routertest.FreePort(t))
	}
	for _, tc := range []struct {
		name      string
		withheld  bool
		wantNames []string
	}{
		{name: "withheld", withheld: true, wantNames: []string{"added", "keep"}},
		{name: "not withheld", withheld: false, wantNames: []string{"added", "db", "keep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, m, target, _, cfg := newTestReloader(t, yaml("keep"))
			// The gate withdrew db: the router does not have it.
			if err := m.Delete(context.Background(), "io.skupper.router.tcpConnector", "db"); err != nil {
				t.Fatal(err)
			}
			target.withheld = map[string]bool{"db": tc.withheld}
			m.failCreate["added"] = 1 // the plan fails: the reload converges
			if err := os.WriteFile(cfg, []byte(yaml("keep", "added")), 0o600); err != nil {
				t.Fatal(err)
			}
			r.reload(context.Background(), "test")
			if !target.reload.OK {
				t.Fatalf("reload failed: %+v", target.reload)
			}
			if got := m.names(); !slices.Equal(got, tc.wantNames) {
				t.Errorf("router has %v, want %v (calls %v)", got, tc.wantNames, m.calls)
			}
		})
	}
}

// TestReloadRestartOrNot: what needs a restart asks for one, what does not
// never does, and edgeproxy's own sections are kept.
func TestReloadRestartOrNot(t *testing.T) {
	t.Parallel()
	ports := map[string]int{"keep": routertest.FreePort(t)}
	base := listenersYAML(ports, "keep")
	for _, tc := range []struct {
		name, yaml  string
		wantRestart string
		wantApplied string
	}{
		{name: "nothing", yaml: base, wantApplied: "unchanged"},
		{name: "health interval kept", yaml: base + "health:\n  interval: 5s\n", wantApplied: "unchanged"},
		{name: "worker threads", yaml: base + "router:\n  worker_threads: 2\n", wantRestart: "router/: workerThreads changed"},
		{name: "uplink port", yaml: base + "uplink:\n  port: 45672\n", wantRestart: "connector/uplink: port changed"},
		{name: "management", yaml: base + "router:\n  management: 127.0.0.1:5673\n", wantRestart: "listener/management: port changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _, target, sup, cfg := newTestReloader(t, base)
			if err := os.WriteFile(cfg, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			r.reload(context.Background(), "test")
			if !target.reload.OK {
				t.Fatalf("reload %+v", target.reload)
			}
			switch {
			case tc.wantRestart == "" && len(sup.reasons) > 0:
				t.Errorf("restarted: %v", sup.reasons)
			case tc.wantRestart != "" && (len(sup.reasons) != 1 || !strings.Contains(sup.reasons[0], tc.wantRestart)):
				t.Errorf("restarts %v, want one for %q", sup.reasons, tc.wantRestart)
			case tc.wantApplied != "" && target.reload.Applied != tc.wantApplied:
				t.Errorf("applied %q, want %q", target.reload.Applied, tc.wantApplied)
			}
			if tc.name == "health interval kept" && r.cur.Health.Interval.String() != "1s" {
				t.Errorf("health.interval %s, want the running 1s", r.cur.Health.Interval)
			}
		})
	}
}
