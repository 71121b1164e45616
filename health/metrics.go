package health

import (
	"bytes"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// /metrics in the Prometheus text format (version 0.0.4), written by hand
// from the snapshot at scrape time: edgeproxy's few gauges and counters, and
// the usual go_* and process_* ones. prometheus/client_golang and the
// protobuf runtime it pulls in cost resident memory and start-up work for
// that (docs/performance.md); the tests parse the output with
// prometheus/common's parser.

// metricType is a family's TYPE.
type metricType string

const (
	gauge   metricType = "gauge"
	counter metricType = "counter"
)

// family is one metric's HELP and TYPE; its series follow.
type family struct {
	name, help string
	typ        metricType
}

var (
	famRouterUp       = family{"edgeproxy_router_up", "1 when the router process runs, else 0.", gauge}
	famRestarts       = family{"edgeproxy_router_restarts_total", "Router restarts after unexpected exits.", counter}
	famManagementUp   = family{"edgeproxy_management_up", "1 when the router's management answered the last probe within the timeout.", gauge}
	famEdgeLinkUp     = family{"edgeproxy_edge_link_up", "1 when at least one edge connector is SUCCESS with its edge connection open.", gauge}
	famUplinkUp       = family{"edgeproxy_uplink_up", "1 when this edge connector is SUCCESS with its edge connection open.", gauge}
	famListenerUp     = family{"edgeproxy_listener_up", "1 when the tcpListener exists and its operStatus is up (a consumer of its address is reachable).", gauge}
	famListenerOpened = family{"edgeproxy_listener_connections_opened_total", "Connections the tcpListener accepted (the router's counter; resets when the router restarts).", counter}
	famListenerClosed = family{"edgeproxy_listener_connections_closed_total", "Connections of the tcpListener that closed (the router's counter; resets when the router restarts).", counter}
	famConnTargetUp   = family{"edgeproxy_connector_target_up", "1 when edgeproxy's last dial of the tcpConnector's target connected, else 0 (the router itself never checks it).", gauge}
	famConnPresent    = family{"edgeproxy_connector_present", "1 when the router has the tcpConnector (it is withdrawn while its target is unreachable with health.withdraw_connectors).", gauge}
	famConnOpened     = family{"edgeproxy_connector_connections_opened_total", "The tcpConnector's connectionsOpened (the router's counter: 1 at start for its dispatcher, +1 per flow; resets when the router restarts or the connector is re-created).", counter}
	famConnClosed     = family{"edgeproxy_connector_connections_closed_total", "The tcpConnector's connectionsClosed (a flow to a refusing target is opened and closed at once).", counter}
	famProbeDuration  = family{"edgeproxy_probe_duration_seconds", "How long the last health probe of the router took.", gauge}
	famReady          = family{"edgeproxy_ready", "1 when /readyz passes, else 0.", gauge}
	famLive           = family{"edgeproxy_live", "1 when /livez passes, else 0.", gauge}
	famRouterInfo     = family{"edgeproxy_router_info", "The router's id and version (value 1).", gauge}

	famGoroutines  = family{"go_goroutines", "Number of goroutines that currently exist.", gauge}
	famGoInfo      = family{"go_info", "Information about the Go environment.", gauge}
	famAlloc       = family{"go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use.", gauge}
	famSys         = family{"go_memstats_sys_bytes", "Number of bytes obtained from system.", gauge}
	famNextGC      = family{"go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place.", gauge}
	famGCCycles    = family{"go_gc_cycles_total", "Number of completed GC cycles.", counter}
	famCPU         = family{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", counter}
	famRSS         = family{"process_resident_memory_bytes", "Resident memory size in bytes.", gauge}
	famVirtual     = family{"process_virtual_memory_bytes", "Virtual memory size in bytes.", gauge}
	famOpenFDs     = family{"process_open_fds", "Number of open file descriptors.", gauge}
	famStartTime   = family{"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", gauge}
	processStarted = time.Now()
)

// metricsWriter writes families and their series.
type metricsWriter struct{ b *bytes.Buffer }

func (m metricsWriter) family(f family) {
	m.b.WriteString("# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + string(f.typ) + "\n")
}

// series writes one sample; labels are name, value pairs.
func (m metricsWriter) series(name string, v float64, labels ...string) {
	m.b.WriteString(name)
	if len(labels) > 0 {
		type pair struct{ k, v string }
		ps := make([]pair, 0, len(labels)/2)
		for i := 0; i+1 < len(labels); i += 2 {
			ps = append(ps, pair{labels[i], labels[i+1]})
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
		m.b.WriteByte('{')
		for i, p := range ps {
			if i > 0 {
				m.b.WriteByte(',')
			}
			m.b.WriteString(p.k + `="` + labelEscaper.Replace(p.v) + `"`)
		}
		m.b.WriteByte('}')
	}
	m.b.WriteByte(' ')
	m.b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	m.b.WriteByte('\n')
}

func (m metricsWriter) one(f family, v float64, labels ...string) {
	m.family(f)
	m.series(f.name, v, labels...)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

var metricsBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// metrics serves /metrics.
func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	b := metricsBuffers.Get().(*bytes.Buffer)
	b.Reset()
	defer metricsBuffers.Put(b)
	writeMetrics(metricsWriter{b}, s.src.Snapshot(), s.now())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func writeMetrics(m metricsWriter, snap *Snapshot, now time.Time) {
	running := snap.routerRunning()
	current, _ := snap.dataUsable()
	m.one(famRouterUp, b2f(running))
	m.one(famRestarts, float64(snap.Supervisor.Restarts))
	m.one(famManagementUp, b2f(current))
	m.one(famEdgeLinkUp, b2f(current && snap.LinkUp()))
	if len(snap.Uplinks) > 0 {
		m.family(famUplinkUp)
		for _, u := range snap.Uplinks {
			m.series(famUplinkUp.name, b2f(current && u.Up()), "connector", u.Connector, "host", u.Host, "port", strconv.Itoa(u.Port))
		}
	}
	if len(snap.Listeners) > 0 {
		m.family(famListenerUp)
		for _, l := range snap.Listeners {
			m.series(famListenerUp.name, b2f(current && l.Up()), "name", l.Name, "address", l.Address)
		}
		m.family(famListenerOpened)
		for _, l := range snap.Listeners {
			m.series(famListenerOpened.name, float64(l.ConnectionsOpened), "name", l.Name)
		}
		m.family(famListenerClosed)
		for _, l := range snap.Listeners {
			m.series(famListenerClosed.name, float64(l.ConnectionsClosed), "name", l.Name)
		}
	}
	if len(snap.Connectors) > 0 {
		m.family(famConnTargetUp)
		for _, c := range snap.Connectors {
			t := c.Target
			m.series(famConnTargetUp.name, b2f(t.Reachable), "name", t.Name, "address", t.Address, "target", t.Target())
		}
		m.family(famConnPresent)
		for _, c := range snap.Connectors {
			m.series(famConnPresent.name, b2f(current && c.Exists), "name", c.Target.Name, "address", c.Target.Address)
		}
		m.family(famConnOpened)
		for _, c := range snap.Connectors {
			m.series(famConnOpened.name, float64(c.ConnectionsOpened), "name", c.Target.Name)
		}
		m.family(famConnClosed)
		for _, c := range snap.Connectors {
			m.series(famConnClosed.name, float64(c.ConnectionsClosed), "name", c.Target.Name)
		}
	}
	m.one(famProbeDuration, snap.ProbeDuration.Seconds())
	m.one(famReady, b2f(snap.Ready(now)))
	m.one(famLive, b2f(snap.Live(now)))
	if snap.RouterID != "" || snap.RouterVersion != "" {
		m.one(famRouterInfo, 1, "id", snap.RouterID, "version", snap.RouterVersion)
	}
	writeRuntimeMetrics(m)
}

// writeRuntimeMetrics writes the go_* and process_* families.
func writeRuntimeMetrics(m metricsWriter) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.one(famGoroutines, float64(runtime.NumGoroutine()))
	m.one(famGoInfo, 1, "version", runtime.Version())
	m.one(famAlloc, float64(ms.Alloc))
	m.one(famSys, float64(ms.Sys))
	m.one(famNextGC, float64(ms.NextGC))
	m.one(famGCCycles, float64(ms.NumGC))
	if st, ok := readSelfStat(); ok {
		m.one(famCPU, st.cpuSeconds)
		m.one(famRSS, st.rssBytes)
		m.one(famVirtual, st.vsizeBytes)
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		m.one(famOpenFDs, float64(len(fds)))
	}
	m.one(famStartTime, float64(processStarted.UnixMilli())/1000)
}

type selfStat struct{ cpuSeconds, rssBytes, vsizeBytes float64 }

// readSelfStat reads /proc/self/stat (Linux; clock ticks of 1/100 s).
func readSelfStat() (selfStat, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return selfStat{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return selfStat{}, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 22 {
		return selfStat{}, false
	}
	num := func(k int) float64 { v, _ := strconv.ParseFloat(f[k], 64); return v }
	// Fields after the command, from 0: state, ..., utime 11, stime 12, vsize 20, rss 21.
	return selfStat{cpuSeconds: (num(11) + num(12)) / 100, vsizeBytes: num(20), rssBytes: num(21) * float64(os.Getpagesize())}, true
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
