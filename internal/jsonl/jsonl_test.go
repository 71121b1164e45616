package jsonl

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	t.Parallel()
	type ev struct{ N int }
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		want          int
		fails         bool
	}{
		{"complete lines", "{\"N\":1}\n{\"N\":2}\n", 2, false},
		{"a line being written", "{\"N\":1}\n{\"N\":", 1, false},
		{"nothing complete yet", "{\"N\":", 0, false},
		{"a bad complete line", "{\"N\":1}\nnot json\n", 0, true},
	} {
		p := filepath.Join(dir, tt.name)
		if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Read[ev](p)
		if (err != nil) != tt.fails || len(got) != tt.want {
			t.Errorf("%s: %v, %v; want %d events, error %v", tt.name, got, err, tt.want, tt.fails)
		}
	}
	if got, err := Read[ev](filepath.Join(dir, "missing")); err != nil || got != nil {
		t.Errorf("missing file: %v, %v", got, err)
	}
}
