package supervisor

import (
	"context"
	"time"
)

// Host name check: skrouterd resolves its own host name twice while
// starting; where that name has no answer (no /etc/hosts entry, no DNS
// server answering) its start-up takes about 20 s instead of 0.2 s.
const (
	hostnameTimeout = time.Second
	hostnameSlow    = 200 * time.Millisecond
)

// checkHostname resolves the host name once before the first launch and
// warns, naming cause and fix, when that fails or is slow. It never blocks
// the launch for more than hostnameTimeout.
func (s *Supervisor) checkHostname(ctx context.Context) {
	const fix = "add the host name to /etc/hosts (container engines normally do; check the container's hostname setting and that /etc/hosts is not replaced)"
	host, err := s.hostname()
	if err != nil {
		s.logger.Warn("cannot read the host name; skrouterd resolves it while starting", "err", err)
		return
	}
	lctx, cancel := context.WithTimeout(ctx, hostnameTimeout)
	defer cancel()
	start := time.Now()
	addrs, err := s.lookupHost(lctx, host)
	took := time.Since(start)
	if ctx.Err() != nil {
		return // stopping before the first launch: nothing to warn about
	}
	switch {
	case err != nil:
		s.logger.Warn("host name does not resolve: skrouterd resolves its own host name twice while starting and will take about 20 s instead of 0.2 s",
			"hostname", host, "took", took.Round(time.Millisecond), "err", err, "fix", fix)
	case took > hostnameSlow:
		s.logger.Warn("host name resolves slowly: skrouterd resolves its own host name twice while starting, so its start-up is slow too",
			"hostname", host, "took", took.Round(time.Millisecond), "addrs", addrs, "fix", fix)
	default:
		s.logger.Debug("host name resolves", "hostname", host, "addrs", addrs, "took", took)
	}
}
