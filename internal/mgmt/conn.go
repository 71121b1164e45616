package mgmt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/Azure/go-amqp"
)

// conn is one open link with its reader and the calls waiting on it.
type conn struct {
	link link
	done chan struct{}

	mu      sync.Mutex
	pending map[key]chan *amqp.Message
	closeMu sync.Once
	failure error
}

func newConn(l link) *conn {
	return &conn{link: l, done: make(chan struct{}), pending: map[key]chan *amqp.Message{}}
}

// key is a correlation id as the reader matches it: a string by its value,
// an integer by its value whatever AMQP width it comes back in (the
// router's Python agent re-types a numeric id); never a string against a
// number.
type key struct {
	id      string
	numeric bool
}

// keyOf returns the key of a correlation id a request carries.
func keyOf(id any) (key, bool) {
	if s, ok := id.(string); ok {
		return key{id: s}, s != ""
	}
	if n, ok := toInt64(id); ok {
		return key{id: strconv.FormatInt(n, 10), numeric: true}, true
	}
	return key{}, false
}

// answerKey returns the key of an answer's correlation id.
func answerKey(msg *amqp.Message) (key, bool) {
	if id, ok := correlationID(msg); ok {
		return key{id: id}, true
	}
	if msg == nil || msg.Properties == nil {
		return key{}, false
	}
	if n, ok := toInt64(msg.Properties.CorrelationID); ok {
		return key{id: strconv.FormatInt(n, 10), numeric: true}, true
	}
	return key{}, false
}

func (cn *conn) expect(k key) (<-chan *amqp.Message, error) {
	ch := make(chan *amqp.Message, 1)
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if _, busy := cn.pending[k]; busy {
		return nil, fmt.Errorf("correlation id %s already awaits an answer", k.id)
	}
	cn.pending[k] = ch
	return ch, nil
}

func (cn *conn) forget(k key) {
	cn.mu.Lock()
	delete(cn.pending, k)
	cn.mu.Unlock()
}

// read is the connection's single reader: it dispatches each answer to
// the call waiting for its correlation id until the link fails, and
// counts the answers no call waits for in dropped.
func (cn *conn) read(log *slog.Logger, dropped *atomic.Uint64) {
	for {
		msg, err := cn.link.Receive(context.Background())
		if err != nil {
			cn.shutdown(fmt.Errorf("management connection lost: %w", err))
			return
		}
		k, ok := answerKey(msg)
		var ch chan *amqp.Message
		if ok {
			cn.mu.Lock()
			ch = cn.pending[k]
			delete(cn.pending, k)
			cn.mu.Unlock()
		}
		if ch == nil {
			dropped.Add(1)
			log.Debug("management answer dropped: no call waits for it", "correlation_id", k.id, "string_id", ok && !k.numeric)
			continue
		}
		ch <- msg // buffered, and each id is delivered at most once
	}
}

func (cn *conn) shutdown(err error) {
	cn.closeMu.Do(func() {
		cn.mu.Lock()
		cn.failure = err
		cn.mu.Unlock()
		close(cn.done)
		_ = cn.link.Close()
	})
}

func (cn *conn) err() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.failure == nil {
		return errors.New("management connection closed")
	}
	return cn.failure
}
