package routertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/proc"
)

// EnvReal names the environment variable that selects real mode.
const EnvReal = "SKROUTERD"

// Python is the interpreter that has Debian's python3-qpid-proton.
const Python = "/usr/bin/python3"

// RealBinary returns the real skrouterd named by $SKROUTERD, if any, as an
// absolute path where it can be found: a bare name is looked up on PATH and a
// relative path is taken from the module root (where `make test` runs; go
// test runs each package in its own directory).
func RealBinary() (string, bool) {
	p := os.Getenv(EnvReal)
	if p == "" {
		return "", false
	}
	return resolveReal(p), true
}

func resolveReal(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	if !strings.Contains(p, "/") {
		if abs, err := exec.LookPath(p); err == nil {
			if abs, err := filepath.Abs(abs); err == nil {
				return abs
			}
		}
		return p
	}
	root := filepath.Join(filepath.Dir(FakePath()), "..", "..", "..")
	if fromRoot := filepath.Join(root, p); fileExists(fromRoot) {
		return fromRoot
	}
	if abs, err := filepath.Abs(p); err == nil && fileExists(abs) {
		return abs
	}
	return p
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// RouterEnv is the environment a router launched by something other than the
// harness (edgeproxy's supervisor under test) should inherit from the test.
// In real mode that is the test's whole environment minus EDGEPROXY_*, as
// edgeproxy passes its own to the router: a real skrouterd may need
// QDROUTERD_HOME, PYTHONPATH or LD_LIBRARY_PATH from it. In fake mode it is
// empty (the fake needs nothing from the environment).
func RouterEnv() []string {
	if !Real() {
		return nil
	}
	return proc.WithoutConfigEnv(os.Environ())
}

// Real reports whether the harness runs real routers.
func Real() bool {
	_, ok := RealBinary()
	return ok
}

// RequireFake skips the test in real mode, giving why the real router cannot
// be used.
func RequireFake(t testing.TB, why string) {
	t.Helper()
	if Real() {
		t.Skipf("real skrouterd (%s=%s): %s", EnvReal, os.Getenv(EnvReal), why)
	}
}

// RequireReal skips the test in fake mode, giving what the fake does not
// model.
func RequireReal(t testing.TB, why string) {
	t.Helper()
	if !Real() {
		t.Skipf("needs a real skrouterd (%s): the fake does not model this: %s", EnvReal, why)
	}
}

// FakePath is the absolute path of testdata/fake-skrouterd.
func FakePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "fake-skrouterd")
}

// Controls are failures and probes the fake produces on demand. The zero value
// asks for none. In real mode, StartDelay, Orphan, Record (argv and config
// only) and CrashSignal (sent from outside) are given by a wrapper; the others
// make Binary skip the test.
type Controls struct {
	// CrashAfter, with CrashCode or CrashSignal, makes the router exit with
	// CrashCode (1 when zero) or die by CrashSignal this long after it started.
	// A crash is asked for when any of the three is set.
	CrashAfter  time.Duration
	CrashCode   int
	CrashSignal syscall.Signal
	// HangAfter > 0: from then on every management request goes unanswered
	// while connections stay open.
	HangAfter time.Duration
	// StartDelay > 0: wait this long before reading the configuration (signals
	// meanwhile take their default action, as in a real slow start).
	StartDelay time.Duration
	// Orphan: spawn a double-forked `sleep` grandchild that outlives its parent
	// (for OrphanFor, 60 s when zero). Its pid is recorded as "orphan".
	Orphan    bool
	OrphanFor time.Duration
	// IgnoreTerm: SIGTERM is recorded and otherwise ignored.
	IgnoreTerm bool
	// Record is a file the router appends JSON events to (see Event).
	Record string
	// ConfigFile: read this configuration instead of the one given with -c
	// (a refused configuration under any launcher).
	ConfigFile string
	// Argv0 is the name the router runs under (its argv[0], which it
	// prefixes its last line with when it refuses a configuration); empty:
	// the path it was started by.
	Argv0 string
}

func (c Controls) crash() bool { return c.CrashAfter > 0 || c.CrashCode != 0 || c.CrashSignal != 0 }

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// Env returns the FAKE_SKROUTERD_* assignments for c.
func (c Controls) Env() []string {
	var env []string
	add := func(k, v string) { env = append(env, "FAKE_SKROUTERD_"+k+"="+v) }
	if c.crash() {
		add("CRASH_AFTER", seconds(c.CrashAfter))
		if c.CrashSignal != 0 {
			add("CRASH_SIGNAL", strconv.Itoa(int(c.CrashSignal)))
		} else if c.CrashCode != 0 {
			add("CRASH_CODE", strconv.Itoa(c.CrashCode))
		}
	}
	if c.HangAfter > 0 {
		add("HANG_AFTER", seconds(c.HangAfter))
	}
	if c.StartDelay > 0 {
		add("START_DELAY", seconds(c.StartDelay))
	}
	if c.Orphan {
		add("ORPHAN", seconds(c.orphanFor()))
	}
	if c.IgnoreTerm {
		add("IGNORE_TERM", "1")
	}
	if c.Record != "" {
		add("RECORD", c.Record)
	}
	if c.ConfigFile != "" {
		add("CONFIG", c.ConfigFile)
	}
	if c.Argv0 != "" {
		add("ARGV0", c.Argv0)
	}
	return env
}

