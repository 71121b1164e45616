package routertest

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// stopWithin bounds the exit after SIGTERM/SIGINT. The captures show
// 30–70 ms (SIGINT 0.2 s); the bound is generous for loaded machines.
const stopWithin = 5 * time.Second

// Follows captures/lifecycle-sigterm-linkup.jsonl, -sigterm-linkdown.jsonl,
// -sigint-linkup.jsonl and logs/sample-edge-sigterm-shutdown.log.
func TestShutdownSignals(t *testing.T) {
	t.Parallel()
	in := StartInterior(t)
	in.AddService(t, "my-service:8080")
	cases := []struct {
		name   string
		sig    syscall.Signal
		linked bool
		want   string
	}{
		{"SIGTERM link up", syscall.SIGTERM, true, "exit 0"},
		{"SIGTERM link down", syscall.SIGTERM, false, "exit 0"},
		{"SIGINT link up", syscall.SIGINT, true, "signal interrupt"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := filepath.Join(t.TempDir(), "record.jsonl")
			uplink := loopback(FreePort(t))
			if tc.linked {
				uplink = in.EdgeAddr()
			}
			e, _ := edgeWithID(t, fmt.Sprintf("edge-signal-%d", i), uplink, Controls{Record: rec}, "my-service:8080")
			if tc.linked {
				e.WaitListener(t, "my-service", "up", linkTimeout)
			}
			if err := e.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			took := exitedWith(t, e.Process, stopWithin, tc.want)
			t.Logf("%s: %s after %v", tc.name, tc.want, took)
			if !e.HasLog("ROUTER (info) Shut Down") {
				t.Error("no 'Shut Down' line")
			}
			if Real() {
				return // the real router records nothing about signals
			}
			sigs := Filter(ReadRecord(t, rec), "signal")
			if len(sigs) != 1 || sigs[0].Signal != tc.sig.String() && sigs[0].Signal != signalName(tc.sig) {
				t.Errorf("recorded signals %+v", sigs)
			}
		})
	}
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	}
	return s.String()
}

// ignoredFor is how long a signal must fail to stop the router to count as
// ignored (the capture waited 5 s).
const ignoredFor = time.Second

// stillRunning fails the test if p exits within d.
func stillRunning(t *testing.T, p *Process, d time.Duration, after string) {
	t.Helper()
	if st, err := p.Wait(d); err == nil {
		t.Fatalf("router ended (%s) after %s", ExitDescription(st), after)
	}
}

// Follows captures/lifecycle-sighup-then-sigterm.txt: SIGHUP is a no-op that
// makes every later SIGTERM, SIGINT and SIGQUIT ignored; only SIGKILL stops it.
func TestSIGHUPDisablesShutdownSignals(t *testing.T) {
	t.Parallel()
	e, _ := edgeWith(t, "", Controls{})
	if err := e.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	stillRunning(t, e.Process, ignoredFor, "SIGHUP")
	if _, err := QueryOnce(e.MgmtAddr, "router", "id"); err != nil {
		t.Fatalf("management after SIGHUP: %v", err)
	}
	for _, s := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT} {
		if err := e.Signal(s); err != nil {
			t.Fatal(err)
		}
	}
	stillRunning(t, e.Process, ignoredFor, "SIGHUP then SIGTERM, SIGINT, SIGQUIT")
	if e.HasLog("Shut Down") {
		t.Error("logged 'Shut Down' after SIGHUP")
	}
	if err := e.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exitedWith(t, e.Process, stopWithin, "signal killed")
}

// Follows README "Signal handlers exist only after the config is loaded": a
// signal during a slow start gets the default action. In real mode the slow
// start is the Binary wrapper's sleep before it execs the router, so this
// checks the harness's StartDelay there, not the router.
func TestSignalBeforeConfigLoaded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGTERM, "signal terminated"},
		{syscall.SIGINT, "signal interrupt"},
	} {
		t.Run(signalName(tc.sig), func(t *testing.T) {
			t.Parallel()
			rec := filepath.Join(t.TempDir(), "record.jsonl")
			cfg := WriteEdgeConfig(t, EdgeSpec{})
			e := StartEdge(t, cfg, Controls{StartDelay: 30 * time.Second, Record: rec})
			// The start event is written once the process is past its own
			// interpreter start-up, before the configuration is read.
			Eventually(t, StartTimeout, func() error {
				if len(Filter(ReadRecord(t, rec), "start")) == 0 {
					return fmt.Errorf("no start event yet")
				}
				return nil
			})
			if err := e.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			exitedWith(t, e.Process, stopWithin, tc.want)
			if e.HasLog("Shut Down") {
				t.Error("logged 'Shut Down' before its configuration was loaded")
			}
		})
	}
}
