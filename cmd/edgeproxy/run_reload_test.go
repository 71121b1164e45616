package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// Live reconfiguration over the router test harness (fake, or real with
// SKROUTERD): listeners added and removed by editing the YAML file and by
// SIGHUP while a long-lived flow through a third listener stays open; an
// invalid edit changes nothing; renewed TLS files update the sslProfile
// without a restart.

// reloadProxy is `edgeproxy run --config FILE` (EDGEPROXY_CONFIG) over the
// harness's router, linked to in.
type reloadProxy struct {
	*proxy
	config string // the YAML file edgeproxy reads (may be a symlink)
	mgmt   string
	health string // base URL
	uplink string // YAML uplink section
}

func startReloadProxy(t *testing.T, in *routertest.Interior, config, uplinkYAML string, listeners []yamlListener, extra ...string) *reloadProxy {
	t.Helper()
	rp := &reloadProxy{config: config, mgmt: net.JoinHostPort(routertest.Loopback, strconv.Itoa(routertest.FreePort(t))), uplink: uplinkYAML}
	rp.write(t, listeners)
	record := filepath.Join(t.TempDir(), "record.jsonl")
	var env []string
	for _, kv := range routerBaseEnv(t) {
		if !strings.HasPrefix(kv, "EDGEPROXY_LISTENERS=") { // the YAML file's listeners, not the environment's
			env = append(env, kv)
		}
	}
	env = append(env,
		"EDGEPROXY_ROUTER__BINARY="+routertest.Binary(t, routertest.Controls{Record: record}),
		"EDGEPROXY_ROUTER__MANAGEMENT="+rp.mgmt,
		"EDGEPROXY_CONFIG="+config,
		"EDGEPROXY_SUPERVISOR__STOP_TIMEOUT=8s",
	)
	rp.proxy = launchProxy(t, nil, append(env, extra...), record)
	rp.health = "http://" + envValue(rp.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")
	return rp
}

type yamlListener struct {
	name    string
	port    int
	address string
}

// yaml is the configuration file for listeners (and the uplink section).
func (rp *reloadProxy) yaml(listeners []yamlListener) string {
	var b strings.Builder
	b.WriteString(rp.uplink)
	b.WriteString("listeners:\n")
	for _, l := range listeners {
		fmt.Fprintf(&b, "  - name: %s\n    host: %s\n    port: %d\n    address: %s\n", l.name, routertest.Loopback, l.port, l.address)
	}
	return b.String()
}

// write replaces the configuration file as editors do: a new file renamed
// over it (through a symlink, the file it points to).
func (rp *reloadProxy) write(t *testing.T, listeners []yamlListener) {
	writeAtomic(t, rp.config, rp.yaml(listeners))
}

func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// status is the proxy's /status document.
func (rp *reloadProxy) status(t *testing.T) (health.StatusDoc, error) {
	var d health.StatusDoc
	code, body, err := httpGet(context.Background(), rp.health+"/status")
	if err != nil {
		return d, err
	}
	if code != http.StatusOK && code != http.StatusServiceUnavailable {
		return d, fmt.Errorf("/status %d: %s", code, body)
	}
	return d, json.Unmarshal([]byte(body), &d)
}

// waitReload waits until /status reports reload number n, and returns it.
func (rp *reloadProxy) waitReload(t *testing.T, n int) *health.ReloadDoc {
	t.Helper()
	var r *health.ReloadDoc
	routertest.Eventually(t, 20*time.Second, func() error {
		d, err := rp.status(t)
		if err != nil {
			return err
		}
		if d.Reload == nil || d.Reload.Reloads < n {
			return fmt.Errorf("reload %d not reported yet: %+v", n, d.Reload)
		}
		r = d.Reload
		return nil
	})
	if r.Reloads != n {
		t.Fatalf("reloads %d, want %d: %+v", r.Reloads, n, r)
	}
	return r
}

// routerListeners are the names of the router's tcpListeners, sorted.
func routerListeners(t *testing.T, mgmtAddr string) []string {
	t.Helper()
	var names []string
	for _, r := range routertest.MustQuery(t, mgmtAddr, "tcpListener", "name") {
		names = append(names, fmt.Sprint(r["name"]))
	}
	slices.Sort(names)
	return names
}

// flow is one long-lived TCP connection through the proxy: HTTP/1.1
// requests one after another on the same connection.
type flow struct {
	conn net.Conn
	r    *bufio.Reader
	want string
}

func openFlow(t *testing.T, port int, want string) *flow {
	t.Helper()
	var f *flow
	routertest.Eventually(t, 10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(routertest.Loopback, strconv.Itoa(port)), time.Second)
		if err != nil {
			return err
		}
		f = &flow{conn: c, r: bufio.NewReader(c), want: want}
		if err := f.roundTrip(); err != nil {
			c.Close()
			return err
		}
		return nil
	})
	t.Cleanup(func() { f.conn.Close() })
	return f
}

