package dbusguard

import (
	"strconv"
	"testing"
)

func TestGuard(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		files []string
		want  bool
	}{
		{name: "unset, no bus", want: true},
		{name: "empty, no bus", env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": ""}, want: true},
		{name: "set", env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}},
		{name: "autolaunch kept", env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"}},
		{name: "run user bus", files: []string{"/run/user/1000/bus"}},
		{name: "run user dbus-session", files: []string{"/run/user/1000/dbus-session"}},
		{name: "other uid's bus", files: []string{"/run/user/0/bus"}, want: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range c.env {
				env[k] = v
			}
			getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
			setenv := func(k, v string) error { env[k] = v; return nil }
			exists := func(p string) bool {
				for _, f := range c.files {
					if f == p {
						return true
					}
				}
				return false
			}
			got := guard(getenv, setenv, exists, 1000)
			if got != c.want {
				t.Fatalf("guard = %v, want %v", got, c.want)
			}
			if c.want && env["DBUS_SESSION_BUS_ADDRESS"] != Disabled {
				t.Fatalf("DBUS_SESSION_BUS_ADDRESS = %q", env["DBUS_SESSION_BUS_ADDRESS"])
			}
			if !c.want && env["DBUS_SESSION_BUS_ADDRESS"] != c.env["DBUS_SESSION_BUS_ADDRESS"] {
				t.Fatalf("changed DBUS_SESSION_BUS_ADDRESS to %q", env["DBUS_SESSION_BUS_ADDRESS"])
			}
		})
	}
}

func TestItoa(t *testing.T) {
	for _, n := range []int{0, 7, 10, 65534, 1 << 31, -3} {
		if got := itoa(n); got != strconv.Itoa(n) {
			t.Errorf("itoa(%d) = %q", n, got)
		}
	}
}
