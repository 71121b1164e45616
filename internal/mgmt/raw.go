package mgmt

import (
	"context"
	"fmt"

	"github.com/Azure/go-amqp"
)

// RawRequest is a management request given as its parts, for what Request
// cannot say: other operations (GET-TYPES, GET-MGMT-NODES), a correlation
// id of the caller's choosing, no reply-to. The router test harness uses it
// to pin down the router's management behaviour.
type RawRequest struct {
	// Properties are the application properties: operation, type, name,
	// entityType.
	Properties map[string]any
	Body       any
	// CorrelationID is a string or an integer; nil gets a fresh string id.
	// A numeric id is matched whatever integer width the answer carries it
	// in.
	CorrelationID any
	// NoReplyTo sends the request without reply-to: the router drops it,
	// so the call waits until its context ends.
	NoReplyTo bool
}

// String names the request like Request does ("QUERY io.skupper.router.router").
func (r RawRequest) String() string {
	op, _ := r.Properties["operation"].(string)
	typ, _ := r.Properties["entityType"].(string)
	if typ == "" {
		typ, _ = r.Properties["type"].(string)
	}
	name, _ := r.Properties["name"].(string)
	if name == "self" {
		name = ""
	}
	return Request{Operation: op, EntityType: typ, Name: name}.String()
}

// RawAnswer is a management answer as it arrived, status unchecked.
type RawAnswer struct {
	// Properties are the application properties (statusCode,
	// statusDescription) with their AMQP types.
	Properties    map[string]any
	Body          any
	CorrelationID any
	// Message is the answer as go-amqp decoded it, for checks of its wire
	// form.
	Message *amqp.Message
}

// Call sends req and returns the answer with its correlation id, whatever
// its status. Connection set-up is bounded by the client's timeout, the
// wait for the answer by ctx alone; unlike Do, an unanswered Call keeps the
// connection (a request the router drops on purpose says nothing about it)
// and its error wraps ctx's.
func (c *Client) Call(ctx context.Context, req RawRequest) (*RawAnswer, error) {
	what := req.String()
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	cn, err := c.connectFor(cctx, what)
	cancel()
	if err != nil {
		return nil, err
	}
	id := req.CorrelationID
	if id == nil {
		id = c.nextID()
	}
	k, ok := keyOf(id)
	if !ok {
		return nil, fmt.Errorf("%s: correlation id %#v is neither a non-empty string nor an integer", what, id)
	}
	replyTo := cn.link.ReplyTo()
	if req.NoReplyTo {
		replyTo = ""
	}
	m, err := c.exchange(ctx, cn, rawMessage(req, replyTo, id), k, what, false)
	if err != nil {
		return nil, err
	}
	a := &RawAnswer{Properties: m.ApplicationProperties, Body: m.Value, Message: m}
	if m.Properties != nil {
		a.CorrelationID = m.Properties.CorrelationID
	}
	return a, nil
}

// rawMessage turns req into a message as given: no checks, reply-to only
// when replyTo is not empty.
func rawMessage(req RawRequest, replyTo string, correlationID any) *amqp.Message {
	msg := &amqp.Message{
		Properties:            &amqp.MessageProperties{CorrelationID: correlationID},
		ApplicationProperties: req.Properties,
		Value:                 req.Body,
	}
	if replyTo != "" {
		msg.Properties.ReplyTo = &replyTo
	}
	return msg
}