// roundTrip sends one request on the flow and reads its answer.
func (f *flow) roundTrip() error {
	_ = f.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(f.conn, "GET / HTTP/1.1\r\nHost: flow\r\n\r\n"); err != nil {
		return fmt.Errorf("flow: write: %w", err)
	}
	resp, err := http.ReadResponse(f.r, nil)
	if err != nil {
		return fmt.Errorf("flow: read: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("flow: body: %w", err)
	}
	if string(b) != f.want {
		return fmt.Errorf("flow: got %q, want %q", b, f.want)
	}
	return nil
}

// keepAlive runs round trips on f every 50 ms until stop is closed, and
// returns the first error (nil: the flow stayed open throughout).
func (f *flow) keepAlive(stop <-chan struct{}) <-chan error {
	out := make(chan error, 1)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			if err := f.roundTrip(); err != nil {
				out <- fmt.Errorf("after %d round trips: %w", n, err)
				return
			}
			select {
			case <-stop:
				out <- nil
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func refused(port int) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(routertest.Loopback, strconv.Itoa(port)), time.Second)
	if err != nil {
		return nil
	}
	c.Close()
	return fmt.Errorf("port %d still accepts connections", port)
}

func TestRunReloadListeners(t *testing.T) {
	t.Parallel()
	for _, trigger := range []string{"file edit", "SIGHUP"} {
		t.Run(trigger, func(t *testing.T) {
			t.Parallel()
			in := routertest.StartInterior(t)
			svc := in.AddService(t, "my-service:8080")
			keep := yamlListener{"keep", routertest.FreePort(t), "my-service:8080"}
			gone := yamlListener{"gone", routertest.FreePort(t), "my-service:8080"}
			added := yamlListener{"added", routertest.FreePort(t), "my-service:8080"}
			// By SIGHUP: the file is a symlink to one in a folder edgeproxy
			// does not watch, so only the signal can make it reload.
			config := filepath.Join(t.TempDir(), "edgeproxy.yaml")
			if trigger == "SIGHUP" {
				real := filepath.Join(t.TempDir(), "real.yaml")
				writeAtomic(t, real, "")
				if err := os.Symlink(real, config); err != nil {
					t.Fatal(err)
				}
			}
			uplink := fmt.Sprintf("uplink:\n  host: %s\n  port: %d\n", in.EdgeHost(), in.EdgePort())
			rp := startReloadProxy(t, in, config, uplink, []yamlListener{keep, gone})
			routertest.Eventually(t, 30*time.Second, func() error { return linkUp(rp.mgmt) })
			for _, l := range []yamlListener{keep, gone} {
				routertest.Eventually(t, 10*time.Second, func() error { return greets(l.port, svc.Greeting()) })
			}
			pids := harnessRouterPIDs(t, rp.record)
			renderedBefore, err := os.ReadFile(envValue(rp.cmd.Env, "EDGEPROXY_ROUTER__CONFIG_FILE"))
			if err != nil {
				t.Fatal(err)
			}

			// The long-lived flow through the listener that stays.
			f := openFlow(t, keep.port, svc.Greeting())
			stop := make(chan struct{})
			flowErr := f.keepAlive(stop)
			reload := func(n int) *health.ReloadDoc {
				if trigger == "SIGHUP" {
					rp.signal(t, syscall.SIGHUP)
				}
				return rp.waitReload(t, n)
			}

			// Phase 1: add one listener, remove another.
			began := time.Now()
			rp.write(t, []yamlListener{keep, added})
			r := reload(1)
			if !r.OK || r.Applied != "live" || !strings.HasPrefix(r.Trigger, map[string]string{"file edit": "file change: ", "SIGHUP": "SIGHUP"}[trigger]) {
				t.Fatalf("reload %+v, want applied live by %s", r, trigger)
			}
			if want := []string{"deleted tcpListener/gone", "created tcpListener/added"}; !slices.Equal(r.Changes, want) {
				t.Errorf("changes %v, want %v", r.Changes, want)
			}
			routertest.Eventually(t, 10*time.Second, func() error { return greets(added.port, svc.Greeting()) })
			routertest.Eventually(t, 10*time.Second, func() error { return refused(gone.port) })
			t.Logf("%s: edit → reload applied in %.1f ms (its own measure), new listener serving %v after the edit (real=%v)",
				trigger, r.DurationSeconds*1000, time.Since(began).Round(time.Millisecond), routertest.Real())
			if got, want := routerListeners(t, rp.mgmt), []string{"added", "keep"}; !slices.Equal(got, want) {
				t.Errorf("router's tcpListeners %v, want %v", got, want)
			}
			rendered, err := os.ReadFile(envValue(rp.cmd.Env, "EDGEPROXY_ROUTER__CONFIG_FILE"))
			if err != nil || !strings.Contains(string(rendered), `"name": "added"`) || strings.Contains(string(rendered), `"name": "gone"`) {
				t.Errorf("router.config_file not re-rendered (%v):\n%s", err, rendered)
			}

			// Phase 2: an invalid edit (a bad port, an unknown key) changes nothing.
			writeAtomic(t, rp.config, rp.yaml([]yamlListener{keep, {"bad", 0, "my-service:8080"}})+"uplnk:\n  host: x\n")
			r = reload(2)
			if r.OK || !strings.Contains(r.Error, "listeners[1].port") || !strings.Contains(r.Error, "uplnk") || r.LastSuccess == nil {
				t.Errorf("invalid reload %+v, want it failed naming listeners[1].port and uplnk, with the last success", r)
			}
			routertest.Eventually(t, 10*time.Second, func() error { // the log is read from edgeproxy's stderr as it comes
				if recs := rp.logRecords("configuration reload rejected"); len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["problems"]), "listeners[1].port") {
					return fmt.Errorf("rejection records %v", recs)
				}
				return nil
			})

			// Phase 3: a port another process holds is refused, naming the key.
			held, err := net.Listen("tcp", net.JoinHostPort(routertest.Loopback, strconv.Itoa(gone.port)))
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			rp.write(t, []yamlListener{keep, added, gone})
			r = reload(3)
			if r.OK || !strings.Contains(r.Error, "listeners[2].port") || !strings.Contains(r.Error, "already in use") {
				t.Errorf("reload onto a held port %+v, want it failed naming listeners[2].port", r)
			}
			if got, want := routerListeners(t, rp.mgmt), []string{"added", "keep"}; !slices.Equal(got, want) {
				t.Errorf("router's tcpListeners after the failed reloads %v, want %v", got, want)
			}
			after, err := os.ReadFile(envValue(rp.cmd.Env, "EDGEPROXY_ROUTER__CONFIG_FILE"))
			if err != nil || string(after) != string(rendered) {
				t.Errorf("router.config_file changed by a failed reload (%v)", err)
			}

			close(stop)
			if err := <-flowErr; err != nil {
				t.Errorf("the flow through the unchanged listener broke: %v", err)
			}
			if got := harnessRouterPIDs(t, rp.record); !slices.Equal(got, pids) {
				t.Errorf("routers %v, want the one router %v throughout", got, pids)
			}
			if string(renderedBefore) == string(rendered) {
				t.Error("negative control: the rendered file did not change at all")
			}
		})
	}
}

