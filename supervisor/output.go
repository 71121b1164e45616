package supervisor

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Limits of the router output pass-through.
const (
	maxLineBytes = 8 << 10 // a longer line is cut and marked "…[truncated]"
	lineQueue    = 1024    // lines waiting to be logged; more are dropped and counted
	tailLines    = 20      // last stderr lines kept for exit reports
)

// outputPump copies one of the router's pipes into edgeproxy's log, line by
// line, tagged source=skrouterd, each line parsed into its own record
// (logRouterLine); the tail ring keeps the raw lines. Its reader never waits for the logger: lines
// go through a bounded queue and are dropped (and counted) when the log is
// slower than the router, so the router never blocks on a full pipe.
type outputPump struct {
	logger  *slog.Logger
	stream  string
	tail    *ring             // nil: do not keep lines
	watch   func(line string) // nil, or called with every line as read
	argv0   string            // the router's argv[0], to recognise its refusal line
	queue   chan string
	dropped atomic.Int64
	done    chan struct{}
}

func newOutputPump(r io.ReadCloser, logger *slog.Logger, stream, argv0 string, tail *ring, watch func(string)) *outputPump {
	p := &outputPump{
		argv0:  argv0,
		logger: logger,
		stream: stream,
		tail:   tail,
		watch:  watch,
		queue:  make(chan string, lineQueue),
		done:   make(chan struct{}),
	}
	go p.read(r)
	go p.log()
	return p
}

// read runs until EOF (every writer of the pipe has closed it).
func (p *outputPump) read(r io.ReadCloser) {
	defer close(p.queue)
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		line, err := readLine(br)
		if line != "" || err == nil {
			if p.tail != nil {
				p.tail.add(line)
			}
			if p.watch != nil {
				p.watch(line)
			}
			select {
			case p.queue <- line:
			default: // the logger reports the count; the reader never waits
				p.dropped.Add(1)
			}
		}
		if err != nil {
			return
		}
	}
}

// readLine reads one line without its newline, cutting it at maxLineBytes and
// discarding the rest of an overlong line.
func readLine(br *bufio.Reader) (string, error) {
	buf, isPrefix, err := br.ReadLine()
	if err != nil {
		return "", err
	}
	line := string(buf)
	if isPrefix {
		line += "…[truncated]"
		for isPrefix && err == nil {
			_, isPrefix, err = br.ReadLine()
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return line, err
		}
	}
	return line, nil
}

func (p *outputPump) log() {
	defer close(p.done)
	var reported int64
	for line := range p.queue {
		if n := p.dropped.Load(); n != reported {
			p.logger.Warn("router output lines dropped: edgeproxy's log is slower than the router", "stream", p.stream, "dropped", n-reported)
			reported = n
		}
		logRouterLine(p.logger, p.argv0, p.stream, line)
	}
	if n := p.dropped.Load(); n != reported {
		p.logger.Warn("router output lines dropped: edgeproxy's log is slower than the router", "stream", p.stream, "dropped", n-reported)
	}
}

// ring keeps the last n lines.
type ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func newRing(n int) *ring { return &ring{lines: make([]string, n)} }

func (r *ring) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
}

// snapshot returns the kept lines, oldest first.
func (r *ring) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	return append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...)
}
