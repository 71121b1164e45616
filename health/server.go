package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Source gives the handlers the current snapshot. Handlers only read it:
// no request ever reaches the router.
type Source interface {
	Snapshot() *Snapshot
}

// Server timeouts: a client that sends its headers slowly or reads
// slowly cannot hold a connection for long.
const (
	readHeaderTimeout = 2 * time.Second
	readTimeout       = 5 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Server serves /livez, /readyz, /status and /metrics from a Source.
type Server struct {
	src  Source
	log  *slog.Logger
	now  func() time.Time
	mux  *http.ServeMux
	http *http.Server
}

// NewServer returns a server reading src.
func NewServer(src Source, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{src: src, log: logger, now: time.Now, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /livez", s.checks("livez", (*Snapshot).LiveChecks))
	s.mux.HandleFunc("GET /readyz", s.checks("readyz", (*Snapshot).ReadyChecks))
	s.mux.HandleFunc("GET /livez/{check...}", s.oneCheck((*Snapshot).LiveChecks))
	s.mux.HandleFunc("GET /readyz/{check...}", s.oneCheck((*Snapshot).ReadyChecks))
	s.mux.HandleFunc("GET /status", s.status)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.http = &http.Server{
		Handler:           http.MaxBytesHandler(s.mux, 1<<10),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return s
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Serve serves on ln until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("health endpoints listening", "address", ln.Addr().String())
	if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("health server: %w", err)
	}
	return nil
}

// Shutdown stops the server, letting requests in flight finish within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
		return fmt.Errorf("health server shutdown: %w", err)
	}
	return nil
}
