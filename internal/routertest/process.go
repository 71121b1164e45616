package routertest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a router process started by the harness, in its own process
// group, with its stderr collected line by line.
type Process struct {
	Cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
	state *os.ProcessState
	err   error
}

// StartProcess launches bin -c cfg in a new process group and registers a
// cleanup that kills the group. Stderr lines are kept (Stderr) and logged
// when the test fails.
func StartProcess(t testing.TB, bin, cfg string, extraEnv ...string) *Process {
	t.Helper()
	p, err := startProcess(bin, cfg, extraEnv...)
	if err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		p.KillGroup()
		if t.Failed() {
			t.Logf("stderr of %s -c %s (pid %d):\n%s", bin, cfg, p.PID(), strings.Join(p.Stderr(), "\n"))
		}
	})
	return p
}

func startProcess(bin, cfg string, extraEnv ...string) (*Process, error) {
	cmd := exec.Command(bin, "-c", cfg)
	cmd.Env = append(os.Environ(), extraEnv...)
	// Pdeathsig: a router outlives no test binary, not even one killed by
	// go test's timeout before its cleanups ran.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		p.collect(r)
	}()
	go func() {
		err := cmd.Wait()
		// The pipe may stay open in a grandchild: give the reader a moment,
		// then stop reading.
		select {
		case <-collected:
		case <-time.After(200 * time.Millisecond):
			r.Close()
		}
		p.mu.Lock()
		p.state, p.err = cmd.ProcessState, err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *Process) collect(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.mu.Unlock()
	}
}

// PID is the router's process id.
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// Stderr returns the lines logged so far.
func (p *Process) Stderr() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// HasLog reports whether some stderr line contains substr.
func (p *Process) HasLog(substr string) bool {
	for _, l := range p.Stderr() {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

// WaitLog polls until a stderr line contains substr.
func (p *Process) WaitLog(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	err := Poll(timeout, func() error {
		if p.HasLog(substr) {
			return nil
		}
		if p.Exited() {
			return nil
		}
		return fmt.Errorf("no stderr line contains %q", substr)
	})
	if err == nil && !p.HasLog(substr) {
		st, _ := p.Wait(0)
		err = fmt.Errorf("router ended (%s) and no stderr line contains %q", ExitDescription(st), substr)
	}
	if err != nil {
		t.Fatalf("not within %v: %v", timeout, err)
	}
}

// Signal sends sig to the router process.
func (p *Process) Signal(sig syscall.Signal) error { return p.Cmd.Process.Signal(sig) }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ErrStillRunning is returned by Wait when the process outlives the timeout.
var ErrStillRunning = errors.New("process still running")

// Wait waits up to timeout for the process to exit and returns its state.
func (p *Process) Wait(timeout time.Duration) (*os.ProcessState, error) {
	select {
	case <-p.done:
		return p.state, nil
	case <-time.After(timeout):
		return nil, ErrStillRunning
	}
}

// KillGroup sends SIGKILL to the process group and waits for the process.
func (p *Process) KillGroup() {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	_, _ = p.Wait(5 * time.Second)
}

// Stop sends SIGTERM and waits up to timeout, then kills the group.
func (p *Process) Stop(timeout time.Duration) *os.ProcessState {
	_ = p.Signal(syscall.SIGTERM)
	st, err := p.Wait(timeout)
	if err != nil {
		p.KillGroup()
		st, _ = p.Wait(time.Second)
	}
	return st
}

// ExitDescription renders a process state as "exit N" or "signal S".
func ExitDescription(st *os.ProcessState) string {
	if st == nil {
		return "running"
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit %d", st.ExitCode())
}
