// Package notify is a change notification: the owner of some state calls
// Notify after each change; readers take Changed's channel, read the state,
// and wait for the channel to close. Taking the channel before reading
// means no change is missed.
package notify

import "sync"

// Broadcast wakes every waiter at each Notify. The zero value is ready.
type Broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

// Changed returns a channel closed at the next Notify.
func (b *Broadcast) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// Notify closes the channel the waiters hold and starts a new one.
func (b *Broadcast) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
	}
	b.ch = make(chan struct{})
}
