package mgmt

import (
	"testing"

	"github.com/Azure/go-amqp"
)

// FuzzParseAnswer feeds arbitrary encoded messages to the answer parsers:
// they may reject them but must never panic. Seeds are capture-shaped
// answers. Run with: go test -fuzz FuzzParseAnswer ./internal/mgmt
func FuzzParseAnswer(f *testing.F) {
	seeds := []*amqp.Message{
		ok200(map[string]any{"attributeNames": []any{"name", "connectionsOpened"}, "results": []any{[]any{"my-service", int32(56)}}}),
		ok200(map[any]any{}),
		answer("edgeproxy-1", map[string]any{"statusCode": int32(404), "statusDescription": "No entity with name=x"}, map[any]any{}),
		answer(int32(1), map[string]any{"statusDescription": "OK"}, nil),
	}
	for _, m := range seeds {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	req := Request{Operation: OpQuery, EntityType: EntityTCPListener}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m amqp.Message
		if err := m.UnmarshalBinary(data); err != nil {
			return
		}
		_, _ = correlationID(&m)
		body, err := parseAnswer(req, &m)
		if err != nil {
			return
		}
		recs, _ := ParseQueryBody(body)
		for _, r := range recs {
			_ = TCPListenerFrom(r)
			_ = ConnectorFrom(r)
			_ = ConnectionFrom(r)
		}
		_, _ = parseEntityBody(body)
	})
}
