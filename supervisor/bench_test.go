package supervisor

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/poll"
	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

// Benchmarks of the supervisor's own latency over the fake router (a Go
// process): restart (SIGKILL → new router process recorded its start, with
// BackoffInitial 1ms; add the configured backoff_initial and skrouterd's
// 0.2 s start-up for the real figure) and stop (cancel → Run returned, the
// router answering SIGTERM at once). Run with
//	go test -run '^$' -bench . -benchtime 20x ./supervisor/

func benchSupervisor(b *testing.B) (*Supervisor, string, context.CancelFunc, chan error) {
	b.Helper()
	cfg := Config{Binary: os.Args[0], ConfigFile: filepath.Join(b.TempDir(), "skrouterd.json"), StopTimeout: 5 * time.Second,
		BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond, ResetAfter: time.Hour, MaxFastFailures: 1 << 30}
	record := filepath.Join(b.TempDir(), "record.jsonl")
	ctl := supervisortest.Controls{Record: record}
	s := New(cfg, newJSONLogger(io.Discard), WithEnviron(append(os.Environ(), ctl.Environ()...)),
		WithHostLookup(func() (string, error) { return "localhost", nil }, func(context.Context, string) ([]string, error) { return nil, nil }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return s, record, cancel, done
}

// waitStarts polls until n routers have recorded their start.
func waitStarts(b *testing.B, record string, n int) {
	b.Helper()
	poll.EventuallyEvery(b, 10*time.Second, time.Millisecond, func() error {
		ev, err := supervisortest.ReadRecord(record)
		if err != nil {
			return err
		}
		if supervisortest.Count(ev, "start", "") < n {
			return errors.New("router not started")
		}
		return nil
	})
}

func BenchmarkRestartAfterKill(b *testing.B) {
	s, record, cancel, done := benchSupervisor(b)
	defer func() { cancel(); <-done }()
	waitStarts(b, record, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := syscall.Kill(s.Status().PID, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		waitStarts(b, record, i+2)
	}
}

func BenchmarkStop(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		_, record, cancel, done := benchSupervisor(b)
		waitStarts(b, record, 1)
		b.StartTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
