package routertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestControlCrash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ctl      Controls
		want     string
		fakeOnly string // why a real router cannot be used
	}{
		{"exit code", Controls{CrashAfter: 300 * time.Millisecond, CrashCode: 3}, "exit 3", ""},
		{"default code", Controls{CrashAfter: 300 * time.Millisecond}, "exit 1", ""},
		{"SIGSEGV", Controls{CrashAfter: 300 * time.Millisecond, CrashSignal: syscall.SIGSEGV}, "signal segmentation fault",
			"a SIGSEGV sent from outside may meet the real router's own crash handler"},
		// In real mode the wrapper sends the signal from outside.
		{"SIGKILL", Controls{CrashAfter: 300 * time.Millisecond, CrashSignal: syscall.SIGKILL}, "signal killed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.fakeOnly != "" {
				RequireFake(t, tc.fakeOnly)
			}
			tc.ctl.Record = filepath.Join(t.TempDir(), "record.jsonl")
			e := StartEdge(t, WriteEdgeConfig(t, EdgeSpec{}), tc.ctl)
			exitedWith(t, e.Process, StartTimeout, tc.want)
			if !Real() && len(Filter(ReadRecord(t, tc.ctl.Record), "crash")) != 1 {
				t.Errorf("no crash event recorded")
			}
		})
	}
}

func TestControlHang(t *testing.T) {
	t.Parallel()
	e := StartEdge(t, WriteEdgeConfig(t, EdgeSpec{}), Controls{HangAfter: 2500 * time.Millisecond})
	e.WaitReady(t) // negative control: it answers before the hang
	Eventually(t, StartTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		m, err := DialMgmt(ctx, e.MgmtAddr)
		if err != nil {
			return fmt.Errorf("dial while hung: %w (the connection should still open)", err)
		}
		defer m.Close()
		_, err = m.Query(ctx, "router", "id")
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("query answered (%v)", err)
		}
		return nil
	})
	c, err := net.DialTimeout("tcp", e.MgmtAddr, time.Second)
	if err != nil {
		t.Fatalf("management socket closed while hung: %v", err)
	}
	c.Close()
	if err := e.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exitedWith(t, e.Process, stopWithin, "exit 0")
}

func TestControlStartDelay(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "record.jsonl")
	const delay = time.Second
	e := StartEdge(t, WriteEdgeConfig(t, EdgeSpec{}), Controls{StartDelay: delay, Record: rec})
	e.WaitReady(t)
	ev := ReadRecord(t, rec)
	start, cfg := Filter(ev, "start"), Filter(ev, "config")
	if len(start) != 1 || len(cfg) != 1 {
		t.Fatalf("events %+v", ev)
	}
	if gap := time.Duration((cfg[0].Time - start[0].Time) * float64(time.Second)); gap < delay {
		t.Errorf("configuration read %v after start, want at least %v", gap, delay)
	}
}

func TestControlIgnoreTerm(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "record.jsonl")
	e := StartEdge(t, WriteEdgeConfig(t, EdgeSpec{}), Controls{IgnoreTerm: true, Record: rec})
	e.WaitReady(t)
	if err := e.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stillRunning(t, e.Process, ignoredFor, "SIGTERM with IgnoreTerm")
	sigs := Filter(ReadRecord(t, rec), "signal")
	if len(sigs) != 1 || sigs[0].Signal != "SIGTERM" || !strings.HasPrefix(sigs[0].Action, "ignored") {
		t.Errorf("recorded %+v", sigs)
	}
	if err := e.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exitedWith(t, e.Process, stopWithin, "signal killed")
}

// ppid reads a process's parent id from /proc.
func ppid(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	return strconv.Atoi(fields[1])
}

func TestControlOrphan(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "record.jsonl")
	e := StartEdge(t, WriteEdgeConfig(t, EdgeSpec{}), Controls{Orphan: true, Record: rec})
	e.WaitReady(t)
	var orphan int
	Eventually(t, StartTimeout, func() error {
		o := Filter(ReadRecord(t, rec), "orphan")
		if len(o) != 1 || o[0].OrphanPID == 0 {
			return fmt.Errorf("orphan events %+v", o)
		}
		orphan = o[0].OrphanPID
		return nil
	})
	if p, err := ppid(orphan); err != nil || p == e.PID() {
		t.Fatalf("orphan %d: parent %d (router %d), %v", orphan, p, e.PID(), err)
	}
	if pgid, err := syscall.Getpgid(orphan); err != nil || pgid != e.PID() {
		t.Errorf("orphan in process group %d, want the router's %d (%v)", pgid, e.PID(), err)
	}
	// Kill the router alone: the grandchild outlives it.
	if err := syscall.Kill(e.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exitedWith(t, e.Process, stopWithin, "signal killed")
	if err := syscall.Kill(orphan, 0); err != nil {
		t.Fatalf("orphan %d gone with its parent: %v", orphan, err)
	}
	e.KillGroup() // what the harness cleanup does: the group takes the orphan too
	Eventually(t, stopWithin, func() error {
		if _, err := ppid(orphan); err == nil {
			if st, _ := procState(orphan); st != "Z" {
				return fmt.Errorf("orphan %d still alive", orphan)
			}
		}
		return nil
	})
}

func procState(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])[0], nil
}

// The record shows argv, the pid (the wrapper execs, so it is the router's)
// and the configuration read.
func TestControlRecord(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "record.jsonl")
	cfg := WriteEdgeConfig(t, EdgeSpec{})
	e := StartEdge(t, cfg, Controls{Record: rec})
	e.WaitReady(t)
	ev := ReadRecord(t, rec)
	start, conf := Filter(ev, "start"), Filter(ev, "config")
	if len(start) != 1 || len(conf) != 1 {
		t.Fatalf("events %+v", ev)
	}
	if start[0].PID != e.PID() {
		t.Errorf("recorded pid %d, router pid %d", start[0].PID, e.PID())
	}
	if a := start[0].Argv; len(a) != 3 || a[1] != "-c" || a[2] != cfg {
		t.Errorf("argv %q", a)
	}
	want, _ := os.ReadFile(cfg)
	if conf[0].Path != cfg || conf[0].Content != string(want) {
		t.Errorf("config event %+v", conf[0])
	}
	if err := e.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exitedWith(t, e.Process, stopWithin, "exit 0")
	if !Real() {
		ex := Filter(ReadRecord(t, rec), "exit")
		if len(ex) != 1 || ex[0].Code == nil || *ex[0].Code != 0 {
			t.Errorf("exit events %+v", ex)
		}
	}
}
