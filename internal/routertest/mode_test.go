package routertest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SKROUTERD may be given as `make test` sees it: a name on PATH or a path
// relative to the module root, while go test runs in the package directory.
func TestRealBinaryResolves(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	for _, tc := range []struct{ value, want string }{
		{"/opt/skupper/sbin/skrouterd", "/opt/skupper/sbin/skrouterd"},
		{"sh", sh},
		{"internal/routertest/testdata/fake-skrouterd", FakePath()},
		{"./internal/routertest/testdata/fake-skrouterd", FakePath()},
		{"testdata/fake-skrouterd", FakePath()}, // relative to the package directory
	} {
		t.Setenv(EnvReal, tc.value)
		got, ok := RealBinary()
		if !ok || filepath.Clean(got) != filepath.Clean(tc.want) {
			t.Errorf("%s=%s: RealBinary() = %q, %v; want %q", EnvReal, tc.value, got, ok, tc.want)
		}
	}
	t.Setenv(EnvReal, "")
	if got, ok := RealBinary(); ok || got != "" {
		t.Errorf("unset: RealBinary() = %q, %v", got, ok)
	}
	if env := RouterEnv(); env != nil {
		t.Errorf("RouterEnv in fake mode = %v", env)
	}
	t.Setenv(EnvReal, sh)
	t.Setenv("EDGEPROXY_UPLINK__HOST", "x")
	t.Setenv("QDROUTERD_HOME", "/home/skrouterd")
	env := strings.Join(RouterEnv(), "\n")
	if !strings.Contains(env, "QDROUTERD_HOME=/home/skrouterd") || strings.Contains(env, "EDGEPROXY_") {
		t.Errorf("RouterEnv in real mode:\n%s", env)
	}
}
