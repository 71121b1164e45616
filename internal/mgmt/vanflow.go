package mgmt

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/go-amqp"
)

// The router's flow records ("vanflow", captures/vanflow): every router is a
// source with a random id ("adJgb:0"). It announces itself with a BEACON on
// mc/sfe.all every 10 s (the first one 8 s after a receiver attaches there),
// sends a HEARTBEAT every 2 s and RECORD messages on mc/sfe.<id> while a
// receiver is attached there, and answers a message with subject FLUSH sent
// to sfe.<id> by sending every record in full. A RECORD message's body is a
// list of records, each a map of attribute number → value; an update carries
// only the attributes that changed since the last one. Records of one source
// are flushed once a second.

// Vanflow addresses and subjects.
const (
	FlowBeaconAddress = "mc/sfe.all"
	SubjectBeacon     = "BEACON"
	SubjectHeartbeat  = "HEARTBEAT"
	SubjectRecord     = "RECORD"
	SubjectFlush      = "FLUSH"
)

// FlowEventAddress is where a source sends its heartbeats and records.
func FlowEventAddress(source string) string { return "mc/sfe." + source }

// FlowCommandAddress is where a source takes FLUSH.
func FlowCommandAddress(source string) string { return "sfe." + source }

// Flow record types and attributes edgeproxy reads (vanflow.h numbering).
const (
	FlowRecordRouter   = 0x01
	FlowRecordLink     = 0x02
	FlowRecordListener = 0x04

	FlowAttrRecordType = 0
	FlowAttrIdentity   = 1
	FlowAttrParent     = 2
	FlowAttrMode       = 13
	FlowAttrResult     = 28
	FlowAttrReason     = 29
	FlowAttrName       = 30
	FlowAttrOperStatus = 53
	FlowAttrRole       = 54
	FlowAttrDownCount  = 57
)

// FlowRecord is one record as sent: attribute number → value.
type FlowRecord map[uint32]any

// Type is the record's type (0 when absent).
func (r FlowRecord) Type() int { n, _ := toInt64(r[FlowAttrRecordType]); return int(n) }

// ID is the record's identity ("adJgb:1").
func (r FlowRecord) ID() string { s, _ := r[FlowAttrIdentity].(string); return s }

// String returns a string attribute and whether the record carries it.
func (r FlowRecord) String(attr uint32) (string, bool) {
	s, ok := r[attr].(string)
	return s, ok
}

// Uint returns an integer attribute and whether the record carries it.
func (r FlowRecord) Uint(attr uint32) (uint64, bool) {
	n, ok := toInt64(r[attr])
	return uint64(n), ok && n >= 0
}

// FlowMessage is one vanflow message.
type FlowMessage struct {
	Subject string
	// Source is the sending source's id (BEACON and HEARTBEAT carry it).
	Source string
	// Records are a RECORD message's records.
	Records []FlowRecord
}

// ParseFlowMessage decodes a vanflow message; unknown subjects parse to a
// message with that subject and nothing else.
func ParseFlowMessage(m *amqp.Message) (FlowMessage, error) {
	var fm FlowMessage
	if m == nil || m.Properties == nil || m.Properties.Subject == nil {
		return fm, fmt.Errorf("flow message without subject")
	}
	fm.Subject = *m.Properties.Subject
	fm.Source, _ = m.ApplicationProperties["id"].(string)
	if fm.Subject != SubjectRecord {
		return fm, nil
	}
	list, ok := m.Value.([]any)
	if !ok {
		return fm, fmt.Errorf("RECORD body is %T, not a list", m.Value)
	}
	for i, e := range list {
		raw, ok := e.(map[any]any)
		if !ok {
			return fm, fmt.Errorf("RECORD body item %d is %T, not a map", i, e)
		}
		rec := make(FlowRecord, len(raw))
		for k, v := range raw {
			n, ok := toInt64(k)
			if !ok || n < 0 {
				return fm, fmt.Errorf("RECORD body item %d: attribute key %#v is not a number", i, k)
			}
			rec[uint32(n)] = v
		}
		fm.Records = append(fm.Records, rec)
	}
	return fm, nil
}

// FlushMessage is the FLUSH command for source.
func FlushMessage(source string) *amqp.Message {
	to, subject := FlowCommandAddress(source), SubjectFlush
	return &amqp.Message{Properties: &amqp.MessageProperties{To: &to, Subject: &subject}}
}

// FlowLink is a LINK record (a connector's link to another router) as
// merged from its updates.
type FlowLink struct {
	ID         string
	Name       string // the connector's name
	Role       string // edge, inter-router, ...
	OperStatus string // up, down
	DownCount  uint64
	Result     string // why it last went down: an AMQP condition
	Reason     string
}

// Merge applies a LINK record (full or an update) to l and reports whether
// its operStatus or down count changed.
func (l *FlowLink) Merge(r FlowRecord) (changed bool) {
	l.ID = r.ID()
	if s, ok := r.String(FlowAttrName); ok {
		l.Name = s
	}
	if s, ok := r.String(FlowAttrRole); ok {
		l.Role = s
	}
	if s, ok := r.String(FlowAttrOperStatus); ok && s != l.OperStatus {
		l.OperStatus, changed = s, true
	}
	if n, ok := r.Uint(FlowAttrDownCount); ok && n != l.DownCount {
		l.DownCount, changed = n, true
	}
	if s, ok := r.String(FlowAttrResult); ok {
		l.Result = s
	}
	if s, ok := r.String(FlowAttrReason); ok {
		l.Reason = s
	}
	return changed
}

// FlowSource returns the router's own vanflow source id, read from its
// address table: the in-process address sfe.<id> (one QUERY whose size does
// not grow with traffic). "" when the router has none (no vanflow).
func (c *Client) FlowSource(ctx context.Context) (string, error) {
	recs, err := c.Query(ctx, EntityRouterAddress, "key", "inProcess")
	if err != nil {
		return "", err
	}
	return FlowSourceFrom(recs), nil
}

// FlowSourceFrom picks the source id out of router.address records.
func FlowSourceFrom(recs []Record) string {
	for _, r := range recs {
		key := r.String("key")
		n, _ := r.Int("inProcess")
		if id, ok := strings.CutPrefix(key, "M"+FlowCommandAddress("")); ok && n > 0 && id != "" {
			return id
		}
	}
	return ""
}
