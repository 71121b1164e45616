package mgmt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/go-amqp"

	"github.com/edgeproxy/edgeproxy/internal/poll"
)

// fakeLink is an in-memory management link: every sent request goes to
// respond, whose answers (possibly none, possibly several) are queued for
// the client's reader.
type fakeLink struct {
	replyTo string
	respond func(req *amqp.Message) []*amqp.Message

	answers chan *amqp.Message
	closed  chan struct{}
	once    sync.Once
	sent    atomic.Int64

	// events feeds every subscription; sentTo receives what SendTo sends.
	events chan *amqp.Message
	sentTo chan *amqp.Message
}

func newFakeLink(respond func(req *amqp.Message) []*amqp.Message) *fakeLink {
	return &fakeLink{replyTo: captureReplyTo, respond: respond, answers: make(chan *amqp.Message, 64), closed: make(chan struct{}),
		events: make(chan *amqp.Message, 16), sentTo: make(chan *amqp.Message, 16)}
}

func (l *fakeLink) ReplyTo() string { return l.replyTo }
func (l *fakeLink) Properties() map[string]any {
	return map[string]any{"product": "skupper-router", "version": "0.0.0+e2ec51a4-main"}
}

func (l *fakeLink) Send(ctx context.Context, msg *amqp.Message) error {
	select {
	case <-l.closed:
		return errors.New("link closed")
	default:
	}
	l.sent.Add(1)
	for _, a := range l.respond(msg) {
		l.answers <- a
	}
	return nil
}

func (l *fakeLink) Receive(ctx context.Context) (*amqp.Message, error) {
	select {
	case m := <-l.answers:
		return m, nil
	case <-l.closed:
		return nil, errors.New("link detached")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *fakeLink) Subscribe(ctx context.Context, address string) (eventReceiver, error) {
	return fakeReceiver{l}, nil
}

func (l *fakeLink) SendTo(ctx context.Context, address string, msg *amqp.Message) error {
	l.sentTo <- msg
	return nil
}

type fakeReceiver struct{ l *fakeLink }

func (r fakeReceiver) Receive(ctx context.Context) (*amqp.Message, error) {
	select {
	case m := <-r.l.events:
		return m, nil
	case <-r.l.closed:
		return nil, errors.New("link detached")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (fakeReceiver) Close(context.Context) error { return nil }

func (l *fakeLink) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeLink) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// reply answers req with status and body, echoing its correlation id.
func reply(req *amqp.Message, status int32, desc string, body any) *amqp.Message {
	return answer(req.Properties.CorrelationID, map[string]any{"statusCode": status, "statusDescription": desc}, body)
}

// tcpListenerAnswer is the capture's QUERY tcpListener answer.
func tcpListenerAnswer(req *amqp.Message) []*amqp.Message {
	return []*amqp.Message{reply(req, 200, "OK", map[string]any{
		"attributeNames": []any{"name", "port", "address", "operStatus", "connectionsOpened"},
		"results": []any{
			[]any{"my-service", "18080", "my-service:8080", "down", int32(56)},
			[]any{"my-tcp-service", "15201", "my-tcp-service:5201", "up", int32(4)},
		},
	})}
}

// dialer hands out links made by mk and counts dials; fail makes dials fail.
type dialer struct {
	mk    func() *fakeLink
	mu    sync.Mutex
	links []*fakeLink
	fail  error
	hang  bool
}

func (d *dialer) dial(ctx context.Context, addr string) (link, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hang {
		d.mu.Unlock()
		<-ctx.Done()
		d.mu.Lock()
		return nil, ctx.Err()
	}
	if d.fail != nil {
		return nil, d.fail
	}
	l := d.mk()
	d.links = append(d.links, l)
	return l, nil
}

func (d *dialer) set(fail error) {
	d.mu.Lock()
	d.fail = fail
	d.mu.Unlock()
}

func testClient(t *testing.T, timeout time.Duration, d *dialer) *Client {
	t.Helper()
	c := newClient(ClientConfig{Address: "127.0.0.1:5672", Timeout: timeout}, d.dial)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestClientQuery(t *testing.T) {
	var got *amqp.Message
	d := &dialer{mk: func() *fakeLink {
		return newFakeLink(func(req *amqp.Message) []*amqp.Message { got = req; return tcpListenerAnswer(req) })
	}}
	c := testClient(t, time.Second, d)
	recs, err := c.Query(context.Background(), EntityTCPListener, "name", "port", "address", "operStatus", "connectionsOpened")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].String("name") != "my-tcp-service" {
		t.Fatalf("records = %v", recs)
	}
	if n, _ := recs[0].Int("connectionsOpened"); n != 56 {
		t.Errorf("connectionsOpened = %d", n)
	}
	if *got.Properties.ReplyTo != captureReplyTo {
		t.Errorf("reply-to = %q", *got.Properties.ReplyTo)
	}
	if v := c.RemoteProperties()["version"]; v != "0.0.0+e2ec51a4-main" {
		t.Errorf("version = %v", v)
	}
	if c.Requests() != 1 || c.Dials() != 1 {
		t.Errorf("requests %d dials %d, want 1 and 1", c.Requests(), c.Dials())
	}
}

// TestClientMatchesAnswersByCorrelationID: concurrent calls answered in
// reverse order, with stray answers (unknown id, numeric id, no id) mixed
// in, each get their own answer.
func TestClientMatchesAnswersByCorrelationID(t *testing.T) {
	const calls = 8
	var mu sync.Mutex
	var held []*amqp.Message
	d := &dialer{mk: func() *fakeLink {
		return newFakeLink(func(req *amqp.Message) []*amqp.Message {
			mu.Lock()
			defer mu.Unlock()
			held = append(held, req)
			if len(held) < calls {
				return nil
			}
			var out []*amqp.Message
			out = append(out,
				answer("edgeproxy-unknown", map[string]any{"statusCode": int32(200)}, map[any]any{}),
				answer(int32(1), map[string]any{"statusCode": int32(200)}, map[any]any{}),
				answer(nil, map[string]any{"statusCode": int32(200)}, map[any]any{}))
			for i := len(held) - 1; i >= 0; i-- {
				name := held[i].ApplicationProperties["name"].(string)
				out = append(out, reply(held[i], 200, "OK", map[string]any{"name": name}))
			}
			return out
		})
	}}
	c := testClient(t, 5*time.Second, d)
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("l%d", i)
			rec, err := c.Read(context.Background(), EntityTCPListener, name)
			if err == nil && rec.String("name") != name {
				err = fmt.Errorf("call for %s got the answer for %s", name, rec.String("name"))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if c.Dials() != 1 {
		t.Errorf("dials = %d, want one shared connection", c.Dials())
	}
}

func TestClientStatusErrors(t *testing.T) {
	tests := []struct {
		name     string
		props    map[string]any
		wantCode int
		want     string
	}{
		{"404", map[string]any{"statusCode": int32(404), "statusDescription": "No entity with name=nosuch"}, 404, "No entity with name=nosuch"},
		{"400 duplicate", map[string]any{"statusCode": int32(400), "statusDescription": "adding TcpListenerEntity(...) duplicates unique attribute 'name'"}, 400, "duplicates unique attribute"},
		{"missing statusCode", map[string]any{"statusDescription": "OK"}, 0, "without statusCode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dialer{mk: func() *fakeLink {
				return newFakeLink(func(req *amqp.Message) []*amqp.Message {
					return []*amqp.Message{answer(req.Properties.CorrelationID, tt.props, map[any]any{})}
				})
			}}
			c := testClient(t, time.Second, d)
			err := c.Delete(context.Background(), EntityTCPListener, "nosuch")
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.wantCode || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a StatusError %d containing %q", err, tt.wantCode, tt.want)
			}
			if !strings.Contains(err.Error(), "DELETE io.skupper.router.tcpListener nosuch") {
				t.Errorf("err = %q does not name the request", err)
			}
		})
	}
}

