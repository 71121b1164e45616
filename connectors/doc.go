// Package connectors watches the targets of a workload-side proxy's
// tcpConnectors and, when asked, makes each tcpConnector follow its target.
//
// A real skupper-router tcpConnector says nothing about its target: it has
// no operStatus, it dials the target only when a flow arrives, and its
// entity reads the same whether the target is up, refuses, never answers, or
// nobody consumes the address (internal/mgmt.TCPConnector). Meanwhile the
// address stays reachable for the whole network, so a service proxy's
// tcpListener for it stays open and accepts connections that the router
// then closes at once. So edgeproxy dials each target itself, at a slow
// interval (Watcher: one TCP connect per target per interval, never per
// probe or per flow), and the health checks report what it finds.
//
// With withdrawal on (Gate), a tcpConnector whose target does not accept is
// deleted from the router over management, and created again, with the
// attributes routerconf renders, once the target accepts: while it is gone,
// the address has no consumer, service proxies' tcpListeners close (their
// clients are refused at once instead of accepted and cut), and other
// connectors for the same address take every flow. The gate reconciles
// against what the router has (a QUERY of tcpConnectors per round), so a
// restarted router, which starts from the rendered file with every
// connector, is brought in line at the next round.
package connectors
