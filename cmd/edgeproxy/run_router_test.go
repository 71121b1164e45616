package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// `edgeproxy run` over the router test harness: the fake skrouterd by
// default, the real one when SKROUTERD names it.

// routerProxy runs edgeproxy with the harness's router binary (controls
// ctl) and an edge link to in; it returns the proxy, its management address
// and its listener port for my-service:8080.
func routerProxy(t *testing.T, in *routertest.Interior, ctl routertest.Controls, extra ...string) (*proxy, string, int) {
	t.Helper()
	if ctl.Record == "" {
		ctl.Record = filepath.Join(t.TempDir(), "record.jsonl")
	}
	mgmt := net.JoinHostPort(routertest.Loopback, strconv.Itoa(routertest.FreePort(t)))
	port := routertest.FreePort(t)
	env := append(routerBaseEnv(t),
		"EDGEPROXY_ROUTER__BINARY="+routertest.Binary(t, ctl),
		"EDGEPROXY_ROUTER__MANAGEMENT="+mgmt,
		"EDGEPROXY_UPLINK__HOST="+in.EdgeHost(),
		"EDGEPROXY_UPLINK__PORT="+strconv.Itoa(in.EdgePort()),
		"EDGEPROXY_LISTENERS="+routertest.Loopback+":"+strconv.Itoa(port)+"=my-service:8080",
		"EDGEPROXY_SUPERVISOR__STOP_TIMEOUT=8s",
	)
	return launchProxy(t, nil, append(env, extra...), ctl.Record), mgmt, port
}

// routerBaseEnv is baseEnv for edgeproxy over a harness router: in real mode
// it also carries what a real skrouterd may need from the test's environment
// (routertest.RouterEnv), as edgeproxy passes its environment on to it.
func routerBaseEnv(t *testing.T) []string {
	return append(routertest.RouterEnv(), baseEnv(t)...)
}

// envValue is the value of key in env (the last one, as os/exec keeps).
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if s, ok := strings.CutPrefix(kv, key+"="); ok {
			v = s
		}
	}
	return v
}

// harnessRouterPIDs are the pids of the routers the harness recorded.
func harnessRouterPIDs(t *testing.T, record string) []int {
	var pids []int
	for _, e := range routertest.Filter(routertest.ReadRecord(t, record), "start") {
		pids = append(pids, e.PID)
	}
	return pids
}

// linkUp checks that the router behind mgmt has its edge link up.
func linkUp(mgmt string) error {
	status, msg, err := routertest.LinkStatus(mgmt)
	if err != nil {
		return err
	}
	if status != "SUCCESS" {
		return fmt.Errorf("edge link %s: %s", status, msg)
	}
	return nil
}

// greets checks that my-service answers through the proxy's listener.
func greets(port int, want string) error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(routertest.Loopback, strconv.Itoa(port)) + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if string(b) != want {
		return fmt.Errorf("got %q, want %q", b, want)
	}
	return nil
}

func TestRunWithRouterKillAndStop(t *testing.T) {
	t.Parallel()
	in := routertest.StartInterior(t)
	svc := in.AddService(t, "my-service:8080")
	// The production restart delay, so the logged times are what a container sees.
	p, mgmt, port := routerProxy(t, in, routertest.Controls{},
		"EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL="+defaults()["supervisor.backoff_initial"].(string),
		"EDGEPROXY_SUPERVISOR__BACKOFF_MAX="+defaults()["supervisor.backoff_max"].(string))

	// Phase 1: the router starts, links up and serves.
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(mgmt) })
	routertest.Eventually(t, 10*time.Second, func() error { return greets(port, svc.Greeting()) })
	first := harnessRouterPIDs(t, p.record)
	if len(first) != 1 {
		t.Fatalf("%d routers recorded, want 1", len(first))
	}

	// Phase 2: SIGKILL the router; a new one comes up with its link.
	killed := time.Now()
	if err := syscall.Kill(first[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var pids []int
	routertest.Eventually(t, 10*time.Second, func() error {
		if pids = harnessRouterPIDs(t, p.record); len(pids) < 2 {
			return fmt.Errorf("no new router yet")
		}
		return nil
	})
	relaunched := time.Since(killed)
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(mgmt) })
	linked := time.Since(killed)
	routertest.Eventually(t, 10*time.Second, func() error { return greets(port, svc.Greeting()) })
	t.Logf("restart: SIGKILL → new router launched %v, edge link up %v, serving %v (real=%v)",
		relaunched.Round(time.Millisecond), linked.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond), routertest.Real())

	// Phase 3: SIGTERM edgeproxy: exit 0, no router left.
	stopping := time.Now()
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	t.Logf("stop: SIGTERM → edgeproxy exited %v", time.Since(stopping).Round(time.Millisecond))
	if err := noRouterLeft(pids); err != nil {
		t.Error(err)
	}
	if recs := p.logRecords("router stopped"); len(recs) != 1 || recs[0]["exit_code"] != float64(0) {
		t.Errorf("stop records %v, want one with exit_code 0", recs)
	}
}

// TestRunWithRouterStartFailures: a configuration the router refuses
// ("skrouterd: ..." and exit 1 at once) makes edgeproxy give up after one
// launch; a management port in use (exit 1 after "required listener
// failed", which another process may release) goes through the restart
// policy. Both as the captures of the real router show them.
func TestRunWithRouterStartFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		refuse       bool
		busyMgmt     bool
		wantLaunches int
		wantReason   string
	}{
		{name: "configuration refused", refuse: true, wantLaunches: 1, wantReason: "Configuration file could not be opened"},
		{name: "management port in use", busyMgmt: true, wantLaunches: 3, wantReason: "3 times in a row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := routertest.StartInterior(t)
			var extra []string
			if tt.busyMgmt {
				busy, err := net.Listen("tcp", routertest.Loopback+":0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { busy.Close() })
				extra = append(extra, "EDGEPROXY_ROUTER__MANAGEMENT="+busy.Addr().String())
			}
			ctl := routertest.Controls{Record: filepath.Join(t.TempDir(), "record.jsonl")}
			if tt.refuse {
				// The router is pointed at a file that does not exist.
				wrapper := filepath.Join(t.TempDir(), "skrouterd")
				script := "#!/bin/sh\nexec '" + routertest.Binary(t, ctl) + "' -c /nonexistent/skrouterd.json\n"
				if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
				extra = append(extra, "EDGEPROXY_ROUTER__BINARY="+wrapper)
			}
			p, _, _ := routerProxy(t, in, ctl, extra...)
			if code := p.wait(t, 20*time.Second); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if n := len(harnessRouterPIDs(t, p.record)); n != tt.wantLaunches {
				t.Errorf("%d launches, want %d", n, tt.wantLaunches)
			}
			if recs := p.logRecords("giving up"); len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["reason"]), tt.wantReason) {
				t.Errorf("give-up records %v, want one with reason ~%q", recs, tt.wantReason)
			}
		})
	}
}