// TestClientTimeout: an unanswered call returns within the timeout, the
// connection is dropped and the next call reconnects (after the backoff).
func TestClientTimeout(t *testing.T) {
	answerCalls := atomic.Bool{}
	d := &dialer{mk: func() *fakeLink {
		return newFakeLink(func(req *amqp.Message) []*amqp.Message {
			if answerCalls.Load() {
				return tcpListenerAnswer(req)
			}
			return nil
		})
	}}
	c := testClient(t, 100*time.Millisecond, d)
	start := time.Now()
	_, err := c.Query(context.Background(), EntityTCPListener)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Stage != "answer" {
		t.Fatalf("err = %v, want a TimeoutError waiting for the answer", err)
	}
	if !strings.Contains(err.Error(), "QUERY io.skupper.router.tcpListener: no answer within 100ms") {
		t.Errorf("err = %q", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("timed out after %s", elapsed)
	}
	if !d.links[0].isClosed() {
		t.Error("connection kept after an unanswered call")
	}
	answerCalls.Store(true)
	poll.Eventually(t, 3*time.Second, func() error {
		_, err := c.Query(context.Background(), EntityTCPListener)
		return err
	})
	if c.Dials() != 2 {
		t.Errorf("dials = %d, want 2", c.Dials())
	}
}

// TestClientBackoff: failed connects are retried no faster than the
// backoff; Reset retries at once.
func TestClientBackoff(t *testing.T) {
	d := &dialer{mk: func() *fakeLink { return newFakeLink(tcpListenerAnswer) }}
	d.set(errors.New("dial tcp 127.0.0.1:5672: connect: connection refused"))
	c := newClient(ClientConfig{Address: "127.0.0.1:5672", Timeout: time.Second, BackoffInitial: time.Hour, BackoffMax: time.Hour}, d.dial)
	t.Cleanup(func() { _ = c.Close() })
	for range 3 {
		_, err := c.Query(context.Background(), EntityRouter)
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("err = %v, want the connect error", err)
		}
	}
	if c.Dials() != 1 {
		t.Fatalf("dials = %d within the backoff, want 1", c.Dials())
	}
	d.set(nil)
	c.Reset() // the router was replaced
	if _, err := c.Query(context.Background(), EntityRouter); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	if c.Dials() != 2 {
		t.Errorf("dials = %d, want 2", c.Dials())
	}
}

