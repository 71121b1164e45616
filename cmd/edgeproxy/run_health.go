package main

import (
	"log/slog"

	"github.com/edgeproxy/edgeproxy/supervisor"
)

// healthActors returns the health poller and HTTP server actors for `run`.
// STUB: the health helper fills it in.
func healthActors(s *settings, sup supervisor.StatusReader, logger *slog.Logger) ([]actor, error) {
	return nil, nil
}
