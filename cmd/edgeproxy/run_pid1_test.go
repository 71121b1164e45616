package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

// `edgeproxy run` as PID 1 of a new PID namespace, as in a container.

// pidNamespace is the command prefix that runs a program as PID 1 of a new
// PID namespace with its own /proc; --kill-child takes the namespace down
// with unshare.
var pidNamespace = []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}

// requirePIDNamespace skips the test where PID namespaces cannot be made.
func requirePIDNamespace(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(pidNamespace[0], append(pidNamespace[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("cannot create a PID namespace (%v: %v: %s): needs root or user namespaces", pidNamespace, err, out)
	}
}

// crashingOrphaner is a router that leaves an orphaned grandchild (in its
// own session, so no process-group kill reaches it) and crashes soon after.
var crashingOrphaner = supervisortest.Controls{Orphan: true, OrphanFor: 20 * time.Millisecond, ExitAfter: 40 * time.Millisecond, ExitCode: 3}

// noZombies checks that no descendant of root is a zombie.
func noZombies(root int) error {
	z, err := supervisortest.Zombies(root)
	if err != nil {
		return err
	}
	if len(z) > 0 {
		return fmt.Errorf("zombies below %d: %+v", root, z)
	}
	return nil
}

func TestRunAsPID1ReapsOrphans(t *testing.T) {
	t.Parallel()
	requirePIDNamespace(t)
	const crashes = 100
	p := startProxyCmd(t, pidNamespace, crashingOrphaner,
		"EDGEPROXY_SUPERVISOR__MAX_FAST_FAILURES=100000",
		"EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL=5ms",
		"EDGEPROXY_SUPERVISOR__BACKOFF_MAX=10ms",
	)
	supervisortest.Eventually(t, 90*time.Second, func() error {
		select {
		case <-p.done:
			t.Fatalf("edgeproxy exited (code %d)", p.code)
		default:
		}
		if n := supervisortest.Count(p.events(t), "orphan", ""); n < crashes {
			return fmt.Errorf("%d crashed routers left orphans, want %d", n, crashes)
		}
		return nil
	})
	if recs := p.logRecords("router configuration written"); len(recs) != 1 || recs[0]["pid"] != float64(1) {
		t.Fatalf("edgeproxy is not PID 1 of the namespace: %v", recs)
	}
	// The orphans of the last crashes are still sleeping; once they have
	// exited, edgeproxy (their new parent) must have reaped every one.
	supervisortest.Eventually(t, 10*time.Second, func() error {
		if err := noZombies(p.cmd.Process.Pid); err != nil {
			return err
		}
		if n := len(p.logRecords("reaped orphan")); n < crashes-5 {
			return fmt.Errorf("edgeproxy reaped %d orphans, want at least %d", n, crashes-5)
		}
		return nil
	})
	ep := pid1HostPID(t, p)
	if err := syscall.Kill(ep, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// TestPID1WithoutReaperLeavesZombies is the negative control: the same
// router under a PID 1 that never waits (sleep) leaves zombies, and
// noZombies sees them.
func TestPID1WithoutReaperLeavesZombies(t *testing.T) {
	t.Parallel()
	requirePIDNamespace(t)
	ctl := crashingOrphaner
	ctl.Record = t.TempDir() + "/record.jsonl"
	args := append(append([]string(nil), pidNamespace[1:]...), "/bin/sh", "-c", `"$0" -c /dev/null & exec sleep 60`, os.Args[0])
	cmd := exec.Command(pidNamespace[0], args...)
	cmd.Env = append(os.Environ(), ctl.Environ()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	supervisortest.Eventually(t, 10*time.Second, func() error {
		z, err := supervisortest.Zombies(cmd.Process.Pid)
		if err != nil {
			return err
		}
		if len(z) < 2 {
			return fmt.Errorf("%d zombies, want the router and its orphan", len(z))
		}
		if noZombies(cmd.Process.Pid) == nil {
			return errors.New("noZombies misses them")
		}
		return nil
	})
}

// pid1HostPID is the host pid of edgeproxy, PID 1 in its namespace: the
// child of unshare.
func pid1HostPID(t *testing.T, p *proxy) int {
	t.Helper()
	ds, err := supervisortest.Descendants(p.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.PPID == p.cmd.Process.Pid {
			return d.PID
		}
	}
	t.Fatalf("no child of unshare (%d) found", p.cmd.Process.Pid)
	return 0
}
