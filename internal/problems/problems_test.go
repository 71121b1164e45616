package problems

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestListWithoutCoveredKeys(t *testing.T) {
	var l List
	l.Add("listeners", "x", "bad")
	l.Add("listeners[1].port", 0, "bad")
	l.Add("listeners[10].port", 0, "bad")
	l.Add("listenersx", 0, "bad") // not below "listeners"
	l.Add("uplink.tls.ca_file", "", "bad")
	l.Merge(errors.Join(errors.New("plain"), &FieldError{Key: "uplink.port"}))
	got := l.Without([]string{"listeners[1]", "uplink.tls"}).Keys()
	want := []string{"listeners", "listeners[10].port", "listenersx", "uplink.port"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Without = %v, want %v", got, want)
	}
	if len(l.Without(nil)) != len(l) {
		t.Errorf("Without(nil) dropped problems")
	}
}

func TestPositiveAndErr(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list must be nil error")
	}
	l.Positive("a", time.Second, "1s")
	l.Positive("b", 0*time.Second, "0s")
	l.Positive("c", -time.Second, "-1s")
	if got := l.Keys(); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Errorf("Positive flagged %v, want [b c]", got)
	}
	if want := `b: must be a positive duration such as 500ms, 2s or 1m (got "0s")`; l[0].Error() != want {
		t.Errorf("message %q, want %q", l[0].Error(), want)
	}
}
