// Package poll waits for a condition with a deadline, for tests: polling
// helpers instead of sleeps.
package poll

import (
	"testing"
	"time"
)

// Interval is how often Eventually retries.
const Interval = 20 * time.Millisecond

// Eventually calls fn until it returns nil or timeout passes, then fails the
// test with fn's last error.
func Eventually(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	EventuallyEvery(t, timeout, Interval, fn)
}

// EventuallyEvery is Eventually polling every interval, for measurements
// that need a finer step than Interval.
func EventuallyEvery(t testing.TB, timeout, interval time.Duration, fn func() error) {
	t.Helper()
	if err := PollEvery(timeout, interval, fn); err != nil {
		t.Fatalf("not within %v: %v", timeout, err)
	}
}

// Poll calls fn every Interval until it returns nil or timeout passes
// and returns fn's last error (nil on success).
func Poll(timeout time.Duration, fn func() error) error {
	return PollEvery(timeout, Interval, fn)
}

// PollEvery is Poll with its own interval.
func PollEvery(timeout, interval time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(interval)
	}
}
