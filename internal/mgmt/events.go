package mgmt

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/go-amqp"
)

// eventReceiver is a receiver link for an event address (a subscription).
type eventReceiver interface {
	Receive(ctx context.Context) (*amqp.Message, error)
	Close(ctx context.Context) error
}

// Subscription receives the messages the router sends to one address (the
// vanflow event address of a source) over the client's connection. It ends
// when the connection does: Receive then fails, and the caller subscribes
// again once the client has reconnected.
type Subscription struct {
	Address string
	cn      *conn
	r       eventReceiver
}

// Subscribe attaches a receiver for address on the current connection (set
// up within the client's timeout). The router starts sending to it at once:
// vanflow publishes records only while some receiver is attached.
func (c *Client) Subscribe(ctx context.Context, address string) (*Subscription, error) {
	what := "subscribe " + address
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	cn, err := c.connectFor(ctx, what)
	if err != nil {
		return nil, err
	}
	r, err := cn.link.Subscribe(ctx, address)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &Subscription{Address: address, cn: cn, r: r}, nil
}

// Receive blocks for the next message, until ctx ends or the connection is
// lost.
func (s *Subscription) Receive(ctx context.Context) (*amqp.Message, error) {
	m, err := s.r.Receive(ctx)
	if err != nil {
		select {
		case <-s.cn.done:
			return nil, fmt.Errorf("subscription %s: %w", s.Address, s.cn.err())
		default:
		}
		return nil, fmt.Errorf("subscription %s: %w", s.Address, err)
	}
	return m, nil
}

// Close detaches the receiver (the connection stays).
func (s *Subscription) Close(ctx context.Context) error {
	select {
	case <-s.cn.done:
		return nil
	default:
	}
	if err := s.r.Close(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close subscription %s: %w", s.Address, err)
	}
	return nil
}

// Send sends msg to address (a command address such as a vanflow source's
// sfe.<id>) over a sender attached for the occasion, within the client's
// timeout. The router answers nothing; what it does shows on a
// subscription.
func (c *Client) Send(ctx context.Context, address string, msg *amqp.Message) error {
	what := "send to " + address
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	cn, err := c.connectFor(ctx, what)
	if err != nil {
		return err
	}
	c.calls.Add(1)
	if err := cn.link.SendTo(ctx, address, msg); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
