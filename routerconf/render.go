package routerconf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"
)

// Render validates c and returns the edge-mode skrouterd.json: a list of
// [entityType, attributes] in a fixed order — router, sslProfiles (TLS only,
// one per distinct set of files), management listener, one edge connector per
// uplink in configuration order, tcpListeners then tcpConnectors in
// configuration order, log settings — one entity per line.
func Render(c Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("render router config: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString("[\n")
	all := entities(c)
	for i, e := range all {
		if err := writeEntity(&buf, e); err != nil {
			return nil, fmt.Errorf("render %s: %w", e.Type, err)
		}
		if i < len(all)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	return buf.Bytes(), nil
}

func entities(c Config) []Entity {
	var out []Entity

	router := Entity{Type: "router"}
	router.set("mode", "edge")
	router.set("id", c.Router.ID)
	if c.Router.WorkerThreads > 0 {
		router.set("workerThreads", c.Router.WorkerThreads)
	}
	if c.Router.SiteID != "" {
		meta, _ := json.Marshal(map[string]string{"id": c.Router.SiteID})
		router.set("metadata", string(meta))
	}
	out = append(out, router)

	profiles := c.SSLProfileNames()
	for i, u := range c.Uplinks {
		if profiles[i] == "" || slices.Index(profiles, profiles[i]) < i {
			continue // no TLS, or the profile of an earlier uplink
		}
		ssl := Entity{Type: "sslProfile"}
		ssl.set("name", profiles[i])
		if u.TLS.CAFile != "" {
			ssl.set("caCertFile", u.TLS.CAFile)
		}
		if u.TLS.CertFile != "" {
			ssl.set("certFile", u.TLS.CertFile)
			ssl.set("privateKeyFile", u.TLS.KeyFile)
		}
		if u.TLS.Ordinal > 0 {
			ssl.set("ordinal", u.TLS.Ordinal)
		}
		out = append(out, ssl)
	}

	mgmtHost, mgmtPort, _ := net.SplitHostPort(c.Router.Management)
	mgmt := Entity{Type: "listener"}
	mgmt.set("name", ManagementListenerName)
	mgmt.set("host", mgmtHost)
	mgmt.set("port", mgmtPort)
	mgmt.set("role", "normal")
	out = append(out, mgmt)

	for i, u := range c.Uplinks {
		uplink := Entity{Type: "connector"}
		uplink.set("name", u.Name)
		uplink.set("host", u.Host)
		uplink.set("port", strconv.Itoa(u.Port))
		uplink.set("role", "edge")
		if c.Router.UplinkIdleTimeout > 0 {
			uplink.set("idleTimeoutSeconds", int(c.Router.UplinkIdleTimeout/time.Second))
		}
		if profiles[i] != "" {
			uplink.set("sslProfile", profiles[i])
			uplink.set("verifyHostname", u.TLS.VerifyHostname)
		}
		out = append(out, uplink)
	}

	for _, l := range c.Listeners {
		tl := bridge("tcpListener", l.Name, l.Host, l.Port, l.Address, c.Router.SiteID)
		if c.Router.Observer != "" {
			tl.set("observer", c.Router.Observer)
		}
		out = append(out, tl)
	}
	for _, cn := range c.Connectors {
		out = append(out, bridge("tcpConnector", cn.Name, cn.Host, cn.Port, cn.Address, c.Router.SiteID))
	}

	def := Entity{Type: "log"}
	def.set("module", "DEFAULT")
	def.set("enable", c.Router.LogLevel+"+")
	out = append(out, def)

	flow := Entity{Type: "log"}
	flow.set("module", "FLOW_LOG")
	if c.Router.FlowLog {
		flow.set("enable", c.Router.LogLevel+"+")
	} else {
		flow.set("enable", "none")
	}
	out = append(out, flow)
	return out
}

// bridge is a tcpListener or tcpConnector: the two have the same attributes
// (the host and port listened on, or connected to).
func bridge(typ, name, host string, port int, address, siteID string) Entity {
	e := Entity{Type: typ}
	e.set("name", name)
	e.set("host", host)
	e.set("port", strconv.Itoa(port))
	e.set("address", address)
	if siteID != "" {
		e.set("siteId", siteID)
	}
	return e
}

// TCPConnectorAttributes are the attributes of cn's tcpConnector as Render
// writes them (siteID is router.site_id), for creating it over management.
func TCPConnectorAttributes(cn Connector, siteID string) map[string]any {
	e := bridge("tcpConnector", cn.Name, cn.Host, cn.Port, cn.Address, siteID)
	out := make(map[string]any, len(e.Attrs))
	for _, a := range e.Attrs {
		out[a.Key] = a.Value
	}
	return out
}

func writeEntity(buf *bytes.Buffer, e Entity) error {
	typ, err := json.Marshal(e.Type)
	if err != nil {
		return err
	}
	buf.WriteString("    [")
	buf.Write(typ)
	buf.WriteString(", {")
	for i, a := range e.Attrs {
		k, err := json.Marshal(a.Key)
		if err != nil {
			return err
		}
		v, err := json.Marshal(a.Value)
		if err != nil {
			return fmt.Errorf("attribute %s: %w", a.Key, err)
		}
		if i > 0 {
			buf.WriteString(", ")
		}
		buf.Write(k)
		buf.WriteString(": ")
		buf.Write(v)
	}
	buf.WriteString("}]")
	return nil
}

// ListenerHostPort is how skrouterd names the listener rendered for
// hostPort in its log lines ("Listener error on <host>:<port>: ..."): host
// and port as configured, joined by a colon, without brackets.
func ListenerHostPort(hostPort string) string {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return hostPort
	}
	return host + ":" + port
}