func (c Controls) orphanFor() time.Duration {
	if c.OrphanFor > 0 {
		return c.OrphanFor
	}
	return 60 * time.Second
}

// unsupportedByReal lists the controls a real router cannot give.
func (c Controls) unsupportedByReal() []string {
	var out []string
	if c.crash() && c.CrashSignal == 0 {
		out = append(out, "crash with an exit code")
	}
	if c.HangAfter > 0 {
		out = append(out, "hang (stop answering management)")
	}
	if c.IgnoreTerm {
		out = append(out, "ignore SIGTERM")
	}
	return out
}

// Binary returns an executable to launch as skrouterd with the given controls:
// a symlink named skrouterd in a directory of the test's own. In fake mode it
// points at the fake, in real mode at the real binary or, when a control is
// asked for, at testdata/real-wrapper (which records, delays, orphans or
// arranges a crash signal and then execs the real router, keeping the pid).
// The controls are written next to it, in skrouterd.controls, which the fake
// and the wrapper read: no test writes an executable, so no exec can fail
// with "text file busy" while parallel tests fork (Go issue 22315). A control
// the real router cannot give skips the test. The directory can also be put
// on PATH to launch the router by its bare name.
func Binary(t testing.TB, c Controls) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "skrouterd")
	if real, ok := RealBinary(); ok {
		if missing := c.unsupportedByReal(); len(missing) > 0 {
			t.Skipf("real skrouterd (%s=%s) cannot %s on demand", EnvReal, real, strings.Join(missing, ", "))
		}
		if why := slowHostname(); why != "" {
			t.Skipf("real skrouterd (%s=%s) unusable here: %s", EnvReal, real, why)
		}
		if c == (Controls{}) {
			symlink(t, real, path)
			return path
		}
		writeControls(t, path, realControls(real, c))
		symlink(t, RealWrapperPath(), path)
		return path
	}
	if err := checkFake(); err != nil {
		t.Fatalf("fake skrouterd unusable: %v", err)
	}
	var b strings.Builder
	for _, kv := range c.Env() {
		b.WriteString(kv + "\n")
	}
	writeControls(t, path, []byte(b.String()))
	symlink(t, FakePath(), path)
	return path
}

func symlink(t testing.TB, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatalf("router binary: %v", err)
	}
}

// writeControls writes the controls file the fake or the wrapper started as
// path reads (a plain file, never executed).
func writeControls(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".controls", data, 0o600); err != nil {
		t.Fatalf("router controls: %v", err)
	}
}

// RealWrapperPath is the absolute path of testdata/real-wrapper.
func RealWrapperPath() string { return filepath.Join(filepath.Dir(FakePath()), "real-wrapper") }

var fakeCheck = sync.OnceValue(func() error {
	if out, err := exec.Command(Python, "-c", "import proton.reactor, proton.handlers").CombinedOutput(); err != nil {
		return fmt.Errorf("%s cannot import proton (install Debian's python3-qpid-proton: make setup): %v: %s", Python, err, out)
	}
	if fi, err := os.Stat(FakePath()); err != nil || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is missing or not executable (%v)", FakePath(), err)
	}
	return nil
})

// resolveWithin is how long resolving the host name may take before a real
// router is deemed too slow to start here.
const resolveWithin = 5 * time.Second

// slowHostname says, once per test binary, why a real router would start
// slowly here, or "" when it would not. A real skrouterd resolves its own host
// name twice while starting; where that waits for DNS servers that never
// answer, start-up takes 20 s instead of 0.2 s (README) and every test would
// time out. It asks glibc as the router does (getent); a name that fails to
// resolve at once does not slow the router and does not count.
var slowHostname = sync.OnceValue(func() string {
	name, err := os.Hostname()
	if err != nil {
		return ""
	}
	if _, err := exec.LookPath("getent"); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveWithin)
	defer cancel()
	_ = exec.CommandContext(ctx, "getent", "hosts", name).Run()
	if ctx.Err() != nil {
		return fmt.Sprintf("its host name %q does not resolve within %v (getent hosts %s), so skrouterd would take about 20 s to start (README: it resolves its own host name twice); add the name to /etc/hosts", name, resolveWithin, name)
	}
	return ""
})

// checkFake reports, once per test binary, whether the fake can run here.
func checkFake() error { return fakeCheck() }

// realControls are the wrapper's parameters for c (see testdata/real-wrapper).
func realControls(real string, c Controls) []byte {
	orphan := 0.0
	if c.Orphan {
		orphan = c.orphanFor().Seconds()
	}
	b, err := json.Marshal(map[string]any{
		"real": real, "record": c.Record, "delay": c.StartDelay.Seconds(), "orphan": orphan,
		"crash_after": c.CrashAfter.Seconds(), "crash_signal": int(c.CrashSignal),
		"config": c.ConfigFile, "argv0": c.Argv0,
	})
	if err != nil {
		panic(err)
	}
	return b
}
