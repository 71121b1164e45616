package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/notify"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
	"github.com/edgeproxy/edgeproxy/routerconf"
	"github.com/edgeproxy/edgeproxy/supervisor"
	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

// stubSupervisor is a supervisor whose status the test sets.
type stubSupervisor struct {
	st atomic.Pointer[supervisor.Status]
	notify.Broadcast
}

func (s *stubSupervisor) set(st supervisor.Status) { s.st.Store(&st); s.Notify() }
func (s *stubSupervisor) Status() supervisor.Status {
	if st := s.st.Load(); st != nil {
		return *st
	}
	return supervisor.Status{Phase: supervisor.PhaseStarting}
}
func (s *stubSupervisor) MarkReady(int) {}

func healthSettings(management string) *settings {
	return &settings{
		Router: routerconf.Config{
			Router:    routerconf.Router{ID: "edge-proxy-1", Management: management},
			Uplinks:   []routerconf.Uplink{{Name: "uplink", Host: "host.docker.internal", Port: 45671}},
			Listeners: []routerconf.Listener{{Name: "my-service", Host: "0.0.0.0", Port: 8080, Address: "my-service:8080"}},
		},
		Supervisor: supervisor.Config{StopTimeout: 2 * time.Second},
		Health:     health.Config{Listen: "127.0.0.1:0", Management: management, Interval: 100 * time.Millisecond, Timeout: 200 * time.Millisecond},
	}
}

// startHealth runs the health actors and returns the HTTP base URL and a
// function that interrupts them and waits for both to return.
func startHealth(t *testing.T, s *settings, sup routerSupervisor) (string, func()) {
	t.Helper()
	logs := &supervisortest.LogBuffer{}
	actors, err := healthActors(s, sup, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if len(actors) != 3 {
		t.Fatalf("%d actors, want the poller, the server and the connector target watcher", len(actors))
	}
	done := make(chan error, len(actors))
	for _, a := range actors {
		go func() { done <- a.execute() }()
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			for _, a := range actors {
				a.interrupt(errors.New("test over"))
			}
			for range actors {
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("actor returned %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("health actors did not return after interrupt")
				}
			}
		})
	}
	t.Cleanup(stop)
	var base string
	addr := regexp.MustCompile(`msg="health endpoints listening".*address=(\S+)`)
	routertest.Eventually(t, 5*time.Second, func() error {
		m := addr.FindStringSubmatch(logs.String())
		if m == nil {
			return errors.New("server not listening yet")
		}
		base = "http://" + m[1]
		return nil
	})
	return base, stop
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHealthActors: the actors serve from the start (not ready while the
// supervisor is starting, live), report a management endpoint that never
// answers, and return when interrupted.
func TestHealthActors(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	sup := &stubSupervisor{}
	sup.set(supervisor.Status{Phase: supervisor.PhaseStarting})
	base, stop := startHealth(t, healthSettings(silent.Addr().String()), sup)

	if code, body := getBody(t, base+"/readyz?verbose"); code != 503 || !strings.Contains(body, "[-]router failed: phase starting") {
		t.Errorf("/readyz while starting = %d\n%s", code, body)
	}
	if code, _ := getBody(t, base+"/livez"); code != 200 {
		t.Errorf("/livez while starting = %d", code)
	}
	sup.set(supervisor.Status{Phase: supervisor.PhaseRunning, PID: 4242, StartedAt: time.Now()})
	routertest.Eventually(t, 5*time.Second, func() error {
		code, body := getBody(t, base+"/readyz?verbose")
		if code != 503 || !strings.Contains(body, "[-]management failed: QUERY io.skupper.router.") || !strings.Contains(body, "within 200ms") {
			return errors.New(body)
		}
		return nil
	})
	code, body := getBody(t, base+"/status")
	if code != 200 || !strings.Contains(body, `"host": "host.docker.internal"`) || !strings.Contains(body, `"name": "my-service"`) {
		t.Errorf("/status = %d\n%s", code, body)
	}
	sup.set(supervisor.Status{Phase: supervisor.PhaseStopped}) // as the supervisor ends when the group stops
	stop()
	if _, err := http.Get(base + "/readyz"); err == nil {
		t.Error("server still answering after the actors returned")
	}
}

// TestHealthServerOutlivesRouterStop: after the interrupt the server keeps
// answering 503 while the supervisor stops the router, then closes.
func TestHealthServerOutlivesRouterStop(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	sup := &stubSupervisor{}
	sup.set(supervisor.Status{Phase: supervisor.PhaseStopping, PID: 4242})
	base, stop := startHealth(t, healthSettings(silent.Addr().String()), sup)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	// The interrupt runs on another goroutine: the first GET may come before it.
	routertest.Eventually(t, 5*time.Second, func() error {
		if code, body := getBody(t, base+"/readyz?verbose"); code != 503 || !strings.Contains(body, "[-]shutdown failed: edgeproxy is shutting down") {
			return fmt.Errorf("/readyz during the stop = %d\n%s", code, body)
		}
		return nil
	})
	select {
	case <-stopped:
		t.Fatal("actors returned while the router was still stopping")
	default:
	}
	sup.set(supervisor.Status{Phase: supervisor.PhaseStopped})
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("actors did not return after the router stopped")
	}
}

func TestHealthActorsPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	s := healthSettings("127.0.0.1:1")
	s.Health.Listen = taken.Addr().String()
	_, err = healthActors(s, &stubSupervisor{}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "health.listen: edgeproxy cannot listen there") || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Fatalf("err = %v, want one naming health.listen", err)
	}
}
