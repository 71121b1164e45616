package mgmt

import (
	"testing"

	"github.com/Azure/go-amqp"
)

// Building and parsing management messages, and parsing a flow RECORD
// message (make bench).
func BenchmarkBuildQuery(b *testing.B) {
	req := Request{Operation: OpQuery, EntityType: EntityTCPListener, AttributeNames: TCPListenerAttributes}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := buildMessage(req, captureReplyTo, "edgeproxy-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseQueryAnswer(b *testing.B) {
	req := Request{Operation: OpQuery, EntityType: EntityConnector, AttributeNames: ConnectorAttributes}
	msg := &amqp.Message{
		ApplicationProperties: map[string]any{"statusCode": int32(200), "statusDescription": "OK"},
		Value: map[string]any{"attributeNames": []any{"name", "role", "host", "port", "connectionStatus", "connectionMsg"},
			"results": []any{[]any{"uplink", "edge", "127.0.0.1", "45671", "SUCCESS",
				"[C1] Connection Opened: dir=out host=127.0.0.1:45671 encrypted=no auth=ANONYMOUS user=(null) container_id=interior"}}},
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		body, err := parseAnswer(req, msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseQueryBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFlowRecord(b *testing.B) {
	subject := SubjectRecord
	msg := &amqp.Message{Properties: &amqp.MessageProperties{Subject: &subject}, Value: []any{map[any]any{
		uint32(0): uint32(2), uint32(1): "adJgb:1", uint32(28): "amqp:connection:framing-error",
		uint32(29): "connection aborted", uint32(53): "down", uint32(56): uint64(1796138309898936), uint32(57): uint64(1)}}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fm, err := ParseFlowMessage(msg)
		if err != nil {
			b.Fatal(err)
		}
		var l FlowLink
		if !l.Merge(fm.Records[0]) {
			b.Fatal("no change")
		}
	}
}
