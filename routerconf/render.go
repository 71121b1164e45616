package routerconf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
)

// attr is one attribute of an entity; entities keep their attributes in the
// order they are added so the output never depends on map iteration.
type attr struct {
	key   string
	value any
}

type entity struct {
	typ   string
	attrs []attr
}

func (e *entity) set(key string, value any) { e.attrs = append(e.attrs, attr{key, value}) }

// Render validates c and returns the edge-mode skrouterd.json: a list of
// [entityType, attributes] in a fixed order — router, sslProfile (TLS only),
// management listener, edge connector, tcpListeners in configuration order,
// log settings — one entity per line.
func Render(c Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("render router config: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString("[\n")
	all := entities(c)
	for i, e := range all {
		if err := writeEntity(&buf, e); err != nil {
			return nil, fmt.Errorf("render %s: %w", e.typ, err)
		}
		if i < len(all)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	return buf.Bytes(), nil
}

func entities(c Config) []entity {
	var out []entity

	router := entity{typ: "router"}
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

	tls := c.Uplink.TLS
	if tls.Enabled() {
		ssl := entity{typ: "sslProfile"}
		ssl.set("name", UplinkSSLProfileName)
		if tls.CAFile != "" {
			ssl.set("caCertFile", tls.CAFile)
		}
		if tls.CertFile != "" {
			ssl.set("certFile", tls.CertFile)
			ssl.set("privateKeyFile", tls.KeyFile)
		}
		out = append(out, ssl)
	}

	mgmtHost, mgmtPort, _ := net.SplitHostPort(c.Router.Management)
	mgmt := entity{typ: "listener"}
	mgmt.set("name", ManagementListenerName)
	mgmt.set("host", mgmtHost)
	mgmt.set("port", mgmtPort)
	mgmt.set("role", "normal")
	out = append(out, mgmt)

	uplink := entity{typ: "connector"}
	uplink.set("name", UplinkConnectorName)
	uplink.set("host", c.Uplink.Host)
	uplink.set("port", strconv.Itoa(c.Uplink.Port))
	uplink.set("role", "edge")
	if tls.Enabled() {
		uplink.set("sslProfile", UplinkSSLProfileName)
		uplink.set("verifyHostname", tls.VerifyHostname)
	}
	out = append(out, uplink)

	for _, l := range c.Listeners {
		tl := entity{typ: "tcpListener"}
		tl.set("name", l.Name)
		tl.set("host", l.Host)
		tl.set("port", strconv.Itoa(l.Port))
		tl.set("address", l.Address)
		if c.Router.Observer != "" {
			tl.set("observer", c.Router.Observer)
		}
		if c.Router.SiteID != "" {
			tl.set("siteId", c.Router.SiteID)
		}
		out = append(out, tl)
	}

	def := entity{typ: "log"}
	def.set("module", "DEFAULT")
	def.set("enable", c.Router.LogLevel+"+")
	out = append(out, def)

	flow := entity{typ: "log"}
	flow.set("module", "FLOW_LOG")
	if c.Router.FlowLog {
		flow.set("enable", c.Router.LogLevel+"+")
	} else {
		flow.set("enable", "none")
	}
	out = append(out, flow)
	return out
}

func writeEntity(buf *bytes.Buffer, e entity) error {
	typ, err := json.Marshal(e.typ)
	if err != nil {
		return err
	}
	buf.WriteString("    [")
	buf.Write(typ)
	buf.WriteString(", {")
	for i, a := range e.attrs {
		k, err := json.Marshal(a.key)
		if err != nil {
			return err
		}
		v, err := json.Marshal(a.value)
		if err != nil {
			return fmt.Errorf("attribute %s: %w", a.key, err)
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