// TestClientBackoffGrows checks the capped doubling with a fake clock.
func TestClientBackoffGrows(t *testing.T) {
	d := &dialer{}
	d.set(errors.New("refused"))
	c := newClient(ClientConfig{Address: "x:1", Timeout: time.Second, BackoffInitial: 100 * time.Millisecond, BackoffMax: 300 * time.Millisecond}, d.dial)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	var waits []time.Duration
	for range 4 {
		_, _ = c.Query(context.Background(), EntityRouter)
		waits = append(waits, c.nextAttempt.Sub(now))
		now = c.nextAttempt
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("backoffs = %v, want %v", waits, want)
	}
	if c.Dials() != 4 {
		t.Errorf("dials = %d, want one per elapsed backoff", c.Dials())
	}
}

// TestClientLinkLost: a link that fails under a waiting call fails it at
// once (not at the timeout), and the next call reconnects.
func TestClientLinkLost(t *testing.T) {
	var first atomic.Pointer[fakeLink]
	d := &dialer{}
	d.mk = func() *fakeLink {
		var l *fakeLink
		l = newFakeLink(func(req *amqp.Message) []*amqp.Message {
			if l == first.Load() {
				go l.Close() // the router went away
				return nil
			}
			return tcpListenerAnswer(req)
		})
		first.CompareAndSwap(nil, l)
		return l
	}
	c := newClient(ClientConfig{Address: "x:1", Timeout: 10 * time.Second, BackoffInitial: time.Millisecond}, d.dial)
	t.Cleanup(func() { _ = c.Close() })
	start := time.Now()
	_, err := c.Query(context.Background(), EntityTCPListener)
	if err == nil || !strings.Contains(err.Error(), "management connection lost") {
		t.Fatalf("err = %v, want connection lost", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("failed only after %s", time.Since(start))
	}
	poll.Eventually(t, 3*time.Second, func() error {
		_, err := c.Query(context.Background(), EntityTCPListener)
		return err
	})
}

// TestClientConnectTimeout: a dial that hangs is bounded by the timeout.
func TestClientConnectTimeout(t *testing.T) {
	d := &dialer{hang: true}
	c := testClient(t, 50*time.Millisecond, d)
	_, err := c.Query(context.Background(), EntityRouter)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Stage != "connect" {
		t.Fatalf("err = %v, want a connect TimeoutError", err)
	}
}

func TestClientClosed(t *testing.T) {
	d := &dialer{mk: func() *fakeLink { return newFakeLink(tcpListenerAnswer) }}
	c := testClient(t, time.Second, d)
	if _, err := c.Query(context.Background(), EntityTCPListener); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if !d.links[0].isClosed() {
		t.Error("Close left the link open")
	}
	if _, err := c.Query(context.Background(), EntityTCPListener); !errors.Is(err, errClientClosed) {
		t.Errorf("err = %v after Close, want errClientClosed", err)
	}
}

// TestClientCallerCancels: a cancelled call returns the cancellation and
// keeps the connection (its late answer is dropped by the reader).
func TestClientCallerCancels(t *testing.T) {
	var held atomic.Pointer[amqp.Message]
	d := &dialer{mk: func() *fakeLink {
		return newFakeLink(func(req *amqp.Message) []*amqp.Message {
			if held.CompareAndSwap(nil, req) {
				return nil // the first call is answered late, by the second
			}
			return append(tcpListenerAnswer(held.Load()), tcpListenerAnswer(req)...)
		})
	}}
	c := testClient(t, 5*time.Second, d)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // cancel once the request is out (Poll: no t.Fatal off the test goroutine)
		_ = poll.Poll(5*time.Second, func() error {
			if held.Load() == nil {
				return errors.New("not sent yet")
			}
			return nil
		})
		cancel()
	}()
	if _, err := c.Query(ctx, EntityTCPListener); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if recs, err := c.Query(context.Background(), EntityTCPListener); err != nil || len(recs) != 2 {
		t.Fatalf("next call: %v, %v", recs, err)
	}
	if c.Dials() != 1 {
		t.Errorf("dials = %d: a cancelled call dropped the connection", c.Dials())
	}
}

