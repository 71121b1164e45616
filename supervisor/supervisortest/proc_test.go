package supervisortest

import (
	"os"
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
