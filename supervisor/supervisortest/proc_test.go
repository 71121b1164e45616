package supervisortest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stat string
		want Proc
	}{
		{"42 (skrouterd) S 1 42 42 0 -1", Proc{PID: 42, PPID: 1, PGID: 42, State: 'S', Comm: "skrouterd"}},
		{"7 (a (b) c) Z 3 5 5 0", Proc{PID: 7, PPID: 3, PGID: 5, State: 'Z', Comm: "a (b) c"}},
	}
	for _, tt := range tests {
		got, err := parseStat(tt.stat)
		if err != nil || got != tt.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v", tt.stat, got, err, tt.want)
		}
	}
	if _, err := parseStat("garbage"); err == nil {
		t.Error("parseStat(garbage) succeeded")
	}
}

func TestProcsSeesSelf(t *testing.T) {
	t.Parallel()
	ps, err := Procs()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.PID == os.Getpid() {
			if p.PPID != os.Getppid() {
				t.Errorf("own ppid %d, want %d", p.PPID, os.Getppid())
			}
			return
		}
	}
	t.Errorf("own pid %d not in /proc", os.Getpid())
}

// A record read while the router writes its last line sees the complete
// lines only; a complete line that does not parse is still an error.
func TestReadRecordSkipsLineInProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "record.jsonl")
	if err := os.WriteFile(path, []byte("{\"event\":\"start\",\"pid\":7}\n{\"event\":\"sig"), 0o600); err != nil {
		t.Fatal(err)
	}
	ev, err := ReadRecord(path)
	if err != nil || len(ev) != 1 || ev[0].PID != 7 {
		t.Fatalf("ReadRecord = %+v, %v; want the one complete event", ev, err)
	}
	if err := os.WriteFile(path, []byte("{\"event\":\"start\"}\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecord(path); err == nil {
		t.Fatal("a complete line that is not JSON must be an error")
	}
}
