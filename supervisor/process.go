package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/proc"
)

// drainWait bounds how long an exit report waits for the router's last
// output after the process is gone (a grandchild may hold the pipe open).
const drainWait = 250 * time.Millisecond

// routerEnv is the router's environment: edgeproxy's own minus every
// EDGEPROXY_* variable, so configuration (and any secret in it) never leaks
// into the router or its children.
func routerEnv(environ []string) []string { return proc.WithoutConfigEnv(environ) }

// child is one router process: the leader of its own process group, its
// stdout and stderr pumped into the log, its status delivered by the reaper.
type child struct {
	pid     int
	started time.Time
	status  <-chan syscall.WaitStatus
	tail    *ring
	pumps   []*outputPump
	// listenFailed receives the first "Listener error on ..." line's
	// address and reason.
	listenFailed chan [2]string
}

// startChild launches path with argv0 and args in a new process group. The
// reaper forks it, so its status arrives on child.status and nothing calls
// Wait.
func startChild(rp *reaper, path, argv0 string, args, env []string, logger *slog.Logger) (*child, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("router stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("router stderr pipe: %w", err)
	}
	attr := &os.ProcAttr{
		Env:   env,
		Files: []*os.File{devnull, outW, errW},
		// Pdeathsig: should edgeproxy itself be killed, its router goes
		// too instead of running on unsupervised, holding its ports.
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	var proc *os.Process
	pid, status, err := rp.start(func() (int, error) {
		p, err := os.StartProcess(path, append([]string{argv0}, args...), attr)
		if err != nil {
			return 0, err
		}
		proc = p
		return p.Pid, nil
	})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	// The reaper owns the status; the handle is not needed (and never waited on).
	_ = proc.Release()
	started := time.Now()
	plog := logger.With("source", "skrouterd", "pid", pid)
	tail := newRing(tailLines)
	c := &child{pid: pid, started: started, status: status, tail: tail, listenFailed: make(chan [2]string, 1)}
	c.pumps = []*outputPump{
		newOutputPump(errR, plog, "stderr", argv0, tail, c.watchLine),
		newOutputPump(outR, plog, "stdout", argv0, tail, nil),
	}
	return c, nil
}

// watchLine passes on the first listener failure the router reports.
func (c *child) watchLine(line string) {
	if hp, why, ok := ListenerFailure(line); ok {
		select {
		case c.listenFailed <- [2]string{hp, why}:
		default:
		}
	}
}

// exit turns the reaped status into an Exit, after the router's last output
// lines have been logged (bounded by drainWait).
func (c *child) exit(ws syscall.WaitStatus) Exit {
	at := time.Now()
	deadline := time.NewTimer(drainWait)
	defer deadline.Stop()
	for _, p := range c.pumps {
		select {
		case <-p.done:
		case <-deadline.C:
		}
	}
	e := Exit{PID: c.pid, Code: exitCodeOf(ws), Signal: signalNameOf(ws), At: at, Uptime: at.Sub(c.started), LastLogs: c.tail.snapshot()}
	if ws.Signaled() {
		e.SignalNumber = int(ws.Signal())
	}
	return e
}

// signalGroup sends sig to the router's whole process group. A group with
// no process left ("no such process") counts as already gone.
func (c *child) signalGroup(sig syscall.Signal) error {
	err := syscall.Kill(-c.pid, sig)
	if err == nil || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return fmt.Errorf("signal %s to process group %d: %w", proc.SignalName(sig), c.pid, err)
}

// groupAlive reports whether any process (zombies included, until reaped)
// is left in the router's process group.
func (c *child) groupAlive() bool {
	return !errors.Is(syscall.Kill(-c.pid, 0), syscall.ESRCH)
}

// lookPath resolves the router binary like a shell would.
func lookPath(binary string) (string, error) {
	path, err := exec.LookPath(binary)
	if err != nil {
		return "", fmt.Errorf("router.binary %q: %w", binary, err)
	}
	return path, nil
}
