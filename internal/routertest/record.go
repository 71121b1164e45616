package routertest

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
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
// not exist yet).
func ReadRecord(t testing.TB, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("read record: %v", err)
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // a line being written right now
		}
		out = append(out, e)
	}
	return out
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
