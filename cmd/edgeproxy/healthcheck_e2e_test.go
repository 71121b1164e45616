package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// TestHealthcheckWithRouter runs `edgeproxy run` over the router harness
// (fake, or real with SKROUTERD) and follows `edgeproxy healthcheck` and
// /status through the link going down and up and a router crash.
func TestHealthcheckWithRouter(t *testing.T) {
	t.Parallel()
	in := routertest.StartInterior(t)
	in.AddService(t, "my-service:8080")
	p, mgmt, _ := routerProxy(t, in, routertest.Controls{})
	env := p.cmd.Env
	check := func(want int, args ...string) func() error {
		return func() error {
			var out, errb bytes.Buffer
			if code := realMain(append([]string{"healthcheck"}, args...), env, &out, &errb); code != want {
				return fmt.Errorf("healthcheck %v exit %d, want %d: %s%s", args, code, want, out.String(), errb.String())
			}
			return nil
		}
	}
	status := func() health.StatusDoc {
		t.Helper()
		var s health.StatusDoc
		listen := envValue(env, "EDGEPROXY_HEALTH__LISTEN")
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + listen + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// 1. The router starts and links up: ready.
	routertest.Eventually(t, 30*time.Second, check(0))
	// Ready needs the link; the tcpListener turns up a moment later, once the
	// interior's tcpConnector for its address has reached the edge (a listener
	// that is down is not required by default), so /status is polled for it.
	var s health.StatusDoc
	pids := harnessRouterPIDs(t, p.record)
	routertest.Eventually(t, 10*time.Second, func() error {
		s = status()
		if len(pids) != 1 || s.Router.PID != pids[0] || s.Router.Version == "" || s.Uplink.ConnectionStatus != "SUCCESS" ||
			len(s.Listeners) != 1 || s.Listeners[0].OperStatus != "up" {
			return fmt.Errorf("/status = %+v (router pids %v)", s, pids)
		}
		return nil
	})

	// 2. The interior stops: not ready (exit 1, naming the link), still live.
	in.Stop()
	stopped := time.Now()
	routertest.Eventually(t, 10*time.Second, check(1))
	t.Logf("healthcheck failed %s after the interior stopped", time.Since(stopped).Round(time.Millisecond))
	var out, errb bytes.Buffer
	realMain([]string{"healthcheck"}, env, &out, &errb)
	if !strings.Contains(errb.String(), "HTTP 503") || !strings.Contains(errb.String(), "[-]edge-link failed: ") {
		t.Errorf("healthcheck stderr does not give the reason:\n%s", errb.String())
	}
	if err := check(0, "--live")(); err != nil {
		t.Error(err)
	}

	// 3. The interior returns: ready again.
	in.Start()
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(mgmt) })
	routertest.Eventually(t, 5*time.Second, check(0))

	// 4. The router is killed: the supervisor restarts it, health follows.
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	routertest.Eventually(t, 30*time.Second, func() error {
		if err := check(0)(); err != nil {
			return err
		}
		if s = status(); s.Router.Restarts != 1 || s.Router.PID == pids[0] {
			return fmt.Errorf("no restart seen: %+v", s.Router)
		}
		return nil
	})
	if s.Router.LastExit == nil || s.Router.LastExit.Signal != "SIGKILL" || s.Router.LastExit.PID != pids[0] {
		t.Errorf("last exit = %+v, want pid %d killed by SIGKILL", s.Router.LastExit, pids[0])
	}

	// 5. SIGTERM: edgeproxy exits 0.
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}
