package store

// Keyring backends for real: the file backend in a temp dir, the kernel
// keyring (keyctl), pass with a throw-away GnuPG home, and gnome-keyring as
// the Secret Service on a private D-Bus session bus. A backend is skipped
// only when its tool is missing here (and then SMTPCHECK_REQUIRE_REAL=1
// turns the skip into a failure). Debian packages: .ci/packages.d/secret.txt.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"golang.org/x/sys/unix"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
	"github.com/smtpcheck/smtpcheck/internal/secret/store/dbusguard"
)

func TestKeyringOptions(t *testing.T) {
	ctx := secrettest.Ctx(t)
	o := &secret.Options{Store: Read}
	_, err := o.Resolve(ctx, "keyring:smtpcheck/relay")
	secrettest.CheckErr(t, err, "keyring: smtpcheck/relay: --keyring-backend is required (file, keyctl, pass or secret-service)")

	o.KeyringBackend = "file"
	_, err = o.Resolve(ctx, "keyring:smtpcheck/relay")
	secrettest.CheckErr(t, err, "keyring: smtpcheck/relay (backend file): the file backend needs --keyring-dir")
	o.KeyringDir = t.TempDir()
	_, err = o.Resolve(ctx, "keyring:smtpcheck/relay")
	secrettest.CheckErr(t, err, "the file backend needs --keyring-passphrase-ref")

	o.KeyringBackend = "kwallet"
	_, err = o.Resolve(ctx, "keyring:smtpcheck/relay")
	secrettest.CheckErr(t, err, "unknown backend")

	if dbusguard.Active {
		o.KeyringBackend = "secret-service"
		_, err = o.Resolve(ctx, "keyring:smtpcheck/relay")
		secrettest.CheckErr(t, err, "keyring: smtpcheck/relay (backend secret-service): no D-Bus session bus: set DBUS_SESSION_BUS_ADDRESS")
	}
}

func TestKeyringFile(t *testing.T) {
	const pw, passphrase = "s3cr3t-filekr-value", "kr-passphrase-77"
	dir := filepath.Join(t.TempDir(), "keys")
	if err := StoreFileKeyring(dir, passphrase, "relay", pw); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("keyring dir: %v %v", st.Mode(), err)
	}
	// The format is the keyring library's own: it reads what we stored.
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          dir,
		FilePasswordFunc: keyring.FixedStringPrompt(passphrase),
	})
	if err != nil {
		t.Fatal(err)
	}
	if it, err := kr.Get("relay"); err != nil || string(it.Data) != pw {
		t.Fatalf("library Get: %v", err)
	}
	ctx := secrettest.Ctx(t)
	t.Setenv("SMTPCHECK_TEST_KR_PASS", passphrase)
	o := &secret.Options{Store: Read, KeyringBackend: "file", KeyringDir: dir, KeyringPassphrase: "env:SMTPCHECK_TEST_KR_PASS"}
	got, err := o.Resolve(ctx, "keyring:smtpcheck/relay")
	if err != nil || got != pw {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	// passphrase from a file
	o.KeyringPassphrase = "file:" + secrettest.WriteFile(t, "pass", passphrase+"\n", 0o400)
	if got, err := o.Resolve(ctx, "keyring:smtpcheck/relay"); err != nil || got != pw {
		t.Fatalf("Resolve with passphrase file = %q, %v", got, err)
	}
	secrets := []string{pw, passphrase, "wrong-pass-123"}

	_, err = o.Resolve(ctx, "keyring:smtpcheck/nokey")
	secrettest.CheckErr(t, err, "keyring: no key nokey in smtpcheck (backend file)", secrets...)
	if !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("missing key is not secret.ErrNotFound")
	}

	t.Setenv("SMTPCHECK_TEST_KR_PASS", "wrong-pass-123")
	o.KeyringPassphrase = "env:SMTPCHECK_TEST_KR_PASS"
	_, err = o.Resolve(ctx, "keyring:smtpcheck/relay")
	secrettest.CheckErr(t, err, "keyring: smtpcheck/relay (backend file): cannot decrypt: wrong passphrase?", secrets...)

	o.KeyringPassphrase = "file:" + secrettest.WriteFile(t, "pass", passphrase+"\n", 0o644)
	_, err = o.Resolve(ctx, "keyring:smtpcheck/relay")
	secrettest.CheckErr(t, err, "--keyring-passphrase-ref: file: ", secrets...)
	secrettest.CheckErr(t, err, "run: chmod 600", secrets...)

	// A check only reads: a missing directory is an error, not created.
	missing := filepath.Join(t.TempDir(), "nothere")
	o.KeyringDir = missing
	_, err = o.Resolve(ctx, "keyring:smtpcheck/relay")
	secrettest.CheckErr(t, err, "--keyring-dir "+missing+" is not a directory", secrets...)
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("Resolve created %s", missing)
	}
}

