package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"github.com/edgeproxy/edgeproxy/internal/problems"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// preflight checks, before anything is written or started, that the router
// will be able to open every socket it is configured to listen on: its
// management listener and each tcpListener. skrouterd does not exit when it
// cannot: it logs the error and runs on without management, or with a
// tcpListener that stays down forever, so `run` refuses such a
// configuration at once, naming the key (exit 2). Each address is bound and
// released at once; the router binds it a moment later.
func preflight(rc routerconf.Config) error {
	var p problems.List
	if why := bindProblem(rc.Router.Management); why != "" {
		p.Add("router.management", rc.Router.Management, "%s", why)
	}
	bindListeners(&p, rc.Listeners, func(routerconf.Listener) bool { return true })
	return p.Err()
}

// bindListeners checks, as preflight does, the listeners check selects (a
// reload checks only those it is about to create on a port the router does
// not hold yet), naming each problem by its key.
func bindListeners(p *problems.List, ls []routerconf.Listener, check func(routerconf.Listener) bool) {
	for i, l := range ls {
		if !check(l) {
			continue
		}
		hp := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
		if why := bindProblem(hp); why != "" {
			p.Add(fmt.Sprintf("listeners[%d].port", i), hp, "%s", why)
		}
	}
}

// bindProblem says why the router could not listen on hostPort, or "".
func bindProblem(hostPort string) string {
	ln, err := net.Listen("tcp", hostPort)
	if err == nil {
		_ = ln.Close()
		return ""
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "the port is already in use by another process on this host: the router could not listen there"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "the host is not an address of this machine (or its network namespace): the router could not listen there"
	case errors.Is(err, syscall.EACCES):
		return "permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start) for the router to listen there"
	default:
		return "the router could not listen there: " + err.Error()
	}
}
