package routerconf

import (
	"reflect"
	"testing"
)

func TestParseListenerSpec(t *testing.T) {
	tests := []struct {
		spec string
		want []ListenerSpecEntry // Err compared by message
		errs []string
	}{
		{"8080=my-service:8080", []ListenerSpecEntry{
			{Spec: "8080=my-service:8080", Listener: Listener{Host: "0.0.0.0", Port: 8080, Address: "my-service:8080"}},
		}, []string{""}},
		{" 127.0.0.1:80 = web , [::1]:81=web ,, ", []ListenerSpecEntry{
			{Spec: "127.0.0.1:80 = web", Listener: Listener{Host: "127.0.0.1", Port: 80, Address: "web"}},
			{Spec: "[::1]:81=web", Listener: Listener{Host: "::1", Port: 81, Address: "web"}},
		}, []string{"", ""}},
		{"8080,x=svc,a:b:c=d,8081=", []ListenerSpecEntry{
			{Spec: "8080", Listener: Listener{Host: "0.0.0.0"}},
			{Spec: "x=svc", Listener: Listener{Host: "0.0.0.0", Address: "svc"}},
			{Spec: "a:b:c=d", Listener: Listener{Host: "0.0.0.0", Address: "d"}},
			{Spec: "8081=", Listener: Listener{Host: "0.0.0.0", Port: 8081}},
		}, []string{"no '=' between port and address", `port "x" is not a number`, `"a:b:c" is not HOST:PORT`, ""}},
		{"", nil, nil},
	}
	for _, tc := range tests {
		got := ParseListenerSpec(tc.spec)
		var errs []string
		for i := range got {
			msg := ""
			if got[i].Err != nil {
				msg = got[i].Err.Error()
			}
			errs = append(errs, msg)
			got[i].Err = nil
		}
		if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(errs, tc.errs) {
			t.Errorf("%q:\n got %+v %q\nwant %+v %q", tc.spec, got, errs, tc.want, tc.errs)
		}
	}
}

func TestNameListeners(t *testing.T) {
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
	NameListeners(ls)
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