// TestRunReloadConnectors: tcpConnectors (the connectors list) are added
// and removed live by the same code as listeners; the flow through the
// proxy's listener stays open and the router is the same process.
func TestRunReloadConnectors(t *testing.T) {
	t.Parallel()
	in := routertest.StartInterior(t)
	svc := in.AddService(t, "my-service:8080")
	work := routertest.StartBackend(t, "work:80")
	host, port, _ := net.SplitHostPort(work.Backend)
	l := yamlListener{"web", routertest.FreePort(t), "my-service:8080"}
	uplink := fmt.Sprintf("uplink:\n  host: %s\n  port: %d\n", in.EdgeHost(), in.EdgePort())
	connectors := func(names ...string) string {
		out := "connectors:\n"
		for _, n := range names {
			out += fmt.Sprintf("  - name: %s\n    address: %s\n    host: %s\n    port: %s\n", n, n+":80", host, port)
		}
		return out
	}
	rp := startReloadProxy(t, in, filepath.Join(t.TempDir(), "edgeproxy.yaml"), uplink+connectors("work"), []yamlListener{l})
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(rp.mgmt) })
	f := openFlow(t, l.port, svc.Greeting())
	pids := harnessRouterPIDs(t, rp.record)
	names := func() []string {
		var out []string
		for _, r := range routertest.MustQuery(t, rp.mgmt, "tcpConnector", "name") {
			out = append(out, fmt.Sprint(r["name"]))
		}
		slices.Sort(out)
		return out
	}
	if got := names(); !slices.Equal(got, []string{"work"}) {
		t.Fatalf("tcpConnectors %v at start", got)
	}
	rp.uplink = uplink + connectors("other", "third")
	rp.write(t, []yamlListener{l})
	r := rp.waitReload(t, 1)
	if want := []string{"deleted tcpConnector/work", "created tcpConnector/other", "created tcpConnector/third"}; !r.OK || r.Applied != "live" || !slices.Equal(r.Changes, want) {
		t.Errorf("reload %+v, want %v applied live", r, want)
	}
	if got := names(); !slices.Equal(got, []string{"other", "third"}) {
		t.Errorf("tcpConnectors %v after the reload", got)
	}
	if err := f.roundTrip(); err != nil {
		t.Errorf("the flow through the listener broke: %v", err)
	}
	if got := harnessRouterPIDs(t, rp.record); !slices.Equal(got, pids) {
		t.Errorf("routers %v, want %v", got, pids)
	}
}

