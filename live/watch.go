package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// MissingGrace is how long a watched file may be missing after a change
// before the change is reported anyway (a writer that deletes and then
// recreates a file, an editor's rename dance).
const MissingGrace = 2 * time.Second

// Watcher reports changes of the content of a set of files. It watches
// their folders, not the files: editors replace a file by renaming a new
// one over it, and Kubernetes updates a mounted ConfigMap or Secret by
// swapping the ..data symlink, and in both cases a watch on the file itself
// would stay on the old inode. Any event in a watched folder starts (or
// restarts) the debounce; when it ends, the files' contents are compared
// with the last ones seen (through symlinks), and a difference is reported.
// While a watched file is missing, the report waits up to MissingGrace for
// it to come back.
type Watcher struct {
	debounce time.Duration
	log      *slog.Logger
	fs       *fsnotify.Watcher

	mu     sync.Mutex
	files  []string
	dirs   []string
	digest map[string]string
}

// NewWatcher returns a watcher with the given debounce; Close releases it.
func NewWatcher(debounce time.Duration, logger *slog.Logger) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch files: %w", err)
	}
	return &Watcher{debounce: debounce, log: logger, fs: fw, digest: map[string]string{}}, nil
}

// Close stops watching.
func (w *Watcher) Close() error { return w.fs.Close() }

// SetFiles makes files (empty names ignored) the watched set; their current
// contents are the baseline for the next report.
func (w *Watcher) SetFiles(files ...string) error {
	var set, dirs []string
	for _, f := range files {
		if f == "" {
			continue
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return fmt.Errorf("watch %s: %w", f, err)
		}
		if !slices.Contains(set, abs) {
			set = append(set, abs)
		}
		if d := filepath.Dir(abs); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range w.dirs {
		if !slices.Contains(dirs, d) {
			_ = w.fs.Remove(d)
		}
	}
	for _, d := range dirs {
		if !slices.Contains(w.dirs, d) {
			if err := w.fs.Add(d); err != nil {
				return fmt.Errorf("watch %s: %w", d, err)
			}
		}
	}
	w.files, w.dirs = set, dirs
	w.digest = map[string]string{}
	for _, f := range set {
		w.digest[f] = FileDigest(f)
	}
	return nil
}

// Run reports changes to onChange (the files whose content changed, in the
// order they were set) until ctx ends. onChange runs on Run's goroutine.
func (w *Watcher) Run(ctx context.Context, onChange func(changed []string)) error {
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	var missingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fs.Events:
			if !ok {
				return nil
			}
			w.log.Debug("watched folder changed", "event", ev.String())
			debounce.Reset(w.debounce)
		case err, ok := <-w.fs.Errors:
			if !ok {
				return nil
			}
			w.log.Warn("file watch error", "err", err)
		case <-debounce.C:
			changed, missing := w.changes(false)
			if len(missing) > 0 {
				if missingSince.IsZero() {
					missingSince = time.Now()
				}
				if time.Since(missingSince) < MissingGrace {
					w.log.Info("watched file missing; waiting for it to come back", "files", missing, "grace", MissingGrace)
					debounce.Reset(w.debounce)
					continue
				}
			}
			missingSince = time.Time{}
			changed, _ = w.changes(true)
			if len(changed) > 0 {
				onChange(changed)
			}
		}
	}
}

// changes returns the files whose content differs from the last seen, and
// the files that are missing; commit records the new contents.
func (w *Watcher) changes(commit bool) (changed, missing []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.files {
		d := FileDigest(f)
		if d == "" {
			missing = append(missing, f)
		}
		if d != w.digest[f] {
			changed = append(changed, f)
		}
	}
	if commit {
		for _, f := range changed {
			w.digest[f] = FileDigest(f)
		}
	}
	return changed, missing
}

// FileDigest is a digest of the file's content (through symlinks), "" when
// it cannot be read.
func FileDigest(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
