// Package supervisor launches, restarts and stops skrouterd for edgeproxy,
// which runs as PID 1 of the proxy container.
//
// # Process
//
// The router is started as `Config.Binary -c Config.ConfigFile` in its own
// process group (Setpgid), with stdin on /dev/null. Its environment is
// edgeproxy's own minus every EDGEPROXY_* variable: configuration (and any
// secret in it) never leaks into the router or its children, while PATH,
// HOME, QDROUTERD_HOME, locale and the like pass through.
//
// Its stdout and stderr (skrouterd logs to stderr only) are read by one
// goroutine per pipe and logged line by line with source=skrouterd,
// stream=stderr|stdout and pid, at a level taken from the router's own
// severity ("(error)" → ERROR). The readers never wait for the log: lines go
// through a bounded queue and are dropped (and the drop counted in the log)
// when edgeproxy's log is slower than the router; a line longer than 8 KiB is
// cut. The last 20 lines are kept for exit reports.
//
// # Reaping: one wait loop
//
// One goroutine per process (the reaper) receives SIGCHLD and calls
// wait4(-1, WNOHANG) until nothing is left. It reaps every child: the
// router, and orphans re-parented to edgeproxy because it is PID 1 or, when
// it is not, because it made itself a child subreaper
// (prctl PR_SET_CHILD_SUBREAPER) before its first launch. The router's
// status is handed to the supervisor by pid: the router is forked while the
// reaper's table is locked and its pid is registered in the same critical
// section, so the loop can never reap it unannounced. Nothing else waits
// for children: os/exec's Wait (or os.Process.Wait) would race the reaper
// and lose the status, so the router is started with os.StartProcess and
// its handle released at once. A consequence for callers: a program that
// runs a Supervisor must not start other children with os/exec and Wait for
// them.
//
// # Restart policy
//
// Any exit that was not requested is unexpected, exit code 0 included. The
// pure policy (backoff.go) decides what follows:
//   - exit code 1 within the first second with a last stderr line
//     "skrouterd: <reason>" is the router refusing its configuration:
//     restarting cannot fix it, so Run gives up at once with that reason;
//   - an exit after a run of at least ResetAfter forgets earlier failures
//     and restarts after BackoffInitial;
//   - otherwise it is a fast failure: after MaxFastFailures of them in a row
//     Run gives up; before that it restarts after a delay that doubles from
//     BackoffInitial up to BackoffMax, minus up to 20% random jitter.
//
// Before a restart, whatever the dead router left in its process group is
// killed, so that a new router starts alone. The router reconnects its edge
// link by itself, so a down link never causes a restart.
//
// # Stop
//
// Cancelling Run's context is a requested stop: the phase becomes
// "stopping" first (health turns not-ready), then the router's process
// group gets SIGTERM; Run waits up to StopTimeout for the router and every
// other member of its group, then SIGKILLs the group and waits (up to 2 s)
// until everything in it is reaped. Run returns nil when
// the router exited 0 (skrouterd's answer to SIGTERM) or died of that
// SIGTERM (sent before its handlers existed, in its first 0.15 s), or when
// no router was running (backing off, or it had just exited by itself, which
// is logged); otherwise
// an *ExitError with the router's exit status (137 after SIGKILL). Signals
// other than the stop's SIGTERM and SIGKILL are never sent by this package;
// in particular never SIGHUP, after which skrouterd ignores SIGTERM.
//
// # Host name
//
// Before the first launch the host name is resolved with a one-second
// timeout; when that fails or is slow a warning names the cause (skrouterd
// resolves its own name twice at start and takes 20 s instead of 0.2 s
// without an answer) and the fix (the name in /etc/hosts).
//
// # State
//
// Status returns an immutable snapshot (an atomic pointer, replaced by
// Run's goroutine on every change); it implements StatusReader.
package supervisor
