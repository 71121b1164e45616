package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
	"github.com/edgeproxy/edgeproxy/supervisor"
	"github.com/edgeproxy/edgeproxy/supervisor/supervisortest"
)

func TestMain(m *testing.M) {
	// Re-executed as the router by `edgeproxy run` under test.
	supervisortest.MaybeRunRouter()
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// edgeproxyBinary builds the edgeproxy binary once per test run.
func edgeproxyBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("EDGEPROXY_TEST_BINARY"); bin != "" { // make bench: the release build
		return bin
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "edgeproxy-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "edgeproxy")
		out, err := exec.Command("go", "build", "-buildvcs=false", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// loopbackSeq gives each edgeproxy under test its own loopback address, so
// that parallel runs never share a health or management port.
var loopbackSeq atomic.Int32

func uniqueLoopback() string {
	n := int(loopbackSeq.Add(1)) + os.Getpid()%200*250
	return fmt.Sprintf("127.77.%d.%d", n/250%250, n%250+1)
}

// baseEnv is the environment for `edgeproxy run` in tests: its own loopback
// address for health and management, fast restarts, JSON logs.
func baseEnv(t *testing.T) []string {
	ip := uniqueLoopback()
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"EDGEPROXY_ROUTER__CONFIG_FILE=" + filepath.Join(t.TempDir(), "skrouterd.json"),
		"EDGEPROXY_ROUTER__MANAGEMENT=" + ip + ":5672",
		"EDGEPROXY_HEALTH__LISTEN=" + ip + ":9090",
		"EDGEPROXY_LISTENERS=" + ip + ":18080=my-service:8080",
		"EDGEPROXY_SUPERVISOR__STOP_TIMEOUT=5s",
		"EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL=10ms",
		"EDGEPROXY_SUPERVISOR__BACKOFF_MAX=100ms",
		"EDGEPROXY_SUPERVISOR__MAX_FAST_FAILURES=3",
		"EDGEPROXY_LOG__FORMAT=json",
		"EDGEPROXY_LOG__LEVEL=debug",
	}
}

// proxyEnv is baseEnv over the fake router with ctl (ctl.Record must be
// set); extra entries override earlier ones (os/exec keeps the last).
func proxyEnv(t *testing.T, ctl supervisortest.Controls, extra ...string) []string {
	env := append(baseEnv(t), "EDGEPROXY_ROUTER__BINARY="+os.Args[0])
	return append(append(env, ctl.Environ()...), extra...)
}

// proxy is one `edgeproxy run` process under test.
type proxy struct {
	cmd    *exec.Cmd
	stderr *supervisortest.LogBuffer
	record string
	done   chan struct{}
	code   int
}

// startProxy runs `edgeproxy run` over the fake router with ctl; extra
// environment entries override the defaults. It is killed at cleanup.
func startProxy(t *testing.T, ctl supervisortest.Controls, extra ...string) *proxy {
	t.Helper()
	return startProxyCmd(t, nil, ctl, extra...)
}

// startProxyCmd is startProxy with a command prefix (e.g. unshare ...).
func startProxyCmd(t *testing.T, prefix []string, ctl supervisortest.Controls, extra ...string) *proxy {
	t.Helper()
	ctl.Record = filepath.Join(t.TempDir(), "record.jsonl")
	return launchProxy(t, prefix, proxyEnv(t, ctl, extra...), ctl.Record)
}

// launchProxy runs prefix... edgeproxy run with env; record is the file
// the router records to. The process group is killed at cleanup.
func launchProxy(t *testing.T, prefix, env []string, record string) *proxy {
	t.Helper()
	bin := edgeproxyBinary(t)
	p := &proxy{stderr: &supervisortest.LogBuffer{}, record: record, done: make(chan struct{})}
	argv := append(append([]string(nil), prefix...), bin, "run")
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("edgeproxy log:\n%s", p.stderr)
		}
	})
	return p
}

// wait returns edgeproxy's exit code, failing the test after timeout.
func (p *proxy) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		t.Fatalf("edgeproxy still runs after %s", timeout)
		return -1
	}
}

func (p *proxy) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to edgeproxy: %v", sig, err)
	}
}

func (p *proxy) events(t *testing.T) []supervisortest.Event {
	t.Helper()
	ev, err := supervisortest.ReadRecord(p.record)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// routerPIDs are the pids of the routers launched so far, in order.
func (p *proxy) routerPIDs(t *testing.T) []int {
	var pids []int
	for _, e := range p.events(t) {
		if e.Event == "start" {
			pids = append(pids, e.PID)
		}
	}
	return pids
}

// waitRouters polls until n routers have started and recorded their start
// (their signal handlers are installed), returning their pids.
func (p *proxy) waitRouters(t *testing.T, n int) []int {
	t.Helper()
	var pids []int
	routertest.Eventually(t, 15*time.Second, func() error {
		select {
		case <-p.done:
			t.Fatalf("edgeproxy exited (code %d) before %d routers started", p.code, n)
		default:
		}
		if pids = p.routerPIDs(t); len(pids) < n {
			return fmt.Errorf("%d routers started, want %d", len(pids), n)
		}
		return nil
	})
	return pids
}

// logRecords returns edgeproxy's JSON log records whose msg contains msg.
func (p *proxy) logRecords(msg string) []map[string]any { return p.stderr.Records(msg) }

// noRouterLeft checks that none of pids (nor their process groups) exist.
func noRouterLeft(pids []int) error {
	for _, pid := range pids {
		members, err := supervisortest.GroupMembers(pid)
		if err != nil {
			return err
		}
		if supervisortest.Alive(pid) || len(members) > 0 {
			return fmt.Errorf("router %d or its group still exists: %+v", pid, members)
		}
	}
	return nil
}

func TestRunOutcome(t *testing.T) {
	t.Parallel()
	healthErr := fmt.Errorf("health: listen: address in use")
	tests := []struct {
		name     string
		groupErr error
		supErr   error
		wantCode int
	}{
		{name: "stop signal, clean stop", groupErr: stopRequested{syscall.SIGTERM}, wantCode: exitOK},
		{name: "supervisor gave up", groupErr: &supervisor.ExitError{Code: 1}, supErr: &supervisor.ExitError{Code: 1}, wantCode: 1},
		{name: "router killed on stop", groupErr: stopRequested{syscall.SIGTERM}, supErr: &supervisor.ExitError{Code: 137}, wantCode: 137},
		{name: "another actor failed, clean stop", groupErr: healthErr, wantCode: exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runOutcome(tt.groupErr, tt.supErr, newLogger("text", "error", io.Discard))
			if got := exitCode(io.Discard, "run", err); got != tt.wantCode {
				t.Errorf("exit code %d (err %v), want %d", got, err, tt.wantCode)
			}
		})
	}
}
