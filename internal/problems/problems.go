// Package problems collects configuration problems, each named by its
// configuration key, so that validation can report all of them at once.
package problems

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// FieldError is one problem with one configuration key.
type FieldError struct {
	Key     string // e.g. "listeners[1].port"
	Value   any    // the offending value
	Problem string // what is wrong and what is allowed
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s (got %q)", e.Key, e.Problem, fmt.Sprint(e.Value))
}

// List collects problems; the zero value is ready to use.
type List []error

// Add records a problem with key and value.
func (l *List) Add(key string, value any, format string, args ...any) {
	*l = append(*l, &FieldError{Key: key, Value: value, Problem: fmt.Sprintf(format, args...)})
}

// Merge appends the problems of err (a joined error or a single one).
func (l *List) Merge(err error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		*l = append(*l, j.Unwrap()...)
		return
	}
	*l = append(*l, err)
}

// Err returns all problems joined (one per line), or nil when there are none.
func (l List) Err() error { return errors.Join(l...) }

// Positive records a problem when d is not above zero.
func (l *List) Positive(key string, d interface{ Seconds() float64 }, value any) {
	if d.Seconds() <= 0 {
		l.Add(key, value, "must be a positive duration such as 500ms, 2s or 1m")
	}
}

// Keys returns the keys of the problems that are FieldErrors.
func (l List) Keys() []string {
	var keys []string
	for _, err := range l {
		var fe *FieldError
		if errors.As(err, &fe) {
			keys = append(keys, fe.Key)
		}
	}
	return keys
}

// Without returns the problems whose key is not one of keys nor below one
// of them (key.sub or key[i]).
func (l List) Without(keys []string) List {
	var out List
	for _, err := range l {
		var fe *FieldError
		if errors.As(err, &fe) && covered(fe.Key, keys) {
			continue
		}
		out = append(out, err)
	}
	return out
}

func covered(key string, keys []string) bool {
	for _, k := range keys {
		if key == k || strings.HasPrefix(key, k+".") || strings.HasPrefix(key, k+"[") {
			return true
		}
	}
	return false
}

// HostPort records a problem when value is not host:port with a port from
// 1 to 65535 and a host (hostHint, when not empty, says what to use
// instead of an empty host); example is shown with the format. It returns
// the port, 0 when value is invalid.
func (l *List) HostPort(key, value, example, hostHint string) int {
	host, portStr, err := net.SplitHostPort(value)
	if err != nil {
		l.Add(key, value, "must be host:port, e.g. %s", example)
		return 0
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		l.Add(key, value, "port must be a number from 1 to 65535")
		return 0
	}
	if host == "" {
		msg := "host must not be empty"
		if hostHint != "" {
			msg += " (" + hostHint + ")"
		}
		l.Add(key, value, "%s", msg)
		return 0
	}
	return port
}