func TestKeyringKeyctl(t *testing.T) {
	const pw = "s3cr3t-keyctl-value"
	service := fmt.Sprintf("smtpcheck-test-%d", os.Getpid())
	// Probe the syscalls first: sandboxes (gVisor and some containers)
	// refuse them.
	if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, false); err != nil {
		secrettest.SkipUnlessReal(t, "kernel keyring syscalls unavailable here: "+err.Error())
	}
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends: []keyring.BackendType{keyring.KeyCtlBackend},
		ServiceName:     service,
		KeyCtlScope:     "user",
	})
	if err != nil {
		secrettest.SkipUnlessReal(t, "keyctl backend does not open here: "+err.Error())
	}
	t.Cleanup(func() {
		if id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", service, 0); err == nil {
			_, _ = unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
		}
	})
	if err := kr.Set(keyring.Item{Key: "relay", Data: []byte(pw)}); err != nil {
		t.Fatal(err)
	}
	ctx := secrettest.Ctx(t)
	o := &secret.Options{Store: Read, KeyringBackend: "keyctl", KeyctlScope: "user"}
	if got, err := o.Resolve(ctx, "keyring:"+service+"/relay"); err != nil || got != pw {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	_, err = o.Resolve(ctx, "keyring:"+service+"/nokey")
	secrettest.CheckErr(t, err, "keyring: no key nokey in "+service+" (backend keyctl)", pw)

	// Provisioned with keyutils' CLI, as the README tells admins to do.
	if _, err := exec.LookPath("keyctl"); err != nil {
		secrettest.SkipUnlessReal(t, "keyctl CLI (package keyutils) not installed")
	}
	service2 := service + "-cli"
	out, err := exec.Command("keyctl", "newring", service2, "@u").Output()
	if err != nil {
		t.Fatalf("keyctl newring: %v", err)
	}
	ringID := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("keyctl", "unlink", ringID, "@u").Run() })
	cmd := exec.Command("keyctl", "padd", "user", "relay", ringID)
	cmd.Stdin = strings.NewReader("s3cr3t-keyctl-cli")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("keyctl padd: %v %s", err, out)
	}
	if got, err := o.Resolve(ctx, "keyring:"+service2+"/relay"); err != nil || got != "s3cr3t-keyctl-cli" {
		t.Fatalf("Resolve CLI-provisioned = %q, %v", got, err)
	}
}

