package supervisor

import "time"

// Phase is where the supervisor's lifecycle stands.
type Phase string

const (
	PhaseStarting   Phase = "starting"    // before the first launch
	PhaseRunning    Phase = "running"     // the router process is running
	PhaseBackingOff Phase = "backing-off" // waiting to restart after an unexpected exit
	PhaseStopping   Phase = "stopping"    // a requested stop is under way
	PhaseStopped    Phase = "stopped"     // the router stopped on request
	PhaseFailed     Phase = "failed"      // the supervisor gave up
)

// Exit describes how one router process ended.
type Exit struct {
	PID    int
	Code   int    // exit code, or -1 when killed by a signal
	Signal string // signal name when killed by a signal, else ""
	// SignalNumber is the number of the signal that killed it, else 0.
	SignalNumber int
	At           time.Time
	Uptime       time.Duration
	LastLogs     []string // the router's last stderr lines
	// Ready: the router had reached readiness (its edge link was up, as
	// reported through MarkReady) before it exited.
	Ready bool
}

// Status is an immutable snapshot of the supervisor, safe to share.
type Status struct {
	Phase     Phase
	PID       int       // 0 when no router process runs
	StartedAt time.Time // start of the current (or last) router process
	Restarts  int       // unexpected exits followed by a restart
	LastExit  *Exit     // nil until the first exit
	NextStart time.Time // when backing off: when the next launch is due
	// Problem is a fault the router reported that it cannot get over by
	// itself (its management listener could not bind), or "".
	Problem string
}

// Alive reports whether the router process runs or a restart is pending.
func (s Status) Alive() bool {
	return s.Phase == PhaseStarting || s.Phase == PhaseRunning || s.Phase == PhaseBackingOff
}

// StatusReader gives read-only access to the supervisor's state.
type StatusReader interface {
	Status() Status
}

// Notifier tells when the supervisor's state changes: Changed's channel is
// closed at the next change (take it before reading Status).
type Notifier interface {
	Changed() <-chan struct{}
}
