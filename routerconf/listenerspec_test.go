package routerconf

import (
	"reflect"
	"testing"
)

// checkSpec compares parsed entries with want, and their errors by message.
func checkSpec[T any](t *testing.T, spec string, got, want []SpecEntry[T], wantErrs []string) {
	t.Helper()
	var errs []string
	for i := range got {
		msg := ""
		if got[i].Err != nil {
			msg = got[i].Err.Error()
		}
		errs = append(errs, msg)
		got[i].Err = nil
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("%q:\n got %+v %q\nwant %+v %q", spec, got, errs, want, wantErrs)
	}
}

func TestParseConnectorSpec(t *testing.T) {
	tests := []struct {
		spec string
		want []ConnectorSpecEntry // Err compared by message
		errs []string
	}{
		{"my-service:8080=nginx:8080", []ConnectorSpecEntry{
			{Spec: "my-service:8080=nginx:8080", Value: Connector{Address: "my-service:8080", Host: "nginx", Port: 8080}},
		}, []string{""}},
		{" web = 127.0.0.1:80 , web=[::1]:81 ,, ", []ConnectorSpecEntry{
			{Spec: "web = 127.0.0.1:80", Value: Connector{Address: "web", Host: "127.0.0.1", Port: 80}},
			{Spec: "web=[::1]:81", Value: Connector{Address: "web", Host: "::1", Port: 81}},
		}, []string{"", ""}},
		{"nginx:8080,svc=nginx,svc=nginx:http,svc=a:b:c,=nginx:1", []ConnectorSpecEntry{
			{Spec: "nginx:8080"},
			{Spec: "svc=nginx", Value: Connector{Address: "svc"}},
			{Spec: "svc=nginx:http", Value: Connector{Address: "svc", Host: "nginx"}},
			{Spec: "svc=a:b:c", Value: Connector{Address: "svc"}},
			{Spec: "=nginx:1", Value: Connector{Host: "nginx", Port: 1}}, // the empty address is validation's to report
		}, []string{"no '=' between address and target", `target "nginx" is not HOST:PORT`, `port "http" is not a number`, `target "a:b:c" is not HOST:PORT`, ""}},
		{"", nil, nil},
	}
	for _, tc := range tests {
		checkSpec(t, tc.spec, ParseConnectorSpec(tc.spec), tc.want, tc.errs)
	}
}

func TestNameEntitiesConnectors(t *testing.T) {
	ls := []Listener{{Host: "0.0.0.0", Port: 8080, Address: "my-service:8080"}, {Name: "db", Host: "0.0.0.0", Port: 5432, Address: "db"}}
	cs := []Connector{
		{Address: "my-service:8080", Host: "nginx", Port: 8080},  // a listener has the name: -connector
		{Address: "my-service:8080", Host: "nginx2", Port: 8080}, // a second target for one address
		{Address: "my-tcp-service:5201", Host: "iperf3", Port: 5201},
		{Address: "db", Host: "pg", Port: 5432},            // an explicit listener name is taken too
		{Name: "custom", Address: "x", Host: "h", Port: 1}, // kept
		{Address: "uplink", Host: "h", Port: 1},            // reserved names are avoided
		{Address: "::", Host: "h", Port: 1},                // nothing left of the address
	}
	NameEntities(ls, cs)
	var got []string
	for _, l := range ls {
		got = append(got, l.Name)
	}
	for _, c := range cs {
		got = append(got, c.Name)
	}
	want := []string{"my-service-8080", "db",
		"my-service-8080-connector", "my-service-8080-connector-2", "my-tcp-service-5201", "db-connector", "custom", "uplink-connector", "connector"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
	c := seed()
	c.Listeners, c.Connectors = ls, cs
	for i := range c.Connectors {
		c.Connectors[i].Address = "a"
	}
	if err := c.Validate(); err != nil {
		t.Errorf("derived names do not validate: %v", err)
	}
}

func TestParseListenerSpec(t *testing.T) {
	tests := []struct {
		spec string
		want []ListenerSpecEntry // Err compared by message
		errs []string
	}{
		{"8080=my-service:8080", []ListenerSpecEntry{
			{Spec: "8080=my-service:8080", Value: Listener{Host: "0.0.0.0", Port: 8080, Address: "my-service:8080"}},
		}, []string{""}},
		{" 127.0.0.1:80 = web , [::1]:81=web ,, ", []ListenerSpecEntry{
			{Spec: "127.0.0.1:80 = web", Value: Listener{Host: "127.0.0.1", Port: 80, Address: "web"}},
			{Spec: "[::1]:81=web", Value: Listener{Host: "::1", Port: 81, Address: "web"}},
		}, []string{"", ""}},
		{"8080,x=svc,a:b:c=d,8081=", []ListenerSpecEntry{
			{Spec: "8080", Value: Listener{Host: "0.0.0.0"}},
			{Spec: "x=svc", Value: Listener{Host: "0.0.0.0", Address: "svc"}},
			{Spec: "a:b:c=d", Value: Listener{Host: "0.0.0.0", Address: "d"}},
			{Spec: "8081=", Value: Listener{Host: "0.0.0.0", Port: 8081}},
		}, []string{"no '=' between port and address", `port "x" is not a number`, `"a:b:c" is not HOST:PORT`, ""}},
		{"", nil, nil},
	}
	for _, tc := range tests {
		checkSpec(t, tc.spec, ParseListenerSpec(tc.spec), tc.want, tc.errs)
	}
}

func TestNameEntitiesListeners(t *testing.T) {
	ls := []Listener{
		{Port: 80, Address: "web"},
		{Port: 81, Address: "web"},
		{Name: "web-82", Port: 9, Address: "other"}, // an explicit name is kept and taken
		{Port: 82, Address: "web"},
		{Port: 1, Address: "uplink"},     // reserved names are avoided
		{Port: 2, Address: "management"}, // ...each of them
		{Port: 3, Address: "a/b c"},
		{Port: 4, Address: "..."},
	}
	NameEntities(ls, nil)
	var got []string
	for _, l := range ls {
		got = append(got, l.Name)
	}
	want := []string{"web", "web-81", "web-82", "web-82-2", "uplink-1", "management-2", "a-b-c", "listener"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
	for _, l := range ls {
		if err := (Config{Router: seed().Router, Uplinks: seed().Uplinks, Listeners: []Listener{{Name: l.Name, Host: "0.0.0.0", Port: 1000, Address: "x"}}}).Validate(); err != nil {
			t.Errorf("derived name %q does not validate: %v", l.Name, err)
		}
	}
}