// gpgHome makes a throw-away GnuPG home with one key without passphrase.
func gpgHome(t *testing.T) (home, uid string) {
	t.Helper()
	home = filepath.Join(t.TempDir(), "gnupg")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GNUPGHOME", home)
	t.Cleanup(func() { _ = exec.Command("gpgconf", "--kill", "gpg-agent").Run() })
	uid = "smtpcheck test <test@smtpcheck.invalid>"
	out, err := exec.Command("gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "default", "default", "never").CombinedOutput()
	if err != nil {
		t.Fatalf("gpg --quick-gen-key: %v\n%s", err, out)
	}
	return home, uid
}

func TestKeyringPass(t *testing.T) {
	for _, tool := range []string{"pass", "gpg", "gpgconf"} {
		if _, err := exec.LookPath(tool); err != nil {
			secrettest.SkipUnlessReal(t, tool+" not installed (packages pass, gnupg)")
		}
	}
	gpgHome(t)
	store := filepath.Join(t.TempDir(), "store")
	t.Setenv("PASSWORD_STORE_DIR", store)
	if out, err := exec.Command("pass", "init", "test@smtpcheck.invalid").CombinedOutput(); err != nil {
		t.Fatalf("pass init: %v\n%s", err, out)
	}
	// A plain entry, as admins write them: the first line is the password.
	cmd := exec.Command("pass", "insert", "-m", "smtpcheck/relay")
	cmd.Stdin = strings.NewReader("s3cr3t-pass-plain\nuser: mon@example.org\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pass insert: %v\n%s", err, out)
	}
	// An entry in the keyring library's own (JSON) format.
	kr, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.PassBackend}, PassPrefix: "smtpcheck"})
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Set(keyring.Item{Key: "json-relay", Data: []byte("s3cr3t-pass-json")}); err != nil {
		t.Fatal(err)
	}
	ctx := secrettest.Ctx(t)
	o := &secret.Options{Store: Read, KeyringBackend: "pass"}
	for key, want := range map[string]string{"relay": "s3cr3t-pass-plain", "json-relay": "s3cr3t-pass-json"} {
		if got, err := o.Resolve(ctx, "keyring:smtpcheck/"+key); err != nil || got != want {
			t.Fatalf("Resolve %s = %q, %v", key, got, err)
		}
	}
	_, err = o.Resolve(ctx, "keyring:smtpcheck/nokey")
	secrettest.CheckErr(t, err, "keyring: no key nokey in smtpcheck (backend pass)", "s3cr3t-pass-plain", "s3cr3t-pass-json")
	_, err = o.Resolve(ctx, "keyring:other/relay")
	secrettest.CheckErr(t, err, "keyring: no key relay in other (backend pass)")
}