// TestRunReloadRestart: a change the router cannot make at run time (its
// id) restarts it once, with the reason; the prober follows the new id.
func TestRunReloadRestart(t *testing.T) {
	t.Parallel()
	in := routertest.StartInterior(t)
	svc := in.AddService(t, "my-service:8080")
	l := yamlListener{"web", routertest.FreePort(t), "my-service:8080"}
	uplink := fmt.Sprintf("uplink:\n  host: %s\n  port: %d\n", in.EdgeHost(), in.EdgePort())
	rp := startReloadProxy(t, in, filepath.Join(t.TempDir(), "edgeproxy.yaml"), "router:\n  id: first\n"+uplink, []yamlListener{l})
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(rp.mgmt) })
	rp.uplink = "router:\n  id: second\n" + uplink
	rp.write(t, []yamlListener{l})
	r := rp.waitReload(t, 1)
	if !r.OK || !strings.Contains(r.Applied, "restart: router/: id changed") {
		t.Fatalf("reload %+v, want a restart for the id", r)
	}
	routertest.Eventually(t, 30*time.Second, func() error {
		if n := len(harnessRouterPIDs(t, rp.record)); n != 2 {
			return fmt.Errorf("%d routers started, want 2", n)
		}
		return linkUp(rp.mgmt)
	})
	routertest.Eventually(t, 10*time.Second, func() error { return greets(l.port, svc.Greeting()) })
	routertest.Eventually(t, 10*time.Second, func() error {
		d, err := rp.status(t)
		if err != nil {
			return err
		}
		if !d.Ready || d.Router.ID != "second" {
			return fmt.Errorf("ready %v, router id %q", d.Ready, d.Router.ID)
		}
		return nil
	})
	if recs := rp.logRecords("restarting the router as planned"); len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["reason"]), "id changed") {
		t.Errorf("planned restart records %v", recs)
	}
}

