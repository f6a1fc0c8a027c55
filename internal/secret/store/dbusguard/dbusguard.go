// Package dbusguard stops github.com/99designs/keyring from spawning a D-Bus
// session daemon on headless hosts.
//
// keyring's package init (secretservice.go, kwallet.go) calls
// godbus' dbus.SessionBus(). godbus takes the address from
// DBUS_SESSION_BUS_ADDRESS, else /run/user/<uid>/bus or
// /run/user/<uid>/dbus-session, and otherwise execs `dbus-launch`, which on a
// host with dbus-x11 starts a dbus-daemon that outlives every plugin run.
//
// This package's init sets DBUS_SESSION_BUS_ADDRESS=disabled: when the
// variable is unset (or empty) and neither of those files exists. godbus then
// fails at once ("unsupported transport") and keyring simply does not
// register its secret-service and kwallet backends. An explicit value,
// including "autolaunch:", is left alone.
//
// Import it blank from every package that imports keyring. It is a package
// of its own, not an init in store, because a package's init runs only
// after those of everything it imports, keyring among them. It depends on
// package syscall only, so Go's initialisation order (dependencies first,
// then import-path order among the ready packages) runs it right after
// syscall, long before keyring, which needs os and much more. Keep it that
// way: do not add imports here. A test in internal/secret/store checks the
// order with GODEBUG=inittrace=1.
package dbusguard

import "syscall"

// Disabled is what the guard writes into DBUS_SESSION_BUS_ADDRESS.
const Disabled = "disabled:"

// Active reports whether this process's init disabled the session bus.
var Active bool

func init() {
	Active = guard(syscall.Getenv, syscall.Setenv, exists, syscall.Getuid())
}

// guard is init's logic with its effects passed in, for tests.
func guard(getenv func(string) (string, bool), setenv func(k, v string) error, exists func(string) bool, uid int) bool {
	if v, _ := getenv("DBUS_SESSION_BUS_ADDRESS"); v != "" {
		return false
	}
	dir := "/run/user/" + itoa(uid)
	if exists(dir+"/bus") || exists(dir+"/dbus-session") {
		return false
	}
	return setenv("DBUS_SESSION_BUS_ADDRESS", Disabled) == nil
}

func exists(path string) bool {
	var st syscall.Stat_t
	return syscall.Stat(path, &st) == nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
