package routertest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
)

// TestMeasureIdleTimeout measures, for several idleTimeoutSeconds of the
// edge connector, how long after the interior froze (SIGSTOP) the edge
// router reports its link down, and whether the link drops while HTTP load
// runs through it (a false drop). Measurement only (docs/performance.md,
// routerconf's default): it runs when EDGEBENCH=1, with a real router when
// SKROUTERD names one; EDGEBENCH_IDLE_TIMEOUTS lists the values (seconds).
func TestMeasureIdleTimeout(t *testing.T) {
	if os.Getenv("EDGEBENCH") != "1" {
		t.Skip("a measurement: EDGEBENCH=1")
	}
	values := []int{2, 3, 4, 6, 8}
	if v := os.Getenv("EDGEBENCH_IDLE_TIMEOUTS"); v != "" {
		values = nil
		for _, f := range splitComma(v) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("EDGEBENCH_IDLE_TIMEOUTS=%q: %v", v, err)
			}
			values = append(values, n)
		}
	}
	fmt.Printf("idleTimeoutSeconds  SIGSTOP → link down (3 freezes)     false drops under load (20 s, 8 clients)\n")
	for _, n := range values {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			in := StartInterior(t)
			svc := in.AddService(t, "my-service:8080")
			l := Listener{Name: "my-service", Port: FreePort(t), Address: svc.Address}
			spec := EdgeSpec{ID: "edge-idle", Management: FreePort(t), Uplink: in.EdgeAddr(), Listeners: []Listener{l}}
			ents := spec.Entities()
			for _, e := range ents {
				if e.Type == "connector" {
					e.Attrs["idleTimeoutSeconds"] = n
				}
			}
			e := StartEdge(t, WriteConfig(t, "skrouterd.json", ents), Controls{})
			e.WaitReady(t)
			e.WaitLink(t, "SUCCESS", 30*time.Second)
			var detect []float64
			for i := 0; i < 3; i++ {
				e.WaitListener(t, "my-service", "up", 30*time.Second)
				if err := in.Process().Signal(syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				frozen := time.Now()
				EventuallyEvery(t, 60*time.Second, 20*time.Millisecond, func() error {
					st, msg, err := LinkStatus(e.MgmtAddr)
					if err == nil && mgmt.LinkOpened(st, msg) {
						return fmt.Errorf("link still up")
					}
					return err
				})
				detect = append(detect, time.Since(frozen).Seconds())
				if err := in.Process().Signal(syscall.SIGCONT); err != nil {
					t.Fatal(err)
				}
				e.WaitLink(t, "SUCCESS", 30*time.Second)
			}
			sort.Float64s(detect)
			e.WaitListener(t, "my-service", "up", 30*time.Second)
			drops, requests := loadRun(t, e.MgmtAddr, l.Port, 20*time.Second)
			fmt.Printf("%-19d median %.2f s (%.2f – %.2f s)         %d drops, %d requests\n", n, detect[1], detect[0], detect[2], drops, requests)
		})
	}
}

// loadRun sends HTTP requests through the edge's listener from 8 clients
// for d and counts the times the edge link was seen down meanwhile.
func loadRun(t *testing.T, mgmtAddr string, port int, d time.Duration) (drops, requests int64) {
	var wg sync.WaitGroup
	var reqs atomic.Int64
	stop := make(chan struct{})
	url := "http://" + Loopback + ":" + strconv.Itoa(port) + "/"
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := http.Client{Timeout: 2 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if resp, err := c.Get(url); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					reqs.Add(1)
				}
			}
		}()
	}
	down := false
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		st, msg, err := LinkStatus(mgmtAddr)
		isDown := err == nil && !mgmt.LinkOpened(st, msg)
		if isDown && !down {
			drops++
		}
		down = isDown
		time.Sleep(50 * time.Millisecond) // the sampling period of the measurement
	}
	close(stop)
	wg.Wait()
	return drops, reqs.Load()
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
