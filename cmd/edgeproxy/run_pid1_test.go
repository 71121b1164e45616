package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
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
	routertest.Eventually(t, 90*time.Second, func() error {
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
	routertest.Eventually(t, 10*time.Second, func() error {
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
	// The router crashes every 40 ms by design, so SIGTERM can meet a crash
	// already under way: then edgeproxy must report the router's own code
	// (3) as an unclean stop; otherwise the stop is clean and exits 0.
	switch code := p.wait(t, 10*time.Second); code {
	case 0:
	case crashingOrphaner.ExitCode:
		recs := p.logRecords("router did not stop cleanly")
		if len(recs) != 1 || recs[0]["exit_code"] != float64(crashingOrphaner.ExitCode) {
			t.Errorf("exit code %d without the router's own exit %d logged as an unclean stop: %v", code, crashingOrphaner.ExitCode, recs)
		}
		t.Logf("SIGTERM met a crash under way: exit code %d, the router's", code)
	default:
		t.Errorf("exit code %d, want 0 (or the router's crash code %d)", code, crashingOrphaner.ExitCode)
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
	cmd := startNonReaper(t, ctl, append(append([]string(nil), pidNamespace...), "/bin/sh", "-c", `"$0" -c /dev/null & exec sleep 60`, os.Args[0]))
	routertest.Eventually(t, 10*time.Second, func() error {
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
	var pid int
	routertest.Eventually(t, 10*time.Second, func() error {
		ds, err := supervisortest.Descendants(p.cmd.Process.Pid)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.PPID == p.cmd.Process.Pid {
				pid = d.PID
				return nil
			}
		}
		return fmt.Errorf("no child of unshare (%d) yet", p.cmd.Process.Pid)
	})
	return pid
}

// TestRunAsPID1RouterKills kills the harness's router (fake or real) again
// and again in a PID namespace, each leaving an orphaned `sleep`
// grandchild: edgeproxy restarts it every time, no zombie remains, and
// SIGTERM still exits 0. 100 kills with a real router; 10 with the fake,
// whose many-crash reaping TestRunAsPID1ReapsOrphans covers faster.
func TestRunAsPID1RouterKills(t *testing.T) {
	t.Parallel()
	requirePIDNamespace(t)
	kills := 10
	if routertest.Real() {
		kills = 100
	}
	in := routertest.StartInterior(t)
	ctl := routertest.Controls{Orphan: true, OrphanFor: 50 * time.Millisecond, Record: filepath.Join(t.TempDir(), "record.jsonl")}
	env := append(routerBaseEnv(t),
		"EDGEPROXY_ROUTER__BINARY="+routertest.Binary(t, ctl),
		"EDGEPROXY_UPLINK__HOST="+in.EdgeHost(),
		"EDGEPROXY_UPLINK__PORT="+strconv.Itoa(in.EdgePort()),
		"EDGEPROXY_SUPERVISOR__MAX_FAST_FAILURES=100000",
		"EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL=5ms",
		"EDGEPROXY_SUPERVISOR__BACKOFF_MAX=10ms",
	)
	mgmt := envValue(env, "EDGEPROXY_ROUTER__MANAGEMENT")
	p := launchProxy(t, pidNamespace, env, ctl.Record)
	ep := pid1HostPID(t, p)
	last := 0
	start := time.Now()
	for i := 0; i < kills; i++ {
		// Kill each router once it has left its orphan and answers management
		// (it is fully up: in real mode the wrapper leaves the orphan before it
		// execs the router, so the orphan alone does not say the router runs).
		// The previous router is dead and reaped by then, so the answer is
		// the new one's. A real router answers 0.22–0.39 s after spawn.
		var router int
		routertest.Eventually(t, routertest.StartTimeout, func() error {
			if n := len(routertest.Filter(routertest.ReadRecord(t, ctl.Record), "orphan")); n < i+1 {
				return fmt.Errorf("router %d: %d orphans recorded", i, n)
			}
			var err error
			if router, err = routerChild(ep, last); err != nil {
				return err
			}
			if _, err := routertest.QueryOnce(mgmt, "router", "id"); err != nil {
				return fmt.Errorf("router %d (pid %d) does not answer management on %s yet: %w", i, router, mgmt, err)
			}
			return nil
		})
		if err := syscall.Kill(router, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: router %d: %v", i, router, err)
		}
		last = router
	}
	t.Logf("%d routers killed in %v (real=%v)", kills, time.Since(start).Round(time.Millisecond), routertest.Real())
	// A new router runs; the orphans have exited and been reaped.
	routertest.Eventually(t, 20*time.Second, func() error {
		if _, err := routerChild(ep, last); err != nil {
			return err
		}
		if n := len(routertest.Filter(routertest.ReadRecord(t, ctl.Record), "orphan")); n < kills {
			return fmt.Errorf("%d orphans recorded, want %d", n, kills)
		}
		return noZombies(p.cmd.Process.Pid)
	})
	if err := syscall.Kill(ep, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// routerChild finds the running router below edgeproxy (host pid ep): a
// live child that is not an orphaned `sleep` and not the killed one.
func routerChild(ep, killed int) (int, error) {
	ds, err := supervisortest.Descendants(ep)
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		if d.PPID == ep && d.PID != killed && d.State != 'Z' && d.Comm != "sleep" {
			return d.PID, nil
		}
	}
	return 0, fmt.Errorf("no new router below %d yet", ep)
}

// orphanParent is the parent pid of the first orphan recorded in record,
// read from /proc while it lives.
func orphanParent(record string) (orphan, parent int, err error) {
	ev, err := supervisortest.ReadRecord(record)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ev {
		if e.Event != "orphan" {
			continue
		}
		ps, err := supervisortest.Procs()
		if err != nil {
			return 0, 0, err
		}
		for _, p := range ps {
			if p.PID == e.PID {
				return e.PID, p.PPID, nil
			}
		}
		return e.PID, 0, fmt.Errorf("orphan %d gone", e.PID)
	}
	return 0, 0, errors.New("no orphan recorded yet")
}

// TestRunAsSubreaperReapsOrphans: not PID 1 (no PID namespace), edgeproxy
// makes itself a child subreaper, so the router's orphan is re-parented to
// edgeproxy, not to the host's init, and edgeproxy reaps it.
func TestRunAsSubreaperReapsOrphans(t *testing.T) {
	t.Parallel()
	ctl := supervisortest.Controls{Orphan: true, OrphanFor: 2 * time.Second, ExitAfter: 100 * time.Millisecond, ExitCode: 3}
	p := startProxy(t, ctl, "EDGEPROXY_SUPERVISOR__MAX_FAST_FAILURES=100000", "EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL=1s", "EDGEPROXY_SUPERVISOR__BACKOFF_MAX=1s")
	var orphan int
	routertest.Eventually(t, 10*time.Second, func() error {
		o, parent, err := orphanParent(p.record)
		if err != nil {
			return err
		}
		orphan = o
		if parent != p.cmd.Process.Pid {
			return fmt.Errorf("orphan %d has parent %d, want edgeproxy %d", o, parent, p.cmd.Process.Pid)
		}
		return nil
	})
	routertest.Eventually(t, 10*time.Second, func() error {
		for _, r := range p.logRecords("reaped orphan") {
			if r["pid"] == float64(orphan) {
				return nil
			}
		}
		return fmt.Errorf("orphan %d not reaped yet", orphan)
	})
	// The router exits and restarts every second here: one that has just
	// exited is a zombie until the reaper's next wait. No zombie may last.
	routertest.Eventually(t, 5*time.Second, func() error { return noZombies(p.cmd.Process.Pid) })
}

// TestOrphanWithoutSubreaperNegativeControl: the same router under a plain
// parent (sh, no subreaper) leaves its orphan to someone else: the check
// above would see a wrong parent if edgeproxy did not become a subreaper.
func TestOrphanWithoutSubreaperNegativeControl(t *testing.T) {
	t.Parallel()
	ctl := supervisortest.Controls{Orphan: true, OrphanFor: 2 * time.Second, ExitAfter: 100 * time.Millisecond, ExitCode: 3}
	ctl.Record = filepath.Join(t.TempDir(), "record.jsonl")
	cmd := startNonReaper(t, ctl, []string{"/bin/sh", "-c", `"$0" -c /dev/null; exec sleep 30`, os.Args[0]})
	routertest.Eventually(t, 10*time.Second, func() error {
		ev, err := supervisortest.ReadRecord(ctl.Record)
		if err != nil || len(ev) == 0 {
			return fmt.Errorf("no router start recorded (%v)", err)
		}
		o, parent, err := orphanParent(ctl.Record)
		if err != nil {
			return err
		}
		if parent == ev[0].PID || parent == 0 {
			return fmt.Errorf("orphan %d: parent %d, the router has not exited yet", o, parent)
		}
		if parent == cmd.Process.Pid {
			return fmt.Errorf("orphan %d was re-parented to sh %d, which is no subreaper", o, parent)
		}
		t.Logf("without a subreaper the orphan %d went to pid %d (not its grandparent %d)", o, parent, cmd.Process.Pid)
		return nil
	})
}

// startNonReaper runs argv, a parent that never reaps (a negative control),
// over the test router with ctl, in its own process group killed at cleanup.
func startNonReaper(t *testing.T, ctl supervisortest.Controls, argv []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), ctl.Environ()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}
