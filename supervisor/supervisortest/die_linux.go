package supervisortest

import (
	"syscall"
	"unsafe"
)

// sigaction is the kernel's struct sigaction on Linux (rt_sigaction).
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// dieBy kills the process with sig whatever the dispositions it inherited:
// signal.Reset would return an inherited "ignored" (nohup go test ...
// ignores SIGHUP) and the router under test would hang instead of dying.
// The kernel's default action is set directly, then the signal is sent.
func dieBy(sig syscall.Signal) {
	act := sigaction{} // handler SIG_DFL (0)
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	_ = syscall.Kill(syscall.Getpid(), sig)
}
