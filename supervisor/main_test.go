package supervisor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/poll"
	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

func TestMain(m *testing.M) {
	supervisortest.MaybeRunRouter()
	os.Exit(m.Run())
}

func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// harness runs one Supervisor over the fake router (the re-executed test binary).
type harness struct {
	sup    *Supervisor
	logs   *supervisortest.LogBuffer
	record string
	cancel context.CancelFunc
	done   chan error
}

// testConfig is a fast configuration for tests.
func testConfig(t *testing.T) Config {
	return Config{
		Binary:          os.Args[0],
		ConfigFile:      filepath.Join(t.TempDir(), "skrouterd.json"),
		StopTimeout:     5 * time.Second,
		BackoffInitial:  10 * time.Millisecond,
		BackoffMax:      100 * time.Millisecond,
		ResetAfter:      10 * time.Second,
		MaxFastFailures: 1,
	}
}

// start runs a supervisor with cfg over a fake router with ctl (its Record
// is set to a file in t.TempDir()); the run is stopped at cleanup.
func start(t *testing.T, cfg Config, ctl supervisortest.Controls, opts ...Option) *harness {
	t.Helper()
	logs := &supervisortest.LogBuffer{}
	h := startLogging(t, cfg, ctl, logs, opts...)
	h.logs = logs
	return h
}

// startLogging is start with the log going to w.
func startLogging(t *testing.T, cfg Config, ctl supervisortest.Controls, w io.Writer, opts ...Option) *harness {
	t.Helper()
	h := &harness{logs: &supervisortest.LogBuffer{}, record: filepath.Join(t.TempDir(), "record.jsonl"), done: make(chan error, 1)}
	ctl.Record = h.record
	logger := newJSONLogger(w)
	env := append(append(os.Environ(), ctl.Environ()...), "EDGEPROXY_SECRET=do-not-leak")
	opts = append([]Option{WithEnviron(env), WithRandom(func() float64 { return 0 }),
		WithHostLookup(func() (string, error) { return "localhost", nil }, func(context.Context, string) ([]string, error) { return []string{"127.0.0.1"}, nil }),
	}, opts...)
	h.sup = New(cfg, logger, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.sup.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(20 * time.Second):
			t.Errorf("supervisor did not return after cancel")
		}
		if t.Failed() {
			t.Logf("supervisor log:\n%s", h.logs)
		}
	})
	return h
}

// result waits for Run to return.
func (h *harness) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // keep it for cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("supervisor did not return; log:\n%s", h.logs)
		return nil
	}
}

func (h *harness) events(t *testing.T) []supervisortest.Event {
	t.Helper()
	ev, err := supervisortest.ReadRecord(h.record)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitRunning polls until the supervisor runs a router that recorded its start.
func (h *harness) waitRunning(t *testing.T) Status {
	t.Helper()
	var st Status
	poll.Eventually(t, 10*time.Second, func() error {
		st = h.sup.Status()
		if st.Phase != PhaseRunning || st.PID == 0 {
			return fmt.Errorf("phase %s pid %d", st.Phase, st.PID)
		}
		// The fake has recorded its start: its signal handlers exist.
		if supervisortest.Count(h.events(t), "start", "") < st.Restarts+1 {
			return fmt.Errorf("router %d has not recorded its start", st.PID)
		}
		return nil
	})
	return st
}
