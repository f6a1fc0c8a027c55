package store

// The D-Bus guard, end to end: this test binary links keyring (through this
// package), so its own start-up runs keyring's init. It re-executes itself
// with a fake `dbus-launch` first on PATH that logs every call.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/keyring"
)

func TestGuardChild(t *testing.T) {
	if os.Getenv("SMTPCHECK_GUARD_CHILD") != "1" {
		t.Skip("runs only as TestDBusGuard's child")
	}
	t.Logf("backends: %v", keyring.AvailableBackends())
}

// runGuardChild starts the test binary with a clean D-Bus environment and
// returns the fake dbus-launch's log and the child's stderr.
func runGuardChild(t *testing.T, extraEnv ...string) (calls []string, stderr string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	runtime := filepath.Join(dir, "runtime") // empty XDG_RUNTIME_DIR
	for _, d := range []string{bin, runtime} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "dbus-launch.log")
	fake := "#!/bin/sh\necho \"called $*\" >> " + log + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		switch k {
		case "DBUS_SESSION_BUS_ADDRESS", "PATH", "XDG_RUNTIME_DIR", "DISABLE_KWALLET", "GODEBUG":
			continue
		}
		env = append(env, e)
	}
	env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"XDG_RUNTIME_DIR="+runtime, "SMTPCHECK_GUARD_CHILD=1")
	env = append(env, extraEnv...)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGuardChild$", "-test.v", "-test.count=1")
	cmd.Env = env
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestGuardChild") {
		t.Fatalf("child: %v\n%s\n%s", err, out, errb.String())
	}
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		calls = strings.Split(s, "\n")
	}
	return calls, errb.String()
}

func TestDBusGuard(t *testing.T) {
	if _, err := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"); err == nil {
		t.Skip("this host has a session bus at /run/user/<uid>/bus: godbus uses it and never runs dbus-launch")
	}
	calls, _ := runGuardChild(t)
	if len(calls) != 0 {
		t.Errorf("dbus-launch was run %d times with the guard: %v", len(calls), calls)
	}
	// The same run with the variable explicitly "autolaunch:" (the guard
	// leaves explicit values alone) does reach dbus-launch: the fake and
	// the log work, so the assertion above can fail.
	calls, _ = runGuardChild(t, "DBUS_SESSION_BUS_ADDRESS=autolaunch:")
	if len(calls) == 0 {
		t.Errorf("control run: dbus-launch was not run with DBUS_SESSION_BUS_ADDRESS=autolaunch:")
	}
	t.Logf("control run: %d dbus-launch calls", len(calls))
}

// TestDBusGuardInitOrder checks with GODEBUG=inittrace=1 that dbusguard is
// initialised before godbus and keyring.
func TestDBusGuardInitOrder(t *testing.T) {
	_, stderr := runGuardChild(t, "GODEBUG=inittrace=1")
	pos := map[string]int{}
	i := 0
	for _, l := range strings.Split(stderr, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "init" {
			if _, ok := pos[f[1]]; !ok {
				pos[f[1]] = i
			}
			i++
		}
	}
	guard, ok := pos["github.com/smtpcheck/smtpcheck/internal/secret/store/dbusguard"]
	if !ok {
		t.Fatalf("no inittrace line for dbusguard:\n%s", stderr)
	}
	kr, ok := pos["github.com/99designs/keyring"]
	if !ok {
		t.Fatalf("no inittrace line for keyring")
	}
	if guard > kr {
		t.Errorf("dbusguard initialised at %d, after keyring at %d", guard, kr)
	}
	if db, ok := pos["github.com/godbus/dbus"]; ok && guard > db {
		t.Errorf("dbusguard initialised at %d, after godbus at %d", guard, db)
	}
	t.Logf("init order: dbusguard #%d, godbus #%d, keyring #%d of %d", guard, pos["github.com/godbus/dbus"], kr, i)
}
