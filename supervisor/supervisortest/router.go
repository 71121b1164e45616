// Package supervisortest provides a fake router for tests of the supervisor
// and of `edgeproxy run`: the test binary re-executes itself as the router
// (TestMain calls MaybeRunRouter first) and misbehaves exactly as its
// Controls say, recording what it saw (argv, environment, signals) as JSON
// lines. It also has helpers to poll with a deadline and to inspect /proc.
package supervisortest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/jsonl"
	"github.com/edgeproxy/edgeproxy/internal/proc"
)

// envControls carries the JSON-encoded Controls to the re-executed binary.
const envControls = "SUPERVISORTEST_ROUTER"

// Controls say how the fake router behaves. The zero value runs until
// SIGTERM and then exits 0, like skrouterd.
type Controls struct {
	// Record is a file the router appends JSON lines to (see Event).
	Record string `json:",omitempty"`
	// Stderr lines are written at start; Flood more lines are written after them.
	Stderr []string `json:",omitempty"`
	Flood  int      `json:",omitempty"`
	// ExitAfter > 0: exit with ExitCode (or die by KillSignal) after this long.
	ExitAfter  time.Duration  `json:",omitempty"`
	ExitCode   int            `json:",omitempty"`
	KillSignal syscall.Signal `json:",omitempty"`
	// IgnoreTerm: SIGTERM and SIGINT are recorded and ignored.
	IgnoreTerm bool `json:",omitempty"`
	// GroupChild starts a child in the router's process group that ignores SIGTERM.
	GroupChild bool `json:",omitempty"`
	// Orphan starts a child in a new session that outlives the router by
	// OrphanFor and then exits: a zombie unless PID 1 reaps it.
	Orphan    bool          `json:",omitempty"`
	OrphanFor time.Duration `json:",omitempty"`

	role string // "", "group-child", "orphan"
}

// Env returns the environment variable that makes the re-executed test
// binary act as the router with these controls.
func (c Controls) Env() string {
	b, err := json.Marshal(struct {
		Controls
		Role string
	}{c, c.role})
	if err != nil {
		panic(err)
	}
	return envControls + "=" + string(b)
}

// Environ returns the environment entries that make the re-executed test
// binary act as the router: Env, and GORACE without the race detector's
// default one-second sleep at exit (which would look like a slow stop).
func (c Controls) Environ() []string {
	return []string{c.Env(), "GORACE=atexit_sleep_ms=0"}
}

// Event is one line of a router's record.
type Event struct {
	Event  string   `json:"event"` // start, signal, group-child, orphan
	PID    int      `json:"pid"`
	PGID   int      `json:"pgid,omitempty"`
	Args   []string `json:"args,omitempty"`
	Env    []string `json:"env,omitempty"`
	Signal string   `json:"signal,omitempty"`
}

// MaybeRunRouter acts as the fake router and exits when the environment
// says so; otherwise it returns at once. Call it first in TestMain.
func MaybeRunRouter() {
	v, ok := os.LookupEnv(envControls)
	if !ok {
		return
	}
	var c struct {
		Controls
		Role string
	}
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		fmt.Fprintf(os.Stderr, "supervisortest: bad %s: %v\n", envControls, err)
		os.Exit(99)
	}
	switch c.Role {
	case "group-child":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		record(c.Controls, Event{Event: "group-child"})
		select {}
	case "orphan":
		record(c.Controls, Event{Event: "orphan"})
		time.Sleep(c.OrphanFor)
		os.Exit(0)
	}
	os.Exit(runRouter(c.Controls))
}

func runRouter(c Controls) int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	record(c, Event{Event: "start", Args: os.Args[1:], Env: os.Environ()})
	for _, l := range c.Stderr {
		fmt.Fprintln(os.Stderr, l)
	}
	for i := 0; i < c.Flood; i++ {
		fmt.Fprintf(os.Stderr, "flood line %d\n", i)
	}
	if c.GroupChild {
		spawn(c, "group-child", nil)
	}
	if c.Orphan {
		spawn(c, "orphan", &syscall.SysProcAttr{Setsid: true})
	}
	var exit <-chan time.Time
	if c.ExitAfter > 0 {
		exit = time.After(c.ExitAfter)
	}
	hupped := false
	for {
		select {
		case <-exit:
			if c.KillSignal != 0 {
				dieBy(c.KillSignal)
				select {}
			}
			return c.ExitCode
		case s := <-sigs:
			sig := s.(syscall.Signal)
			record(c, Event{Event: "signal", Signal: proc.SignalName(sig)})
			switch {
			case sig == syscall.SIGHUP:
				hupped = true // like skrouterd: SIGTERM is ignored from now on
			case (sig == syscall.SIGTERM || sig == syscall.SIGINT) && !c.IgnoreTerm && !hupped:
				fmt.Fprintln(os.Stderr, "ROUTER (info) Shut Down")
				return 0
			}
		}
	}
}

// spawn starts the test binary again in role, without waiting for it.
func spawn(c Controls, role string, sys *syscall.SysProcAttr) {
	c.role = role
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), c.Env())
	cmd.SysProcAttr = sys
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "supervisortest: start %s: %v\n", role, err)
		os.Exit(98)
	}
}

func record(c Controls, e Event) {
	if c.Record == "" {
		return
	}
	e.PID = os.Getpid()
	e.PGID, _ = syscall.Getpgid(0)
	b, _ := json.Marshal(e)
	f, err := os.OpenFile(c.Record, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "supervisortest: record: %v\n", err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(b, '\n')) // one write with O_APPEND: lines never interleave
}

// ReadRecord returns the events recorded in path (none when it does not exist).
func ReadRecord(path string) ([]Event, error) { return jsonl.Read[Event](path) }

// Count returns how many events of kind (and signal, when not "") there are.
func Count(events []Event, kind, sig string) int {
	n := 0
	for _, e := range events {
		if e.Event == kind && (sig == "" || e.Signal == sig) {
			n++
		}
	}
	return n
}
