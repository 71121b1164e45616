// Command edgeproxy is the entrypoint (PID 1) of a service-proxy container in
// the edge-router strategy: it renders an edge-mode skrouterd.json, runs and
// supervises skupper-router (skrouterd) in edge mode, and reports its health.
// A proxy has listeners (ports whose connections go to a routing address),
// connectors (a routing address whose connections go to a workload's
// host:port: a workload-side proxy), or both.
//
// Commands:
//
//	edgeproxy run          render the config, supervise skrouterd, serve health (the container entrypoint)
//	edgeproxy render       print the rendered skrouterd.json on stdout
//	edgeproxy healthcheck  exit 0 when the proxy is ready (for HEALTHCHECK), 1 otherwise
//	edgeproxy version      print version, commit and Go version
//
// Configuration comes from built-in defaults, then the YAML file named by
// --config or EDGEPROXY_CONFIG, then EDGEPROXY_<SECTION>__<KEY> environment
// variables (later wins). docs/configuration.md explains every key; the
// variables, their defaults and meaning in brief:
//
//	EDGEPROXY_CONFIG                         -                              YAML configuration file (optional; also --config)
//	EDGEPROXY_ROUTER__ID                     host name                      router id of the edge router
//	EDGEPROXY_ROUTER__BINARY                 skrouterd                      router executable, looked up on PATH
//	EDGEPROXY_ROUTER__CONFIG_FILE            /tmp/edgeproxy/skrouterd.json  where the rendered config is written; must end in .json
//	EDGEPROXY_ROUTER__MANAGEMENT             127.0.0.1:5672                 AMQP management listener; loopback only
//	EDGEPROXY_ROUTER__WORKER_THREADS         0 (router default)             router worker threads
//	EDGEPROXY_ROUTER__LOG_LEVEL              info                           router log level: debug, info, warning, error, critical
//	EDGEPROXY_ROUTER__FLOW_LOG               false                          router FLOW_LOG module (costly: off by default)
//	EDGEPROXY_ROUTER__OBSERVER               - (router default, auto)       tcpListeners' protocol observer: none, auto, http1, http2
//	EDGEPROXY_ROUTER__SITE_ID                -                              site id: router metadata, tcpListener/tcpConnector siteId
//	EDGEPROXY_ROUTER__UPLINK_IDLE_TIMEOUT    4s                             edge connectors' idleTimeoutSeconds: a frozen interior is noticed after this
//	EDGEPROXY_UPLINK__HOST                   host.docker.internal           interior router's edge listener host
//	EDGEPROXY_UPLINK__PORT                   45671                          its port
//	EDGEPROXY_UPLINK__TLS__CA_FILE           -                              CA file; any TLS file turns TLS on
//	EDGEPROXY_UPLINK__TLS__CERT_FILE         -                              client certificate (with KEY_FILE)
//	EDGEPROXY_UPLINK__TLS__KEY_FILE          -                              client key (with CERT_FILE)
//	EDGEPROXY_UPLINK__TLS__VERIFY_HOSTNAME   true                           verify the interior's certificate host name
//	EDGEPROXY_UPLINKS                        - (UPLINK is the one uplink)   several interiors: [NAME=]HOST:PORT,...; not with UPLINK__*
//	EDGEPROXY_UPLINKS__<i>__<FIELD>          -                              a field of entry i (from 0), e.g. EDGEPROXY_UPLINKS__1__TLS__CA_FILE
//	EDGEPROXY_LISTENERS                      -                              [HOST:]PORT=ADDRESS,... e.g. 8080=my-service:8080
//	EDGEPROXY_CONNECTORS                     -                              ADDRESS=HOST:PORT,... e.g. my-service:8080=nginx:8080
//	EDGEPROXY_HEALTH__LISTEN                 127.0.0.1:9090                 /livez /readyz /status /metrics
//	EDGEPROXY_HEALTH__INTERVAL               1s                             probe interval without the router's events (fallback)
//	EDGEPROXY_HEALTH__LISTENER_INTERVAL      10s                            probe interval while the edge link is followed by events; 0: events off
//	EDGEPROXY_HEALTH__TIMEOUT                1s                             bound on each management call
//	EDGEPROXY_HEALTH__REQUIRE_LISTENERS      false                          a down tcpListener fails readiness
//	EDGEPROXY_HEALTH__CONNECTOR_INTERVAL     5s                             how often each connector's target is dialed
//	EDGEPROXY_HEALTH__REQUIRE_CONNECTORS     false                          an unreachable connector target fails readiness
//	EDGEPROXY_HEALTH__WITHDRAW_CONNECTORS    true                           delete a tcpConnector while its target is unreachable
//	EDGEPROXY_SUPERVISOR__STOP_TIMEOUT       8s                             SIGTERM to SIGKILL delay on stop
//	EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL    100ms                          first restart delay
//	EDGEPROXY_SUPERVISOR__BACKOFF_MAX        30s                            restart delay cap
//	EDGEPROXY_SUPERVISOR__RESET_AFTER        30s                            a run this long resets backoff and fast failures
//	EDGEPROXY_SUPERVISOR__MAX_FAST_FAILURES  10                             give up after this many fast exits in a row
//	EDGEPROXY_SUPERVISOR__LINK_DOWN_RESTART_AFTER 0s (off)                link watchdog: restart a router with no edge link this long
//	EDGEPROXY_LOG__FORMAT                    text                           text or json (also --log-format)
//	EDGEPROXY_LOG__LEVEL                     info                           edgeproxy's log level: debug, info, warn, error
//
// Live changes (docs/operations.md): SIGHUP, or a change of the --config
// file or of the uplink.tls files, reloads the configuration; listeners are
// added and removed over management without a router restart, renewed TLS
// files update the sslProfile, and a change the router cannot make at run
// time restarts it once. An invalid configuration changes nothing.
//
// Exit codes: 0 success; 2 bad configuration or usage (nothing is written);
// 1 other failures. `run` exits non-zero when it gives up on the router.
package main