// poll calls fn every 10 ms until it returns nil or timeout passes, and
// returns fn's last error. (routertest.Poll, which this package's internal
// tests cannot import: routertest imports mgmt.)
// TestCallCorrelation: Call matches a numeric id in whatever width the
// answer re-types it to, never a string answer to a numeric call, and
// counts the answers no call waited for.
func TestCallCorrelation(t *testing.T) {
	d := &dialer{mk: func() *fakeLink {
		return newFakeLink(func(req *amqp.Message) []*amqp.Message {
			ok := map[string]any{"statusCode": int32(200), "statusDescription": "OK"}
			if _, numeric := req.Properties.CorrelationID.(uint64); numeric { // the Python agent's re-typing
				return []*amqp.Message{answer("7", ok, nil), answer(int32(7), ok, map[string]any{"n": "int32"})}
			}
			return []*amqp.Message{answer(req.Properties.CorrelationID, ok, map[string]any{"n": "string"})}
		})
	}}
	c := testClient(t, time.Second, d)
	q := RawRequest{Properties: map[string]any{"operation": "QUERY", "type": "org.amqp.management", "name": "self", "entityType": EntityRouter},
		Body: map[string]any{"attributeNames": []any{}}}
	for _, tc := range []struct {
		id     any
		wantID any
		want   string
	}{{uint64(7), int32(7), "int32"}, {"abc-1", "abc-1", "string"}, {nil, "edgeproxy-1", "string"}} {
		q.CorrelationID = tc.id
		a, err := c.Call(context.Background(), q)
		if err != nil {
			t.Fatalf("id %#v: %v", tc.id, err)
		}
		if a.CorrelationID != tc.wantID || a.Body.(map[string]any)["n"] != tc.want || a.Properties["statusCode"] != int32(200) {
			t.Errorf("id %#v: answer %#v %v %v", tc.id, a.CorrelationID, a.Body, a.Properties)
		}
		if *a.Message.Properties.To != captureReplyTo {
			t.Errorf("id %#v: raw message %+v", tc.id, a.Message.Properties)
		}
	}
	if n := c.Dropped(); n != 1 {
		t.Errorf("dropped = %d, want 1 (the string \"7\" answer)", n)
	}
	q.CorrelationID = 1.5
	if _, err := c.Call(context.Background(), q); err == nil || !strings.Contains(err.Error(), "correlation id 1.5") {
		t.Errorf("float correlation id: err = %v", err)
	}
}

// TestCallNoReplyTo: a request sent without reply-to gets no answer; the
// call ends with its context and keeps the connection.
func TestCallNoReplyTo(t *testing.T) {
	var sent atomic.Pointer[amqp.Message]
	d := &dialer{mk: func() *fakeLink {
		return newFakeLink(func(req *amqp.Message) []*amqp.Message {
			sent.Store(req)
			if req.Properties.ReplyTo == nil {
				return nil // the router drops it
			}
			return tcpListenerAnswer(req)
		})
	}}
	c := testClient(t, time.Second, d)
	q := RawRequest{Properties: map[string]any{"operation": "QUERY", "type": "org.amqp.management", "name": "self", "entityType": EntityTCPListener},
		Body: map[string]any{"attributeNames": []any{}}, NoReplyTo: true}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Call(ctx, q)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "QUERY io.skupper.router.tcpListener: ") {
		t.Fatalf("err = %v, want the request named and context.DeadlineExceeded", err)
	}
	if sent.Load().Properties.ReplyTo != nil {
		t.Error("sent with a reply-to")
	}
	q.NoReplyTo = false
	if a, err := c.Call(context.Background(), q); err != nil || a.Properties["statusCode"] != int32(200) {
		t.Fatalf("with reply-to: %v, %v", a, err)
	}
	if c.Dials() != 1 || c.ReplyTo() != captureReplyTo {
		t.Errorf("dials = %d reply-to %q: the unanswered call dropped the connection", c.Dials(), c.ReplyTo())
	}
}

// TestConnect: Connect opens the connection before any call.
func TestConnect(t *testing.T) {
	d := &dialer{mk: func() *fakeLink { return newFakeLink(tcpListenerAnswer) }}
	c := testClient(t, time.Second, d)
	if c.ReplyTo() != "" || c.RemoteProperties() != nil {
		t.Fatal("connected before use")
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.ReplyTo() != captureReplyTo || c.RemoteProperties()["product"] != "skupper-router" || c.Requests() != 0 {
		t.Errorf("after Connect: reply-to %q properties %v requests %d", c.ReplyTo(), c.RemoteProperties(), c.Requests())
	}
	d.set(errors.New("refused"))
	c.Reset()
	if err := c.Connect(context.Background()); err == nil || err.Error() != "refused" {
		t.Errorf("Connect to a refusing router: %v", err)
	}
}
