// Package routertest is the router test harness: it starts skrouterd routers
// for tests, either a faithful fake (the default) or a real skupper-router,
// behind one API.
//
// # Modes
//
// Fake mode (the default, what CI runs) launches testdata/fake-skrouterd, a
// Python program built on Qpid Proton's reactor (Debian's python3-qpid-proton,
// run by /usr/bin/python3) that reads the same `-c FILE` JSON configuration as
// skrouterd, checks it against a copy of the router's management schema
// (testdata/skrouter-schema.json) and behaves like the captures in
// testdata/captures (what a real skrouterd produced; see its README.md): configuration errors and their exit, log lines on stderr,
// AMQP management (SASL ANONYMOUS, dynamic reply address, $management, QUERY,
// READ, CREATE/DELETE of tcpListener and tcpConnector with the real status
// codes and body shapes), the router's flow records (vanflow: the source id in
// router.address, LINK and LISTENER records, FLUSH, beacons; captures/vanflow),
// the edge link (connector connectionStatus, the edge
// connection, retry every 2 s; several edge connectors: one active, the
// others standbys, failover as the real router), tcpListener sockets open only while their
// address is reachable, TCP forwarding through the interior, and signals. The
// program's docstring documents what it models and its private edge/interior
// protocol.
//
// Real mode: when $SKROUTERD names a real skrouterd, every router the harness
// starts (edges and interiors) is that binary. Controls a real router cannot
// give make Binary skip the test with the reason; RequireFake does the same for
// behaviour only the fake has. Nothing fails only because no real router is
// present. Binary also skips real-mode tests where the host name cannot be
// resolved in time (a real router would take 20 s to start). $SKROUTERD may
// be a name on PATH or a path relative to the module root. Routers that
// edgeproxy launches in tests get the test's environment (RouterEnv), as a
// real router may need QDROUTERD_HOME, PYTHONPATH or LD_LIBRARY_PATH.
//
// # Controls
//
// Controls are passed to the fake as environment variables by a wrapper script
// that execs it (so the process id is the fake's): FAKE_SKROUTERD_CRASH_AFTER,
// _CRASH_CODE, _CRASH_SIGNAL, _HANG_AFTER, _START_DELAY, _ORPHAN, _IGNORE_TERM,
// _RECORD (JSON lines read by ReadRecord), _VERSION and _SCHEMA. In real mode a
// Python wrapper gives StartDelay, Orphan, Record (start and config events)
// and CrashSignal (sent from outside) before exec'ing the real router.
//
// # API
//
//	bin := routertest.Binary(t, routertest.Controls{CrashAfter: time.Second, CrashCode: 3})
//	in := routertest.StartInterior(t)              // interior with an edge listener
//	b := routertest.StartInteriorWith(t, routertest.InteriorOptions{ID: "interior-b", LinkTo: []*routertest.Interior{a}})
//	svc := in.AddService(t, "my-service:8080")     // HTTP backend + tcpConnector (CREATE)
//	in.RemoveService(t, "my-service:8080")         // DELETE; Stop, Kill, Start (same ports)
//	cfg := routertest.WriteEdgeConfig(t, routertest.EdgeSpec{Uplink: in.EdgeAddr(), Alternates: []string{b.EdgeAddr()}, ...})
//	e := routertest.StartEdge(t, cfg, routertest.Controls{Record: path})
//	e.WaitReady(t); e.WaitLink(t, "SUCCESS", d); e.WaitListener(t, "my-service", "up", d)
//	rows := e.Query(t, "tcpListener")              // or QueryOnce, DialMgmt for more
//	routertest.Eventually(t, 5*time.Second, func() error { ... })
//	events := routertest.ReadRecord(t, path)       // start, config, signal, orphan, crash, exit
//
// Routers run in their own process group; t.Cleanup kills the group (and so
// the fake's orphan). Router processes cannot report the ports they bind, so
// the harness picks free loopback ports (FreePort) and retries an interior
// start that lost a port race; backends listen on :0.
//
// The management helpers here (Mgmt, QueryOnce, LinkStatus, ...) are thin
// wrappers over internal/mgmt, the one AMQP management client, whose raw
// Call lets tests see answers as they came.
package routertest
