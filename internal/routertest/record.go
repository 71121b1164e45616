package routertest

import (
	"testing"

	"github.com/edgeproxy/edgeproxy/internal/jsonl"
)

// Event is one line of the fake's record file (FAKE_SKROUTERD_RECORD).
type Event struct {
	Event     string   `json:"event"` // start, config, signal, orphan, crash, exit
	PID       int      `json:"pid"`
	PPID      int      `json:"ppid,omitempty"`
	Time      float64  `json:"time"`
	Argv      []string `json:"argv,omitempty"`    // start
	Path      string   `json:"path,omitempty"`    // config: the file read
	Content   string   `json:"content,omitempty"` // config: its content
	Signal    string   `json:"signal,omitempty"`  // signal, crash, exit: e.g. "SIGTERM"
	Action    string   `json:"action,omitempty"`  // signal: what the fake did
	Code      *int     `json:"code,omitempty"`    // crash, exit: exit code
	OrphanPID int      `json:"orphan_pid,omitempty"`
}

// ReadRecord returns the events recorded in path so far (none if the file does
// not exist yet; a line still being written is left out).
func ReadRecord(t testing.TB, path string) []Event {
	t.Helper()
	events, err := jsonl.Read[Event](path)
	if err != nil {
		t.Fatalf("read record: %v", err)
	}
	return events
}

// Filter returns the events named name.
func Filter(events []Event, name string) []Event {
	var out []Event
	for _, e := range events {
		if e.Event == name {
			out = append(out, e)
		}
	}
	return out
}
