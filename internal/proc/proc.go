// Package proc holds the small facts about processes that edgeproxy, its
// supervisor and its test harnesses share: signal names, how an exit is
// described, and which environment variables are edgeproxy's own.
package proc

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ConfigEnvPrefix marks edgeproxy's configuration variables (EDGEPROXY_*),
// which never reach the router.
const ConfigEnvPrefix = "EDGEPROXY_"

// SignalName is the conventional name of sig ("SIGTERM"), or its Go
// description when it has none.
func SignalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return sig.String()
}

// DescribeExit says how a process ended: "exit code N" or "killed by SIGX".
func DescribeExit(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + SignalName(ws.Signal())
	}
	return fmt.Sprintf("exit code %d", ws.ExitStatus())
}

// WithoutConfigEnv returns environ without edgeproxy's own variables.
func WithoutConfigEnv(environ []string) []string {
	env := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, ConfigEnvPrefix) {
			env = append(env, kv)
		}
	}
	return env
}
