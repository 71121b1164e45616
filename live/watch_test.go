package live

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// startWatcher watches files and returns the channel of its reports.
func startWatcher(t *testing.T, files ...string) (*Watcher, <-chan []string) {
	t.Helper()
	w, err := NewWatcher(50*time.Millisecond, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetFiles(files...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reports := make(chan []string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx, func(changed []string) { reports <- changed })
	}()
	t.Cleanup(func() { cancel(); <-done; _ = w.Close() })
	return w, reports
}

func next(t *testing.T, reports <-chan []string) []string {
	t.Helper()
	select {
	case r := <-reports:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported")
		return nil
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWatcher(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// change changes the file at path (in its own folder dir) to "new".
		setup  func(t *testing.T, dir string) string
		change func(t *testing.T, dir, path string)
	}{
		{
			name:   "written in place",
			setup:  func(t *testing.T, dir string) string { p := filepath.Join(dir, "c.yaml"); write(t, p, "old"); return p },
			change: func(t *testing.T, _, path string) { write(t, path, "new") },
		},
		{
			name:  "renamed into place (editors)",
			setup: func(t *testing.T, dir string) string { p := filepath.Join(dir, "c.yaml"); write(t, p, "old"); return p },
			change: func(t *testing.T, dir, path string) {
				tmp := filepath.Join(dir, ".c.yaml.swp")
				write(t, tmp, "new")
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "..data symlink swap (Kubernetes volumes)",
			setup: func(t *testing.T, dir string) string {
				v1 := filepath.Join(dir, "..v1")
				if err := os.Mkdir(v1, 0o700); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(v1, "c.yaml"), "old")
				if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, "c.yaml")
				if err := os.Symlink("..data/c.yaml", p); err != nil {
					t.Fatal(err)
				}
				return p
			},
			change: func(t *testing.T, dir, _ string) {
				v2 := filepath.Join(dir, "..v2")
				if err := os.Mkdir(v2, 0o700); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(v2, "c.yaml"), "new")
				if err := os.Symlink("..v2", filepath.Join(dir, "..data_tmp")); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
					t.Fatal(err)
				}
				_ = os.RemoveAll(filepath.Join(dir, "..v1"))
			},
		},
		{
			name:  "briefly gone, then back",
			setup: func(t *testing.T, dir string) string { p := filepath.Join(dir, "c.yaml"); write(t, p, "old"); return p },
			change: func(t *testing.T, _, path string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond) // longer than the debounce: the watcher sees it missing
				write(t, path, "new")
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := tc.setup(t, dir)
			other := filepath.Join(dir, "other.pem")
			write(t, other, "pem")
			_, reports := startWatcher(t, path, other)
			// Negative control: an event that changes no content is not
			// reported (the first report below must be the real change).
			write(t, other, "pem")
			tc.change(t, dir, path)
			got := next(t, reports)
			abs, _ := filepath.Abs(path)
			if !slices.Equal(got, []string{abs}) {
				t.Fatalf("reported %v, want [%s]", got, abs)
			}
			if b, _ := os.ReadFile(path); string(b) != "new" {
				t.Fatalf("content %q", b)
			}
			// A second change is reported too.
			write(t, other, "pem2")
			if got := next(t, reports); len(got) != 1 || filepath.Base(got[0]) != "other.pem" {
				t.Errorf("second report %v", got)
			}
		})
	}
}

// TestWatcherGone: a file that stays gone is reported after MissingGrace.
func TestWatcherGone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	write(t, p, "old")
	_, reports := startWatcher(t, p)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if got := next(t, reports); len(got) != 1 {
		t.Errorf("reported %v", got)
	}
}
