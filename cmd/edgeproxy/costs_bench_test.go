package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// TestCosts is `make bench`'s measurement of edgeproxy's own costs
// (docs/performance.md, "edgeproxy's own costs"): `edgeproxy run` over the
// router harness (fake, or real with SKROUTERD), EDGEBENCH_ROUNDS rounds
// (default 3), each idle for EDGEBENCH_IDLE (default 60s). It runs only when
// EDGEBENCH=1 and reports median and min–max of each measure; it asserts no
// time (the targets are read off its output).
func TestCosts(t *testing.T) {
	if os.Getenv("EDGEBENCH") != "1" {
		t.Skip("make bench runs this (EDGEBENCH=1)")
	}
	rounds := envInt(t, "EDGEBENCH_ROUNDS", 3)
	idle := envDuration(t, "EDGEBENCH_IDLE", time.Minute)
	m := &measures{values: map[string][]float64{}, units: map[string]string{}}
	for r := 1; r <= rounds; r++ {
		costRound(t, m, idle)
		routerAloneRound(t, m, idle)
	}
	fmt.Printf("\nedgeproxy's own costs: router %s, %d rounds, idle %s, nproc %d, load %s\n",
		routerName(), rounds, idle, nproc(), loadavg())
	fmt.Printf("%-52s %12s %25s\n", "measure", "median", "min – max")
	for _, name := range m.order {
		v := append([]float64(nil), m.values[name]...)
		sort.Float64s(v)
		unit := m.units[name]
		fmt.Printf("%-52s %12s %25s\n", name, format(v[len(v)/2], unit), format(v[0], unit)+" – "+format(v[len(v)-1], unit))
	}
}

type measures struct {
	order  []string
	values map[string][]float64
	units  map[string]string
}

func (m *measures) add(name, unit string, v float64) {
	if m.values == nil {
		panic("measures not made")
	}
	if _, ok := m.values[name]; !ok {
		m.order = append(m.order, name)
	}
	m.values[name] = append(m.values[name], v)
	m.units[name] = unit
}

func format(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.0f ms", v)
	case "MiB":
		return fmt.Sprintf("%.1f MiB", v)
	case "%":
		return fmt.Sprintf("%.3f %%", v)
	}
	return fmt.Sprint(v)
}

// costRound: exec → ready → traffic; RSS; idle CPU of edgeproxy and its
// router; SIGKILL of the router → ready again; interior frozen (SIGSTOP) →
// not ready; uplink gone (interior SIGKILL) → not ready; SIGTERM → exited.
func costRound(t *testing.T, m *measures, idle time.Duration) {
	t.Run("proxy", func(t *testing.T) {
		in := routertest.StartInterior(t)
		svc := in.AddService(t, "my-service:8080")
		exec := time.Now()
		p, _, port := routerProxy(t, in, routertest.Controls{})
		base := "http://" + envValue(p.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")
		waitReadyz(t, base, http.StatusOK, 30*time.Second)
		m.add("exec → /readyz 200", "ms", ms(time.Since(exec)))
		routertest.EventuallyEvery(t, 30*time.Second, 2*time.Millisecond, func() error { return greets(port, svc.Greeting()) })
		m.add("exec → first request served through the tcpListener", "ms", ms(time.Since(exec)))
		pid := p.cmd.Process.Pid
		router := harnessRouterPIDs(t, p.record)[0]
		m.add("edgeproxy RSS after start-up", "MiB", rssMiB(t, pid))
		cpu0, rcpu0, t0 := cpuSeconds(t, pid), cpuSeconds(t, router), time.Now()
		time.Sleep(idle) // the measure is the idle time itself
		el := time.Since(t0).Minutes()
		m.add("edgeproxy CPU idle (% of a core)", "%", (cpuSeconds(t, pid)-cpu0)/el/60*100)
		m.add("its router CPU idle, probed (% of a core)", "%", (cpuSeconds(t, router)-rcpu0)/el/60*100)
		m.add(fmt.Sprintf("edgeproxy RSS after %s idle", idle), "MiB", rssMiB(t, pid))

		killed := time.Now()
		if err := syscall.Kill(router, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitReadyz(t, base, http.StatusServiceUnavailable, 10*time.Second)
		waitReadyz(t, base, http.StatusOK, 30*time.Second)
		m.add("router SIGKILL → /readyz 200 again", "ms", ms(time.Since(killed)))

		frozen := time.Now()
		if err := in.Process().Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		waitReadyz(t, base, http.StatusServiceUnavailable, 60*time.Second)
		m.add("interior frozen (SIGSTOP) → /readyz 503", "ms", ms(time.Since(frozen)))
		if err := in.Process().Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		waitReadyz(t, base, http.StatusOK, 30*time.Second)

		gone := time.Now()
		in.Kill()
		waitReadyz(t, base, http.StatusServiceUnavailable, 30*time.Second)
		m.add("uplink gone (interior SIGKILL) → /readyz 503", "ms", ms(time.Since(gone)))

		stop := time.Now()
		p.signal(t, syscall.SIGTERM)
		p.wait(t, 15*time.Second)
		m.add("SIGTERM → edgeproxy exited", "ms", ms(time.Since(stop)))
	})
}

// routerAloneRound: the same router with no edgeproxy (unprobed): its own
// start-to-link time and idle CPU.
func routerAloneRound(t *testing.T, m *measures, idle time.Duration) {
	t.Run("router-alone", func(t *testing.T) {
		in := routertest.StartInterior(t)
		in.AddService(t, "my-service:8080")
		l := routertest.Listener{Name: "my-service", Port: routertest.FreePort(t), Address: "my-service:8080"}
		cfg := routertest.WriteEdgeConfig(t, routertest.EdgeSpec{ID: "edge-bench", Uplink: in.EdgeAddr(), Listeners: []routertest.Listener{l}})
		start := time.Now()
		e := routertest.StartEdge(t, cfg, routertest.Controls{})
		routertest.EventuallyEvery(t, 30*time.Second, 2*time.Millisecond, func() error { return linkUp(e.MgmtAddr) })
		m.add("router alone: start → edge link up (polled)", "ms", ms(time.Since(start)))
		cpu0, t0 := cpuSeconds(t, e.PID()), time.Now()
		time.Sleep(idle) // the measure is the idle time itself
		m.add("router alone CPU idle, unprobed (% of a core)", "%", (cpuSeconds(t, e.PID())-cpu0)/time.Since(t0).Minutes()/60*100)
	})
}

func waitReadyz(t *testing.T, base string, code int, limit time.Duration) {
	t.Helper()
	routertest.EventuallyEvery(t, limit, 2*time.Millisecond, func() error {
		got, _, err := httpGet(context.Background(), base+"/readyz")
		if err != nil || got != code {
			return fmt.Errorf("/readyz %d (%v), want %d", got, err, code)
		}
		return nil
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rssMiB is VmRSS of pid.
func rssMiB(t *testing.T, pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	t.Fatalf("no VmRSS for %d", pid)
	return 0
}

// cpuSeconds is utime+stime of pid (clock ticks of 1/100 s).
func cpuSeconds(t *testing.T, pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

func envInt(t *testing.T, key string, def int) int {
	if v := os.Getenv(key); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive integer", key, v)
		}
		return n
	}
	return def
}

func envDuration(t *testing.T, key string, def time.Duration) time.Duration {
	if v := os.Getenv(key); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration", key, v)
		}
		return d
	}
	return def
}

func routerName() string {
	if bin, ok := routertest.RealBinary(); ok {
		return bin
	}
	return "fake"
}

func nproc() int {
	n := 0
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "processor") {
			n++
		}
	}
	return n
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