// TestKeyringDeadline: keyring's calls take no context; a backend that
// hangs (here a `pass` that never answers) must still end at the deadline.
func TestKeyringDeadline(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\nexec >/dev/null 2>&1\nsleep 3\n"
	if err := os.WriteFile(filepath.Join(bin, "pass"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	store := t.TempDir()
	t.Setenv("PASSWORD_STORE_DIR", store)
	if err := os.MkdirAll(filepath.Join(store, "smtpcheck"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "smtpcheck", "relay.gpg"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	const budget = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, err := (&secret.Options{Store: Read, KeyringBackend: "pass"}).Resolve(ctx, "keyring:smtpcheck/relay")
	elapsed := time.Since(start)
	secrettest.CheckErr(t, err, "keyring: smtpcheck/relay (backend pass): no answer within the plugin's timeout")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("does not wrap context.DeadlineExceeded")
	}
	if elapsed > budget+100*time.Millisecond {
		t.Errorf("returned after %v, deadline %v", elapsed, budget)
	}
}

// TestKeyringSecretService runs gnome-keyring on a private session bus and
// re-executes the test binary against it: keyring registers its
// secret-service backend only if the bus answers at package init.
func TestKeyringSecretService(t *testing.T) {
	for _, tool := range []string{"dbus-daemon", "gnome-keyring-daemon", "dbus-send"} {
		if _, err := exec.LookPath(tool); err != nil {
			secrettest.SkipUnlessReal(t, tool+" not installed (packages dbus, gnome-keyring)")
		}
	}
	dir := t.TempDir()
	// A bus without service directories: nothing gets auto-started on it.
	conf := filepath.Join(dir, "session.conf")
	sock := filepath.Join(dir, "bus")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+sock+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	bus := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	busOut, _ := bus.StdoutPipe()
	if err := bus.Start(); err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() { _ = bus.Process.Kill(); _ = bus.Wait() })
	line := make([]byte, 512)
	n, err := busOut.Read(line)
	if err != nil {
		t.Fatalf("dbus-daemon address: %v", err)
	}
	addr := strings.TrimSpace(string(line[:n]))

	env := append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr, "HOME="+dir, "XDG_RUNTIME_DIR="+dir,
		"XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	gk := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	gk.Env = env
	gk.Stdin = strings.NewReader("login-keyring-password")
	var gkErr bytes.Buffer
	gk.Stderr = &gkErr
	if err := gk.Start(); err != nil {
		t.Fatalf("gnome-keyring-daemon: %v", err)
	}
	t.Cleanup(func() { _ = gk.Process.Kill(); _ = gk.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		out, _ := exec.Command("dbus-send", "--bus="+addr, "--print-reply", "--dest=org.freedesktop.DBus",
			"/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets").Output()
		if strings.Contains(string(out), "boolean true") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gnome-keyring-daemon did not take org.freedesktop.secrets: %s", gkErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// An item stored by secret-tool (plain value, not keyring's JSON).
	plain := false
	if _, err := exec.LookPath("secret-tool"); err == nil {
		st := exec.Command("secret-tool", "store", "--label=smtpcheck plain", "profile", "plain-relay")
		st.Env = env
		st.Stdin = strings.NewReader("s3cr3t-ss-plain\n")
		if out, err := st.CombinedOutput(); err != nil {
			t.Fatalf("secret-tool store: %v %s", err, out)
		}
		plain = true
	}

	child := exec.Command(os.Args[0], "-test.run=^TestSecretServiceChild$", "-test.v", "-test.count=1")
	child.Env = append(env, "SMTPCHECK_SS_CHILD=1", fmt.Sprintf("SMTPCHECK_SS_PLAIN=%v", plain))
	out, err := child.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSecretServiceChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func TestSecretServiceChild(t *testing.T) {
	if os.Getenv("SMTPCHECK_SS_CHILD") != "1" {
		t.Skip("runs only as TestKeyringSecretService's child")
	}
	if dbusguard.Active {
		t.Fatal("the guard disabled the bus although DBUS_SESSION_BUS_ADDRESS was set")
	}
	const pw = "s3cr3t-ss-value"
	// gnome-keyring cannot create a new collection without an interactive
	// prompt, so the test uses the "login" collection that --unlock made.
	kr, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.SecretServiceBackend}, ServiceName: "login"})
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Set(keyring.Item{Key: "relay", Label: "smtpcheck relay", Data: []byte(pw)}); err != nil {
		t.Fatal(err)
	}
	ctx := secrettest.Ctx(t)
	o := &secret.Options{Store: Read, KeyringBackend: "secret-service"}
	got, err := o.Resolve(ctx, "keyring:login/relay")
	if err != nil || got != pw {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	t.Logf("keyring:login/relay read back through Resolve")
	if os.Getenv("SMTPCHECK_SS_PLAIN") == "true" {
		got, err := o.Resolve(ctx, "keyring:login/plain-relay")
		if err != nil || got != "s3cr3t-ss-plain" {
			t.Fatalf("Resolve secret-tool item = %q, %v", got, err)
		}
		t.Logf("keyring:login/plain-relay (stored by secret-tool) read back")
	}
	_, err = o.Resolve(ctx, "keyring:login/nokey")
	secrettest.CheckErr(t, err, "keyring: no key nokey in login (backend secret-service)", pw)
	_, err = o.Resolve(ctx, "keyring:nocollection/relay")
	secrettest.CheckErr(t, err, "keyring: no key relay in nocollection (backend secret-service)", pw)
}
