// Package routertest is the router test harness: it starts skrouterd routers
// for tests, either a faithful fake (the default) or a real skupper-router.
//
// # Modes
//
// Fake mode (the default, what CI runs) launches testdata/fake-skrouterd, a
// Python program built on Qpid Proton (Debian's python3-qpid-proton, run with
// /usr/bin/python3) that reads the same `-c FILE` JSON configuration as
// skrouterd and behaves like the captures in shared/skrouterd: start-up and
// config errors, log lines on stderr, AMQP management (SASL ANONYMOUS, dynamic
// reply address, $management, QUERY/READ/CREATE/DELETE with the real status
// codes and body shapes), the edge link (connector connectionStatus and the edge
// connection), tcpListener sockets open only while their address is reachable,
// TCP forwarding, and signals. Its test controls (crash, hang, slow start,
// orphaned grandchild, ignored SIGTERM, a record of argv/signals/config) are
// environment variables documented at the top of the program.
//
// Real mode: when the environment variable SKROUTERD names a real skrouterd
// binary, the same API starts that binary for every router (edge and interior).
// A test asking for a control the real router cannot give is skipped with the
// reason (see Binary); nothing fails only because no real router is present.
//
// # API
//
//	routertest.Binary(t, routertest.Controls{...})  // executable to launch as skrouterd
//	in := routertest.StartInterior(t)                // interior with an edge listener
//	svc := in.AddService(t, "my-service:8080")       // HTTP backend + tcpConnector
//	cfg := routertest.WriteEdgeConfig(t, routertest.EdgeSpec{...})
//	e := routertest.StartEdge(t, cfg, routertest.Controls{})
//	routertest.Eventually(t, 5*time.Second, func() error { ... })
//	rows := e.Query(t, "tcpListener")                // test-only management client
//	events := routertest.ReadRecord(t, path)         // what the fake recorded
//
// Routers run in their own process group; t.Cleanup kills the group. Router
// processes cannot report the ports they bind, so the harness picks free
// loopback ports (FreePort) and retries a start that lost a port race.
//
// The management client here (Mgmt) is deliberately small and for tests only;
// the production client lives in package health.
package routertest
