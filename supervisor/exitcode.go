package supervisor

import (
	"fmt"
	"syscall"

	"github.com/edgeproxy/edgeproxy/internal/proc"
)

// exitCodeOf is the process's exit code, or -1 when a signal killed it.
func exitCodeOf(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return -1
	}
	return ws.ExitStatus()
}

// signalNameOf is the name of the signal that killed the process ("SIGKILL"), or "".
func signalNameOf(ws syscall.WaitStatus) string {
	if !ws.Signaled() {
		return ""
	}
	return proc.SignalName(ws.Signal())
}

// ExitStatus is the shell's view of how the process ended: its exit code, or
// 128+N when signal N killed it (as tini, dumb-init and sh report it).
func (e Exit) ExitStatus() int {
	if e.SignalNumber > 0 {
		return 128 + e.SignalNumber
	}
	return e.Code
}

// Describe is a short human text: "exit code 3" or "killed by SIGKILL".
func (e Exit) Describe() string {
	if e.SignalNumber > 0 {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit code %d", e.Code)
}
