package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// readyWatch polls /readyz every few ms and keeps the spans it was not 200.
type readyWatch struct {
	mu     sync.Mutex
	polls  int
	bad    int       // answers that were not 200
	start  time.Time // first non-200 of the current gap (zero: none)
	gaps   []time.Duration
	stop   chan struct{}
	done   chan struct{}
	status string // the last non-200 answer
}

func watchReady(base string) *readyWatch {
	w := &readyWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			code, body, err := httpGet(context.Background(), base+"/readyz?verbose")
			now := time.Now()
			w.mu.Lock()
			w.polls++
			switch {
			case err == nil && code == http.StatusOK:
				if !w.start.IsZero() {
					w.gaps = append(w.gaps, now.Sub(w.start))
					w.start = time.Time{}
				}
			default:
				w.bad++
				w.status = fmt.Sprintf("%d %v %s", code, err, body)
				if w.start.IsZero() {
					w.start = now
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// end stops the watch and describes what it saw.
func (w *readyWatch) end() (bad int, gaps []time.Duration, summary string) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	summary = fmt.Sprintf("%d /readyz polls, %d not 200, gaps %v", w.polls, w.bad, w.gaps)
	if w.bad > 0 {
		summary += "; last one: " + w.status
	}
	return w.bad, w.gaps, summary
}

// statusDoc fetches /status.
func statusDoc(base string) (health.StatusDoc, error) {
	var doc health.StatusDoc
	_, body, err := httpGet(context.Background(), base+"/status")
	if err != nil {
		return doc, err
	}
	return doc, json.Unmarshal([]byte(body), &doc)
}

// uplinksUp checks /status: each uplink's linkUp as want says (by connector).
func uplinksUp(base string, want map[string]bool) error {
	doc, err := statusDoc(base)
	if err != nil {
		return err
	}
	if len(doc.Uplinks) != len(want) {
		return fmt.Errorf("/status has %d uplinks, want %d: %+v", len(doc.Uplinks), len(want), doc.Uplinks)
	}
	for _, u := range doc.Uplinks {
		if up, ok := want[u.Connector]; !ok || u.LinkUp != up {
			return fmt.Errorf("/status uplink %s linkUp %v (%s %q), want %v", u.Connector, u.LinkUp, u.ConnectionStatus, u.ConnectionMsg, up)
		}
	}
	return nil
}

// With two interiors, stopping the one whose link is active moves the
// proxy's traffic to the other with no router restart; /readyz stays 200
// (or returns to it): at least one edge link is up throughout. The gaps are
// logged, not asserted (docs/operations.md has the measured numbers).
func TestRunUplinkFailover(t *testing.T) {
	t.Parallel()
	a := routertest.StartInteriorWith(t, routertest.InteriorOptions{ID: "interior-a"})
	b := routertest.StartInteriorWith(t, routertest.InteriorOptions{ID: "interior-b"})
	svc := a.AddService(t, "my-service:8080")
	b.AddService(t, "my-service:8080")
	byID := map[string]*routertest.Interior{a.ID: a, b.ID: b}
	connector := map[string]string{a.ID: "uplink", b.ID: "uplink-2"}
	p, mgmtAddr, port := routerProxyWith(t, []string{"EDGEPROXY_UPLINKS=" + a.EdgeAddr() + "," + b.EdgeAddr()}, routertest.Controls{})
	base := "http://" + envValue(p.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")

	routertest.Eventually(t, 30*time.Second, func() error { return uplinksUp(base, map[string]bool{"uplink": true, "uplink-2": true}) })
	routertest.Eventually(t, 10*time.Second, func() error {
		if code, body, err := httpGet(context.Background(), base+"/readyz?verbose"); err != nil || code != http.StatusOK {
			return fmt.Errorf("/readyz %d (%v):\n%s", code, err, body)
		}
		return greets(port, svc.Greeting())
	})
	active, err := routertest.ActiveUplink(mgmtAddr)
	if err != nil {
		t.Fatal(err)
	}
	standby := b.ID
	if active == b.ID {
		standby = a.ID
	}

	w := watchReady(base)
	stopped := time.Now()
	byID[active].Stop()
	routertest.EventuallyEvery(t, 10*time.Second, 2*time.Millisecond, func() error { return greets(port, svc.Greeting()) })
	serving := time.Since(stopped)
	routertest.Eventually(t, 10*time.Second, func() error {
		return uplinksUp(base, map[string]bool{connector[active]: false, connector[standby]: true})
	})
	routertest.Eventually(t, 10*time.Second, func() error {
		if code, body, err := httpGet(context.Background(), base+"/readyz?verbose"); err != nil || code != http.StatusOK {
			return fmt.Errorf("/readyz %d (%v):\n%s", code, err, body)
		}
		return nil
	})
	_, _, summary := w.end()
	t.Logf("stopped %s (active): serving again through %s after %v; %s (real=%v)",
		active, standby, serving.Round(time.Millisecond), summary, routertest.Real())
	if got, err := routertest.ActiveUplink(mgmtAddr); err != nil || got != standby {
		t.Errorf("active edge connection to %q (%v), want %s", got, err, standby)
	}

	// /status and /metrics name the uplink that is down, with the router's words.
	doc, err := statusDoc(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range doc.Uplinks {
		if u.Connector == connector[active] && (u.ConnectionStatus != "CONNECTING" || u.Interior != "") {
			t.Errorf("/status: the stopped uplink %+v", u)
		}
		if u.Connector == connector[standby] && u.Interior != standby {
			t.Errorf("/status: the uplink in use %+v, want interior %s", u, standby)
		}
	}
	if doc.Uplink.Interior != standby {
		t.Errorf("/status uplink (in use) = %+v, want interior %s", doc.Uplink, standby)
	}
	_, metrics, err := httpGet(context.Background(), base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for c, v := range map[string]string{connector[active]: "0", connector[standby]: "1"} {
		if !strings.Contains(metrics, `edgeproxy_uplink_up{connector="`+c+`",`) || !strings.Contains(metrics, `connector="`+c+`",host="127.0.0.1",port="`) {
			t.Errorf("/metrics lacks edgeproxy_uplink_up for %s", c)
		}
		found := false
		for _, line := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(line, `edgeproxy_uplink_up{connector="`+c+`"`) && strings.HasSuffix(line, " "+v) {
				found = true
			}
		}
		if !found {
			t.Errorf("/metrics: edgeproxy_uplink_up for %s is not %s", c, v)
		}
	}
	if !strings.Contains(metrics, "\nedgeproxy_edge_link_up 1\n") {
		t.Error("/metrics: edgeproxy_edge_link_up is not 1 with one link up")
	}
	// Failover is the router's own: no router restart.
	if pids := harnessRouterPIDs(t, p.record); len(pids) != 1 {
		t.Errorf("%d routers started, want 1 (failover needs no restart)", len(pids))
	}

	// Both interiors gone: not ready, each uplink named.
	byID[standby].Stop()
	routertest.Eventually(t, 10*time.Second, func() error {
		code, body, err := httpGet(context.Background(), base+"/readyz?verbose")
		if err != nil || code != http.StatusServiceUnavailable ||
			!strings.Contains(body, "edge-link failed: uplink: CONNECTING") || !strings.Contains(body, "; uplink-2: CONNECTING") {
			return fmt.Errorf("/readyz %d (%v):\n%s", code, err, body)
		}
		return nil
	})
}
