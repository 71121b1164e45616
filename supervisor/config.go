// Package supervisor launches, restarts and stops skrouterd (doc in doc.go).
package supervisor

import "time"

// Config is the supervisor's input.
type Config struct {
	// Binary is the router executable (looked up on PATH when it has no slash).
	Binary string
	// ConfigFile is passed as `-c ConfigFile`.
	ConfigFile string
	// StopTimeout is how long a stop waits after SIGTERM before SIGKILL.
	StopTimeout time.Duration
	// BackoffInitial and BackoffMax bound the capped exponential restart backoff.
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	// ResetAfter: a router that ran this long resets the backoff and the fast-failure count.
	ResetAfter time.Duration
	// MaxFastFailures: give up after this many consecutive exits each shorter than ResetAfter.
	MaxFastFailures int
}
