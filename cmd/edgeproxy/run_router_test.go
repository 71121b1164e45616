package main

import (
	"context"
	"encoding/json"
	"errors"
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

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// `edgeproxy run` over the router test harness: the fake skrouterd by
// default, the real one when SKROUTERD names it.

// routerProxy runs edgeproxy with the harness's router binary (controls
// ctl) and an edge link to in; it returns the proxy, its management address
// and its listener port for my-service:8080.
func routerProxy(t *testing.T, in *routertest.Interior, ctl routertest.Controls, extra ...string) (*proxy, string, int) {
	t.Helper()
	uplink := []string{"EDGEPROXY_UPLINK__HOST=" + in.EdgeHost(), "EDGEPROXY_UPLINK__PORT=" + strconv.Itoa(in.EdgePort())}
	return routerProxyWith(t, uplink, ctl, extra...)
}

// routerProxyWith is routerProxy with the uplink variables given (e.g.
// EDGEPROXY_UPLINKS for several interiors).
func routerProxyWith(t *testing.T, uplink []string, ctl routertest.Controls, extra ...string) (*proxy, string, int) {
	t.Helper()
	if ctl.Record == "" {
		ctl.Record = filepath.Join(t.TempDir(), "record.jsonl")
	}
	mgmt := net.JoinHostPort(routertest.Loopback, strconv.Itoa(routertest.FreePort(t)))
	port := routertest.FreePort(t)
	env := append(routerBaseEnv(t),
		"EDGEPROXY_ROUTER__BINARY="+routertest.Binary(t, ctl),
		"EDGEPROXY_ROUTER__MANAGEMENT="+mgmt,
		"EDGEPROXY_LISTENERS="+routertest.Loopback+":"+strconv.Itoa(port)+"=my-service:8080",
		"EDGEPROXY_SUPERVISOR__STOP_TIMEOUT=8s",
	)
	env = append(env, uplink...)
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
func linkUp(addr string) error {
	status, msg, err := routertest.LinkStatus(addr)
	if err != nil {
		return err
	}
	if !mgmt.LinkOpened(status, msg) {
		return fmt.Errorf("edge link %s: %q", status, msg)
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

// kills is how many times TestRunWithRouterKillAndStop kills a ready router.
const kills = 5

func TestRunWithRouterKillAndStop(t *testing.T) {
	t.Parallel()
	in := routertest.StartInterior(t)
	svc := in.AddService(t, "my-service:8080")
	// The production restart delay, so the logged times are what a container sees.
	p, mgmt, port := routerProxy(t, in, routertest.Controls{},
		"EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL="+defaults()["supervisor.backoff_initial"].(time.Duration).String(),
		"EDGEPROXY_SUPERVISOR__BACKOFF_MAX="+defaults()["supervisor.backoff_max"].(time.Duration).String())

	// Phase 1: the router starts, links up and serves.
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(mgmt) })
	routertest.Eventually(t, 10*time.Second, func() error { return greets(port, svc.Greeting()) })
	first := harnessRouterPIDs(t, p.record)
	if len(first) != 1 {
		t.Fatalf("%d routers recorded, want 1", len(first))
	}

	// Phase 2: five times, once the proxy is ready (so the prober told the
	// supervisor the link is up), SIGKILL the router: each new one is
	// launched at once, not after a growing backoff, and serves again.
	base := "http://" + envValue(p.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")
	pids := first
	for kill := 1; kill <= kills; kill++ {
		routertest.Eventually(t, 10*time.Second, func() error {
			if code, body, err := httpGet(context.Background(), base+"/readyz?verbose"); err != nil || code != http.StatusOK {
				return fmt.Errorf("/readyz %d (%v):\n%s", code, err, body)
			}
			return nil
		})
		killed := time.Now()
		if err := syscall.Kill(pids[len(pids)-1], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		routertest.EventuallyEvery(t, 10*time.Second, 5*time.Millisecond, func() error {
			if n := len(harnessRouterPIDs(t, p.record)); n <= len(pids) {
				return fmt.Errorf("no new router yet")
			}
			return nil
		})
		relaunched := time.Since(killed)
		pids = harnessRouterPIDs(t, p.record)
		routertest.EventuallyEvery(t, 30*time.Second, 5*time.Millisecond, func() error { return linkUp(mgmt) })
		linked := time.Since(killed)
		routertest.EventuallyEvery(t, 10*time.Second, 5*time.Millisecond, func() error { return greets(port, svc.Greeting()) })
		t.Logf("restart %d: SIGKILL → new router launched %v, edge link up %v, serving %v (real=%v)",
			kill, relaunched.Round(time.Millisecond), linked.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond), routertest.Real())
	}
	if recs := p.logRecords("router exited unexpectedly"); len(recs) != kills {
		t.Errorf("%d restart records, want %d", len(recs), kills)
	} else {
		for _, r := range recs {
			if b := fmt.Sprint(r["backoff"]); b != "0" && b != "0s" || r["fast_failures"] != float64(0) {
				t.Errorf("restart of a ready router backed off: %v", r)
			}
		}
	}

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
// ("Router start-up failed: <reason>", then "<argv0>: <reason>", exit 1 at
// once) makes edgeproxy give up after one launch with the router's reason,
// whether router.binary is a bare name found on PATH or an absolute path.
func TestRunWithRouterStartFailures(t *testing.T) {
	t.Parallel()
	for _, bare := range []bool{false, true} {
		name := "absolute path"
		if bare {
			name = "bare name on PATH"
		}
		t.Run("configuration refused/"+name, func(t *testing.T) {
			t.Parallel()
			in := routertest.StartInterior(t)
			// The router is pointed at a file that does not exist.
			ctl := routertest.Controls{Record: filepath.Join(t.TempDir(), "record.jsonl"), ConfigFile: "/nonexistent/skrouterd.json"}
			var extra []string
			if bare {
				ctl.Argv0 = "skrouterd"
				bin := routertest.Binary(t, ctl)
				extra = append(extra, "EDGEPROXY_ROUTER__BINARY=skrouterd", "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
			} else {
				extra = append(extra, "EDGEPROXY_ROUTER__BINARY="+routertest.Binary(t, ctl))
			}
			p, _, _ := routerProxy(t, in, ctl, extra...)
			if code := p.wait(t, 20*time.Second); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if n := len(harnessRouterPIDs(t, p.record)); n != 1 {
				t.Errorf("%d launches, want 1", n)
			}
			const want = "the router refused its configuration: Not found: Configuration file could not be opened"
			if recs := p.logRecords("giving up on the router"); len(recs) != 1 || recs[0]["reason"] != want {
				t.Errorf("give-up records %v, want one with reason %q", recs, want)
			}
		})
	}
}

// TestRunWithRouterManagementPortTaken: a management port another process
// holds. At start, edgeproxy refuses it (exit 2, nothing written or
// launched). Taken between that check and the router's own bind, the router
// logs "Listener error on ..." and runs on with no management (the real
// router does not exit): edgeproxy says so in /readyz?verbose and /status
// for supervisor.ListenerFailGrace, then stops the router and exits 1.
func TestRunWithRouterManagementPortTaken(t *testing.T) {
	t.Parallel()
	t.Run("at start", func(t *testing.T) {
		t.Parallel()
		in := routertest.StartInterior(t)
		busy, err := net.Listen("tcp", routertest.Loopback+":0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { busy.Close() })
		ctl := routertest.Controls{Record: filepath.Join(t.TempDir(), "record.jsonl")}
		p, _, _ := routerProxy(t, in, ctl, "EDGEPROXY_ROUTER__MANAGEMENT="+busy.Addr().String())
		if code := p.wait(t, 20*time.Second); code != exitUsage {
			t.Errorf("exit code %d, want %d", code, exitUsage)
		}
		if got := p.stderr.String(); !strings.Contains(got, "router.management: the port is already in use") {
			t.Errorf("stderr does not name router.management and the port in use:\n%s", got)
		}
		if events := routertest.ReadRecord(t, p.record); len(events) != 0 {
			t.Errorf("router launched: %v", events)
		}
		if _, err := os.Stat(envValue(p.cmd.Env, "EDGEPROXY_ROUTER__CONFIG_FILE")); !os.IsNotExist(err) {
			t.Errorf("router configuration written (stat: %v)", err)
		}
	})
	t.Run("taken while the router starts", func(t *testing.T) {
		t.Parallel()
		in := routertest.StartInterior(t)
		ctl := routertest.Controls{Record: filepath.Join(t.TempDir(), "record.jsonl"), StartDelay: time.Second}
		p, mgmt, _ := routerProxy(t, in, ctl)
		// The router sleeps before it reads its configuration: take the port then.
		routertest.Eventually(t, 10*time.Second, func() error {
			if len(harnessRouterPIDs(t, p.record)) == 0 {
				return fmt.Errorf("router not started yet")
			}
			return nil
		})
		busy, err := net.Listen("tcp", mgmt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { busy.Close() })
		const want = "the router cannot open its management listener (router.management) on " // + host:port
		base := "http://" + envValue(p.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")
		// A real router may also exit at once ("required listener failed",
		// a race inside it): then there is no time to watch /readyz.
		err = routertest.Poll(15*time.Second, func() error {
			select {
			case <-p.done:
				return errExited
			default:
			}
			code, body, err := httpGet(context.Background(), base+"/readyz?verbose")
			if err != nil {
				return err
			}
			if code != http.StatusServiceUnavailable || !strings.Contains(body, want+mgmt+": Address already in use") {
				return fmt.Errorf("/readyz?verbose %d:\n%s", code, body)
			}
			var doc health.StatusDoc
			if _, body, err = httpGet(context.Background(), base+"/status"); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &doc); err != nil || !strings.HasPrefix(doc.Router.Problem, want+mgmt) {
				return fmt.Errorf("/status router.problem %q (%v), want %q…", doc.Router.Problem, err, want+mgmt)
			}
			return nil
		})
		switch {
		case errors.Is(err, errExited) && routertest.Real() && strings.Contains(p.stderr.String(), "Shutting down, required listener failed"):
			t.Logf("this run the router exited by itself after the listener error")
		case err != nil:
			t.Fatal(err)
		}
		if code := p.wait(t, 20*time.Second); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		if n := len(harnessRouterPIDs(t, p.record)); n != 1 {
			t.Errorf("%d launches, want 1", n)
		}
		if recs := p.logRecords("giving up on the router"); len(recs) != 1 || !strings.HasPrefix(fmt.Sprint(recs[0]["reason"]), want+mgmt) {
			t.Errorf("give-up records %v, want one with reason %q…", recs, want+mgmt)
		}
	})
}

// errExited stops a poll when edgeproxy has exited.
var errExited = errors.New("edgeproxy exited")

// TestRunWithRouterMutualTLS: an interior whose edge listener wants mutual
// TLS with SASL EXTERNAL, as a Skupper site's does, and edgeproxy given
// uplink.tls. A client certificate from the interior's CA links and carries
// traffic; one from another CA leaves the proxy not ready, with the TLS
// reason in /readyz?verbose. The fake accepts the TLS configuration and
// links in plain TCP, so the second case needs a real router.
func TestRunWithRouterMutualTLS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		wrongCA   bool
		wantReady bool
	}{
		{name: "client certificate from the interior's CA", wantReady: true},
		{name: "client certificate from another CA", wrongCA: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.wrongCA {
				routertest.RequireReal(t, "the fake links in plain TCP whatever the certificates")
			}
			ca := routertest.NewCA(t, "site")
			server := ca.Issue(t, routertest.Loopback) // the uplink host, for verify_hostname
			client := ca.Issue(t, "edge-proxy")
			if tc.wrongCA {
				client = routertest.NewCA(t, "other").Issue(t, "edge-proxy")
				client.CAFile = ca.CertFile // the proxy still trusts the interior
			}
			in := routertest.StartInteriorTLS(t, &server)
			svc := in.AddService(t, "my-service:8080")
			ctl := routertest.Controls{Record: filepath.Join(t.TempDir(), "record.jsonl")}
			p, mgmt, port := routerProxy(t, in, ctl,
				"EDGEPROXY_UPLINK__TLS__CA_FILE="+client.CAFile,
				"EDGEPROXY_UPLINK__TLS__CERT_FILE="+client.CertFile,
				"EDGEPROXY_UPLINK__TLS__KEY_FILE="+client.KeyFile)
			base := "http://" + envValue(p.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")
			if tc.wantReady {
				routertest.Eventually(t, 30*time.Second, func() error { return linkUp(mgmt) })
				routertest.Eventually(t, 10*time.Second, func() error { return greets(port, svc.Greeting()) })
				routertest.Eventually(t, 10*time.Second, func() error {
					if code, body, err := httpGet(context.Background(), base+"/readyz?verbose"); err != nil || code != http.StatusOK {
						return fmt.Errorf("/readyz %d (%v):\n%s", code, err, body)
					}
					return nil
				})
				if status, msg, err := routertest.LinkStatus(mgmt); err != nil || !strings.Contains(msg, "encrypted=TLS") && routertest.Real() {
					t.Errorf("link %s %q (%v), want an encrypted link", status, msg, err)
				}
				return
			}
			// The router reports the TLS failure as the connector's message.
			routertest.Eventually(t, 30*time.Second, func() error {
				code, body, err := httpGet(context.Background(), base+"/readyz?verbose")
				if err != nil {
					return err
				}
				if code != http.StatusServiceUnavailable || !strings.Contains(body, "[-]edge-link failed: CONNECTING: ") || !strings.Contains(body, "SSL Failure") {
					return fmt.Errorf("/readyz?verbose %d:\n%s", code, body)
				}
				return nil
			})
			if err := greets(port, svc.Greeting()); err == nil {
				t.Errorf("traffic flows through a link with the wrong certificate")
			}
		})
	}
}
