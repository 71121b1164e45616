// Package mgmt is edgeproxy's one AMQP management client for skrouterd
// (github.com/Azure/go-amqp underneath). The health poller, live
// reconfiguration and the router test harness all use it.
//
// # Files
//
//	client.go    the Client: connection set-up, backoff, the typed calls (Do, Query, Read, Create, Update, Delete)
//	conn.go      one open connection: its single reader and the calls waiting on it
//	link.go      the AMQP link (SASL ANONYMOUS, dynamic reply address, sender to $management)
//	raw.go       Call, the low-level call: any operation, any correlation id, optionally no reply-to
//	events.go    Subscribe (a receiver for an event address on the same connection) and Send
//	vanflow.go   the router's flow records: addresses, pure parse of BEACON/HEARTBEAT/RECORD, LINK merge, FlowSource
//	message.go   pure build of requests and parse of answers (no I/O)
//	record.go    Record, one entity's attributes, with accessors that convert the router's types
//	entities.go  typed views of the entities edgeproxy uses (connector, connection, tcpListener)
//
// # Design
//
// One long-lived AMQP connection (SASL ANONYMOUS), one session, one receiver
// on a dynamic address for the answers and one sender to $management; on the
// same session, receivers for event addresses (Subscribe: the router's flow
// records) and short-lived senders to command addresses (Send: FLUSH). The
// router logs every accepted connection, so the client keeps its connection
// and reconnects only after a failure (or when told the router restarted).
//
// Calls may run concurrently (the poller, and later runtime listener
// changes): one reader goroutine per connection receives every answer and
// hands it to the waiting call with the same correlation id. Matching by id
// (rather than taking "the next message") also means an answer that arrives
// after its call timed out is recognised and dropped instead of being
// mistaken for the answer to the next call.
//
// Every call is bounded by the timeout, connection set-up included. After a
// timeout the connection is dropped: a router that stopped answering on an
// open connection (wedged, or replaced behind a half-open socket) would
// otherwise be waited on forever; reconnecting is cheap on loopback.
// Reconnection is paced by a capped exponential backoff so a router that is
// down is not hammered; Reset clears the backoff (the supervisor started a
// new router process).
package mgmt
