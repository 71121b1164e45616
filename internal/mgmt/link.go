package mgmt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/Azure/go-amqp"
)

// link is what the client needs from one connection; the AMQP
// implementation is amqpLink, tests substitute in-memory ones.
type link interface {
	// ReplyTo is the dynamic address answers come back to.
	ReplyTo() string
	// Properties are the peer's open-frame properties (version, product).
	Properties() map[string]any
	Send(ctx context.Context, msg *amqp.Message) error
	// Receive blocks for the next answer; it fails once the link is closed.
	Receive(ctx context.Context) (*amqp.Message, error)
	// Subscribe attaches a receiver for address on the same session.
	Subscribe(ctx context.Context, address string) (eventReceiver, error)
	// SendTo sends msg to address over a sender attached for it, then
	// detaches that sender.
	SendTo(ctx context.Context, address string, msg *amqp.Message) error
	Close() error
}

// dialFunc opens a link to the management address.
type dialFunc func(ctx context.Context, addr string) (link, error)

// amqpLink is a link over github.com/Azure/go-amqp.
type amqpLink struct {
	conn     *amqp.Conn
	session  *amqp.Session
	receiver *amqp.Receiver
	sender   *amqp.Sender
}

// dialAMQP opens the connection (SASL ANONYMOUS) as containerID, the
// session, the dynamic reply receiver and the sender to $management, all
// within ctx.
func dialAMQP(ctx context.Context, addr, containerID string) (link, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("management address %q: %w", addr, err)
	}
	conn, err := amqp.Dial(ctx, "amqp://"+addr, &amqp.ConnOptions{
		ContainerID: containerID,
		HostName:    host,
		SASLType:    amqp.SASLTypeAnonymous(),
		// The router's own idle timeout is 8 s (open frame); go-amqp
		// answers with empty frames. Ours only detects a silent router.
		IdleTimeout:  30 * time.Second,
		WriteTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	l := &amqpLink{conn: conn}
	if err := l.open(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return l, nil
}

func (l *amqpLink) open(ctx context.Context) error {
	var err error
	if l.session, err = l.conn.NewSession(ctx, nil); err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	l.receiver, err = l.session.NewReceiver(ctx, "", &amqp.ReceiverOptions{DynamicAddress: true, Credit: 16})
	if err != nil {
		return fmt.Errorf("attach reply receiver: %w", err)
	}
	if l.receiver.Address() == "" {
		return errors.New("attach reply receiver: the router assigned no dynamic address")
	}
	if l.sender, err = l.session.NewSender(ctx, ManagementAddress, nil); err != nil {
		return fmt.Errorf("attach sender to %s: %w", ManagementAddress, err)
	}
	return nil
}

func (l *amqpLink) ReplyTo() string            { return l.receiver.Address() }
func (l *amqpLink) Properties() map[string]any { return l.conn.Properties() }
func (l *amqpLink) Close() error               { return l.conn.Close() }
func (l *amqpLink) Send(ctx context.Context, m *amqp.Message) error {
	return l.sender.Send(ctx, m, nil)
}

func (l *amqpLink) Receive(ctx context.Context) (*amqp.Message, error) {
	return receiveAccepted(ctx, l.receiver, "answer")
}

// receiveAccepted receives the next message on r and accepts it. Answers
// and events come pre-settled; accepting is a no-op then, and settles the
// delivery (freeing credit) if a router ever sends them unsettled.
func receiveAccepted(ctx context.Context, r *amqp.Receiver, what string) (*amqp.Message, error) {
	msg, err := r.Receive(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := r.AcceptMessage(ctx, msg); err != nil {
		return nil, fmt.Errorf("accept %s: %w", what, err)
	}
	return msg, nil
}

// eventCredit is how many event messages the router may send ahead: a
// FLUSH answer is a handful of RECORD messages.
const eventCredit = 32

func (l *amqpLink) Subscribe(ctx context.Context, address string) (eventReceiver, error) {
	r, err := l.session.NewReceiver(ctx, address, &amqp.ReceiverOptions{Credit: eventCredit})
	if err != nil {
		return nil, fmt.Errorf("attach receiver: %w", err)
	}
	return amqpEventReceiver{r}, nil
}

func (l *amqpLink) SendTo(ctx context.Context, address string, msg *amqp.Message) error {
	s, err := l.session.NewSender(ctx, address, nil)
	if err != nil {
		return fmt.Errorf("attach sender: %w", err)
	}
	defer func() { _ = s.Close(ctx) }()
	return s.Send(ctx, msg, nil)
}

// amqpEventReceiver is a subscription's receiver.
type amqpEventReceiver struct{ r *amqp.Receiver }

func (e amqpEventReceiver) Receive(ctx context.Context) (*amqp.Message, error) {
	return receiveAccepted(ctx, e.r, "event")
}

func (e amqpEventReceiver) Close(ctx context.Context) error { return e.r.Close(ctx) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
