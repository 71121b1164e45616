package proc

import (
	"os/exec"
	"slices"
	"syscall"
	"testing"
)

func TestSignalName(t *testing.T) {
	t.Parallel()
	for sig, want := range map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP", syscall.SIGKILL: "SIGKILL"} {
		if got := SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", sig, got, want)
		}
	}
}

func TestDescribeExit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		script, want string
	}{{"exit 3", "exit code 3"}, {"kill -KILL $$", "killed by SIGKILL"}, {"exit 0", "exit code 0"}} {
		err := exec.Command("/bin/sh", "-c", tt.script).Run()
		var ws syscall.WaitStatus
		if ee, ok := err.(*exec.ExitError); ok {
			ws = ee.Sys().(syscall.WaitStatus)
		}
		if got := DescribeExit(ws); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.script, got, tt.want)
		}
	}
}

func TestWithoutConfigEnv(t *testing.T) {
	t.Parallel()
	got := WithoutConfigEnv([]string{"PATH=/bin", "EDGEPROXY_UPLINK__HOST=x", "XEDGEPROXY_=kept", "EDGEPROXY_CONFIG=/c"})
	if want := []string{"PATH=/bin", "XEDGEPROXY_=kept"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
