package mgmt

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Typed views of the router entities edgeproxy uses, decoded from Records
// (attribute names as in internal/routertest/testdata/captures). Absent or null
// attributes read as zero values.

// Connector is an io.skupper.router.connector (the edge uplink).
type Connector struct {
	Name             string
	Role             string
	Host             string
	Port             int
	ConnectionStatus string // INITIALIZING, CONNECTING, SUCCESS, FAILED, CLOSING, UNKNOWN
	ConnectionMsg    string
}

// LinkOpened reports whether a connector's connectionStatus and
// connectionMsg say its connection is open: SUCCESS with the router's
// "[Cn] Connection Opened: ... container_id=<peer>" message (captures
// a-link-up). A real router shows SUCCESS with an empty message for a moment
// before the connection opens, and CONNECTING with the error once it is lost.
func LinkOpened(status, msg string) bool {
	return status == "SUCCESS" && strings.Contains(msg, "Connection Opened")
}

// Opened reports whether c's connection is open (LinkOpened).
func (c Connector) Opened() bool { return LinkOpened(c.ConnectionStatus, c.ConnectionMsg) }

// Peer is the container id of the peer c's open connection reached (the
// container_id=<id> of its message), or "".
func (c Connector) Peer() string {
	if !c.Opened() {
		return ""
	}
	_, rest, ok := strings.Cut(c.ConnectionMsg, "container_id=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, " ")
	return id
}

// ConnectorAttributes are the attributes ConnectorFrom reads.
var ConnectorAttributes = []string{"name", "role", "host", "port", "connectionStatus", "connectionMsg"}

// ConnectorFrom decodes a connector record.
func ConnectorFrom(r Record) Connector {
	port, _ := r.Int("port")
	return Connector{Name: r.String("name"), Role: r.String("role"), Host: r.String("host"), Port: int(port),
		ConnectionStatus: r.String("connectionStatus"), ConnectionMsg: r.String("connectionMsg")}
}

// Connection is an io.skupper.router.connection.
type Connection struct {
	Role   string // edge, normal, inter-router, ...
	Dir    string // in, out
	Opened bool
	// Active: on an edge router, the edge connection in use (of several
	// open ones, one carries the traffic; the others are standbys).
	Active     bool
	OperStatus string
	Container  string // the peer's container id (the interior's router id on the edge link)
	Host       string
}

// ConnectionAttributes are the attributes ConnectionFrom reads.
var ConnectionAttributes = []string{"role", "dir", "opened", "active", "operStatus", "container", "host"}

// ConnectionFrom decodes a connection record.
func ConnectionFrom(r Record) Connection {
	return Connection{Role: r.String("role"), Dir: r.String("dir"), Opened: r.Bool("opened"), Active: r.Bool("active"),
		OperStatus: r.String("operStatus"), Container: r.String("container"), Host: r.String("host")}
}

// IsEdgeUplink reports whether c is an open outgoing edge connection: the
// edge link to the interior.
func (c Connection) IsEdgeUplink() bool { return c.Role == "edge" && c.Dir == "out" && c.Opened }

// TCPListener is an io.skupper.router.tcpListener.
type TCPListener struct {
	Name              string
	Host              string
	Port              int
	Address           string
	OperStatus        string // up while a consumer of Address is reachable, else down
	ConnectionMsg     string // why it is down, e.g. "Address already in use - listen on ..."
	ConnectionsOpened int64
	ConnectionsClosed int64
}

// TCPListenerAttributes are the attributes TCPListenerFrom reads.
var TCPListenerAttributes = []string{"name", "host", "port", "address", "operStatus", "connectionMsg", "connectionsOpened", "connectionsClosed"}

// TCPListenerFrom decodes a tcpListener record.
func TCPListenerFrom(r Record) TCPListener {
	port, _ := r.Int("port")
	opened, _ := r.Int("connectionsOpened")
	closed, _ := r.Int("connectionsClosed")
	return TCPListener{Name: r.String("name"), Host: r.String("host"), Port: int(port), Address: r.String("address"),
		OperStatus: r.String("operStatus"), ConnectionMsg: r.String("connectionMsg"),
		ConnectionsOpened: opened, ConnectionsClosed: closed}
}

// TCPConnector is an io.skupper.router.tcpConnector. The real router gives
// it no operStatus and never dials its target ahead: it dials once per
// flow. ConnectionsOpened starts at 1 (its egress-dispatch connection, a
// "connection" row with host egress-dispatch), and a flow to a target that
// refuses adds one to both counters at once; a target that accepts and
// never answers, or a host that does not resolve, holds the flow open. The
// entity reads the same whether its target is up, refused, slow, or nobody
// anywhere consumes its address (checked with skupper-router e2ec51a4).
type TCPConnector struct {
	Name              string
	Host              string
	Port              string // a number or a service name, as configured
	Address           string
	ConnectionsOpened int64
	ConnectionsClosed int64
}

// TCPConnectorAttributes are the attributes TCPConnectorFrom reads.
var TCPConnectorAttributes = []string{"name", "host", "port", "address", "connectionsOpened", "connectionsClosed"}

// TCPConnectorFrom decodes a tcpConnector record.
func TCPConnectorFrom(r Record) TCPConnector {
	opened, _ := r.Int("connectionsOpened")
	closed, _ := r.Int("connectionsClosed")
	return TCPConnector{Name: r.String("name"), Host: r.String("host"), Port: r.String("port"), Address: r.String("address"),
		ConnectionsOpened: opened, ConnectionsClosed: closed}
}

// TCPListeners returns the router's tcpListeners.
func (c *Client) TCPListeners(ctx context.Context) ([]TCPListener, error) {
	recs, err := c.Query(ctx, EntityTCPListener, TCPListenerAttributes...)
	if err != nil {
		return nil, err
	}
	out := make([]TCPListener, len(recs))
	for i, r := range recs {
		out[i] = TCPListenerFrom(r)
	}
	return out, nil
}

// CreateTCPListener creates a tcpListener at runtime (the router answers
// 201 and listens about 2 ms later, when a consumer of address is
// reachable). A name in use is a *StatusError.
func (c *Client) CreateTCPListener(ctx context.Context, l TCPListener) (TCPListener, error) {
	rec, err := c.Create(ctx, EntityTCPListener, l.Name, map[string]any{
		"host": l.Host, "port": strconv.Itoa(l.Port), "address": l.Address,
	})
	if err != nil {
		return TCPListener{}, err
	}
	return TCPListenerFrom(rec), nil
}

// DeleteTCPListener deletes the named tcpListener (204); flows on it are
// dropped. A missing one is a 404 *StatusError (see IsNotFound).
func (c *Client) DeleteTCPListener(ctx context.Context, name string) error {
	if name == "" {
		return fmt.Errorf("delete tcpListener: empty name")
	}
	return c.Delete(ctx, EntityTCPListener, name)
}