// TestRunReloadCertificateRotation: the client certificate is re-issued
// by the interior's CA (rename into place of the same files): the reload
// UPDATEs the sslProfile (files, a higher ordinal) and the router, the same
// process, links with the new files. With a real router the link was down
// before (a certificate from another CA) and comes up; the fake links in
// plain TCP whatever the files, so there only the UPDATE is checked.
func TestRunReloadCertificateRotation(t *testing.T) {
	t.Parallel()
	ca := routertest.NewCA(t, "site")
	server := ca.Issue(t, routertest.Loopback)
	other := routertest.NewCA(t, "other").Issue(t, "edge-proxy")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	copyFile(t, other.CertFile, certFile)
	copyFile(t, other.KeyFile, keyFile)
	in := routertest.StartInteriorTLS(t, &server)
	svc := in.AddService(t, "my-service:8080")
	l := yamlListener{"web", routertest.FreePort(t), "my-service:8080"}
	uplink := fmt.Sprintf("uplink:\n  host: %s\n  port: %d\n  tls:\n    ca_file: %s\n    cert_file: %s\n    key_file: %s\n",
		in.EdgeHost(), in.EdgePort(), ca.CertFile, certFile, keyFile)
	rp := startReloadProxy(t, in, filepath.Join(t.TempDir(), "edgeproxy.yaml"), uplink, []yamlListener{l})
	routertest.Eventually(t, 30*time.Second, func() error {
		_, err := routertest.QueryOnce(rp.mgmt, "sslProfile", "name")
		return err
	})
	if routertest.Real() {
		routertest.Eventually(t, 30*time.Second, func() error {
			status, msg, err := routertest.LinkStatus(rp.mgmt)
			if err != nil || !strings.Contains(msg, "SSL Failure") {
				return fmt.Errorf("link %s %q (%v), want it failing on the certificate", status, msg, err)
			}
			return nil
		})
	}
	pids := harnessRouterPIDs(t, rp.record)

	renewed := ca.Issue(t, "edge-proxy")
	began := time.Now()
	copyFile(t, renewed.CertFile, certFile)
	copyFile(t, renewed.KeyFile, keyFile)
	var r *health.ReloadDoc
	routertest.Eventually(t, 20*time.Second, func() error {
		d, err := rp.status(t)
		if err != nil {
			return err
		}
		if d.Reload == nil || !d.Reload.OK {
			return fmt.Errorf("no successful reload yet: %+v", d.Reload)
		}
		r = d.Reload
		return nil
	})
	if !slices.Contains(r.Changes, "updated sslProfile/uplink-tls (ordinal)") {
		t.Errorf("reload %+v, want the sslProfile's ordinal updated", r)
	}
	prof := routertest.MustQuery(t, rp.mgmt, "sslProfile", "name", "ordinal", "certFile")
	if len(prof) != 1 || fmt.Sprint(prof[0]["ordinal"]) != "1" || prof[0]["certFile"] != certFile {
		t.Errorf("sslProfile %v, want ordinal 1 and %s", prof, certFile)
	}
	routertest.Eventually(t, 30*time.Second, func() error { return linkUp(rp.mgmt) })
	linked := time.Since(began)
	routertest.Eventually(t, 10*time.Second, func() error { return greets(l.port, svc.Greeting()) })
	t.Logf("rotation: files renamed into place → reload applied in %.1f ms, edge link up %v after the files changed (real=%v)",
		r.DurationSeconds*1000, linked.Round(time.Millisecond), routertest.Real())
	if got := harnessRouterPIDs(t, rp.record); !slices.Equal(got, pids) {
		t.Errorf("routers %v, want the one router %v: the rotation restarted it", got, pids)
	}
}

// copyFile puts src's content at dst by renaming a copy into place.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, dst, string(b))
}
