package supervisor

import (
	"strings"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/problems"
)

// Config is the supervisor's input. The koanf tags name the keys of the
// supervisor section; the fields tagged "-" are set by cmd/edgeproxy.
type Config struct {
	// Binary is the router executable (looked up on PATH when it has no
	// slash); the router is started with it, as given, as its argv[0].
	Binary string `koanf:"-"` // router.binary, in the router section
	// Management is the router's management listener (host:port, as
	// rendered). A router that logs it cannot listen there has no working
	// management: it is stopped after ListenerFailGrace and Run gives up.
	Management string `koanf:"-"` // derived from router.management, not a key
	// ConfigFile is passed as `-c ConfigFile`.
	ConfigFile string `koanf:"-"` // router.config_file, in the router section
	// StopTimeout is how long a stop waits after SIGTERM before SIGKILL.
	StopTimeout time.Duration `koanf:"stop_timeout"`
	// BackoffInitial and BackoffMax bound the capped exponential restart backoff.
	BackoffInitial time.Duration `koanf:"backoff_initial"`
	BackoffMax     time.Duration `koanf:"backoff_max"`
	// ResetAfter: a router that ran this long resets the backoff and the fast-failure count.
	ResetAfter time.Duration `koanf:"reset_after"`
	// MaxFastFailures: give up after this many consecutive exits each shorter than ResetAfter.
	MaxFastFailures int `koanf:"max_fast_failures"`
	// LinkDownRestartAfter, when above 0, turns the link watchdog on: a
	// running router whose edge link has not been up for this long is
	// restarted once (logged with the reason); when that does not bring the
	// link up, the next restart waits twice as long, up to 16 times this.
	LinkDownRestartAfter time.Duration `koanf:"link_down_restart_after"`
}

// ListenerFailGrace is how long a router that cannot open its management
// listener is left running (not ready, the reason in Status.Problem, so
// /readyz?verbose and /status show it) before it is stopped and the
// supervisor gives up: restarting cannot free a port another process holds.
const ListenerFailGrace = 3 * time.Second

// Validate reports every problem with the supervisor section at once; keys
// are named as in the configuration reference (docs/configuration.md).
func (c Config) Validate() error {
	var p problems.List
	if c.Binary == "" {
		p.Add("router.binary", c.Binary, "must name the skrouterd executable")
	}
	if c.ConfigFile == "" {
		p.Add("router.config_file", c.ConfigFile, "must name the file the rendered configuration is written to")
	} else if !strings.HasSuffix(c.ConfigFile, ".json") {
		// skrouterd parses any other name in its old .conf format, and a JSON file then fails.
		p.Add("router.config_file", c.ConfigFile, "must end in .json: skrouterd reads other names in its old .conf format")
	}
	p.Positive("supervisor.stop_timeout", c.StopTimeout, c.StopTimeout)
	p.Positive("supervisor.backoff_initial", c.BackoffInitial, c.BackoffInitial)
	p.Positive("supervisor.backoff_max", c.BackoffMax, c.BackoffMax)
	p.Positive("supervisor.reset_after", c.ResetAfter, c.ResetAfter)
	if c.BackoffInitial > 0 && c.BackoffMax > 0 && c.BackoffInitial > c.BackoffMax {
		p.Add("supervisor.backoff_initial", c.BackoffInitial, "must not exceed supervisor.backoff_max (%s)", c.BackoffMax)
	}
	if c.LinkDownRestartAfter < 0 {
		p.Add("supervisor.link_down_restart_after", c.LinkDownRestartAfter, "must be 0 (off) or a positive duration such as 5m")
	}
	if c.MaxFastFailures < 1 {
		p.Add("supervisor.max_fast_failures", c.MaxFastFailures, "must be at least 1")
	}
	return p.Err()
}
