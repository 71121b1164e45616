package notify

import (
	"testing"
	"time"
)

func TestBroadcast(t *testing.T) {
	t.Parallel()
	var b Broadcast
	first := b.Changed()
	select {
	case <-first:
		t.Fatal("closed before any Notify")
	default:
	}
	b.Notify()
	select {
	case <-first:
	case <-time.After(time.Second):
		t.Fatal("not closed by Notify")
	}
	second := b.Changed()
	if second == first {
		t.Fatal("the next waiter gets the closed channel")
	}
	select {
	case <-second:
		t.Fatal("the next channel is closed already")
	default:
	}
}
