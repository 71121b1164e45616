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
//	EDGEPROXY_HEALTH__INTERVAL               1s                             probe interval
//	EDGEPROXY_HEALTH__TIMEOUT                1s                             bound on each management call
//	EDGEPROXY_HEALTH__REQUIRE_LISTENERS      false                          a down tcpListener fails readiness
//	EDGEPROXY_SUPERVISOR__STOP_TIMEOUT       8s                             SIGTERM to SIGKILL delay on stop
//	EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL    100ms                          first restart delay
//	EDGEPROXY_SUPERVISOR__BACKOFF_MAX        30s                            restart delay cap
//	EDGEPROXY_SUPERVISOR__RESET_AFTER        30s                            a run this long resets backoff and fast failures
//	EDGEPROXY_SUPERVISOR__MAX_FAST_FAILURES  10                             give up after this many fast exits in a row
//	EDGEPROXY_LOG__FORMAT                    text                           text or json (also --log-format)
//	EDGEPROXY_LOG__LEVEL                     info                           edgeproxy's log level: debug, info, warn, error
//
// Exit codes: 0 success; 2 bad configuration or usage (nothing is written);
// 1 other failures. `run` exits non-zero when it gives up on the router.
package main
