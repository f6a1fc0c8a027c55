package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// buildHelper builds the real smtpcheck-secret the way the Makefile does.
func buildHelper(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the helper program")
	}
	bin := filepath.Join(t.TempDir(), secret.HelperName)
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/smtpcheck/smtpcheck/plugins/smtpcheck-secret")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// Whatever the umask: a group-writable helper is refused.
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestHelper checks that a reference read through the helper program gives
// a plugin exactly what the in-process read gives: the values, the error
// text, and what errors.Is sees (not found, timeout).
func TestHelper(t *testing.T) {
	bin := buildHelper(t)
	f := newFakeVault()
	f.denied["secret/data/denied"] = true
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "hvs.roottoken-xyz")
	const krPW, krPass = "s3cr3t-helper-kr", "helper-kr-passphrase"
	dir := filepath.Join(t.TempDir(), "kr")
	if err := StoreFileKeyring(dir, krPass, "relay", krPW); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HELPER_KR_PASS", krPass)
	t.Setenv("HELPER_KR_WRONG", "not-"+krPass)
	kr := secret.Options{KeyringBackend: "file", KeyringDir: dir, KeyringPassphrase: "env:HELPER_KR_PASS"}
	wrongKR := kr
	wrongKR.KeyringPassphrase = "env:HELPER_KR_WRONG"
	cases := []struct {
		o          secret.Options
		ref        string
		login      bool   // ResolveLogin: user and password from one secret
		want       string // the value (user/password for login), or "" for an error
		errPrefix  string // the error's start, when an error is wanted
		wantNotSet bool   // errors.Is(err, secret.ErrNotFound)
	}{
		{o: secret.Options{VaultKV: "auto"}, ref: "vault:secret/monitoring/smtp#password", want: "s3cr3t-v2-value"},
		{o: secret.Options{VaultKV: "1"}, ref: "vault:kv1/monitoring/smtp#username", want: "mon1"},
		{o: secret.Options{VaultKV: "auto"}, ref: "vault:secret/monitoring/smtp", login: true, want: "mon@example.org/s3cr3t-v2-value"},
		{o: secret.Options{VaultKV: "2"}, ref: "vault:secret/denied#password", errPrefix: "vault: GET secret/data/denied: 403 permission denied (the token is valid"},
		{o: secret.Options{VaultKV: "2"}, ref: "vault:secret/missing#password", errPrefix: "vault: GET secret/data/missing: not found (KV v2)", wantNotSet: true},
		{o: secret.Options{VaultKV: "auto"}, ref: "vault:secret/monitoring/smtp#nofield", errPrefix: `vault: secret/monitoring/smtp: no field "nofield"`, wantNotSet: true},
		{o: kr, ref: "keyring:smtpcheck/relay", want: krPW},
		{o: kr, ref: "keyring:smtpcheck/nokey", errPrefix: "keyring: no key nokey in smtpcheck (backend file)", wantNotSet: true},
		{o: wrongKR, ref: "keyring:smtpcheck/relay", errPrefix: "keyring: smtpcheck/relay (backend file): cannot decrypt: wrong passphrase?"},
	}
	resolve := func(o secret.Options, s secret.Store, ref string, login bool) (string, error) {
		o.Store = s
		if login {
			u, p, err := o.ResolveLogin(secrettest.Ctx(t), ref)
			return u + "/" + p, err
		}
		return o.Resolve(secrettest.Ctx(t), ref)
	}
	for _, c := range cases {
		inVal, inErr := resolve(c.o, Read, c.ref, c.login)
		got, err := resolve(c.o, secret.Helper(bin), c.ref, c.login)
		switch {
		case c.errPrefix == "" && (err != nil || got != c.want || inVal != c.want || inErr != nil):
			t.Errorf("%s: helper %q, %v; in-process %q, %v; want %q", c.ref, got, err, inVal, inErr, c.want)
		case c.errPrefix != "":
			secrettest.CheckErr(t, err, c.errPrefix, krPW, krPass, "s3cr3t-v2-value", "hvs.roottoken-xyz")
			if err == nil || inErr == nil || err.Error() != inErr.Error() || !strings.HasPrefix(err.Error(), c.errPrefix) {
				t.Errorf("%s:\nhelper     %v\nin-process %v\nwant prefix %q", c.ref, err, inErr, c.errPrefix)
			}
			if errors.Is(err, secret.ErrNotFound) != c.wantNotSet || errors.Is(inErr, secret.ErrNotFound) != c.wantNotSet {
				t.Errorf("%s: errors.Is(ErrNotFound): helper %v, in-process %v, want %v", c.ref, errors.Is(err, secret.ErrNotFound), errors.Is(inErr, secret.ErrNotFound), c.wantNotSet)
			}
		}
	}
}

// TestHelperDeadline: a store that never answers ends the read at the
// plugin's deadline, with the helper's own message (which request stalled).
func TestHelperDeadline(t *testing.T) {
	bin := buildHelper(t)
	f := newFakeVault()
	f.stall = true
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "hvs.roottoken-xyz")
	const budget = 600 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, err := (&secret.Options{VaultKV: "2", Store: secret.Helper(bin)}).Resolve(ctx, "vault:secret/monitoring/smtp#password")
	elapsed := time.Since(start)
	secrettest.CheckErr(t, err, "vault: GET secret/data/monitoring/smtp at "+srv.URL+": no answer within the plugin's timeout (-t)", fakeVaultSecrets...)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("does not wrap context.DeadlineExceeded: %v", err)
	}
	if elapsed > budget+100*time.Millisecond {
		t.Errorf("returned after %v, deadline %v", elapsed, budget)
	}
}

// TestHelperBroken: a missing, crashing or hanging helper is a one-line
// error naming it, and a hung one is killed at the deadline.
func TestHelperBroken(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crash := script("crash", "echo 'panic: runtime error: index out of range' >&2; exit 2")
	garbage := script("garbage", "echo '{\"values\":[\"a\",\"b\"]}'")
	hang := script("hang", "exec sleep 30")
	noexec := script("noexec", "exit 0")
	orphan := script("orphan", "sleep 30 &")
	chatty := script("chatty", `printf '{"error":{"scheme":"keyring","msg":"'; head -c 900000 /dev/zero | tr '\0' x; printf '\\nsecond line"}}'`)
	control := script("control", `echo '{"values":["pa\\u0000ss"]}'`)
	session := script("session", `if [ "$(cut -d' ' -f6 /proc/$$/stat)" = $$ ]; then v=leader; else v=member; fi; echo '{"values":["'$v'"]}'`)
	if err := os.Chmod(noexec, 0o644); err != nil {
		t.Fatal(err)
	}
	o := &secret.Options{KeyringBackend: "file"}
	cases := []struct {
		helper, want string
		timeout      bool
	}{
		{helper: filepath.Join(dir, "absent"), want: "keyring: svc/key: smtpcheck-secret, which reads vault: and keyring: references and OAuth tokens, is not installed as " + filepath.Join(dir, "absent") + " (it belongs beside the plugins; reinstall smtpcheck, or use env: or file:)"},
		{helper: noexec, want: "keyring: svc/key: " + noexec + " is not executable (mode 0644): run chmod 755 " + noexec},
		{helper: crash, want: "keyring: svc/key: " + crash + ` failed: exit status 2: "panic: runtime error: index out of range"`},
		{helper: garbage, want: "keyring: svc/key: the store returned 2 values, want 1"},
		{helper: hang, want: "keyring: svc/key: no answer within the plugin's timeout (-t)", timeout: true},
		{helper: orphan, want: "keyring: svc/key: " + orphan + " failed: it exited without an answer, and a process it started kept its output open (now killed)"},
		{helper: chatty, want: strings.Repeat("x", 300) + "..."},
		{helper: control, want: "keyring: svc/key: the value contains a control character (NUL, CR, LF, tab or the like), which no password or token holds: refused before anything is sent"},
		// Its own session: a helper touching the terminal (gpg's pinentry) fails at once instead of being stopped.
		{helper: session, want: "leader"},
	}
	for _, c := range cases {
		o.Store = secret.Helper(c.helper)
		const budget = 300 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		start := time.Now()
		v, err := o.Resolve(ctx, "keyring:svc/key")
		elapsed := time.Since(start)
		cancel()
		got := v
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", filepath.Base(c.helper), got, c.want)
		}
		if errors.Is(err, context.DeadlineExceeded) != c.timeout {
			t.Errorf("%s: errors.Is(DeadlineExceeded) = %v", filepath.Base(c.helper), !c.timeout)
		}
		if elapsed > budget+200*time.Millisecond {
			t.Errorf("%s: returned after %v, deadline %v", filepath.Base(c.helper), elapsed, budget)
		}
	}
}

// TestHelperByHand: run without a plugin's request, the helper says what
// it is for and exits 3 (UNKNOWN, should an engine ever run it).
func TestHelperByHand(t *testing.T) {
	bin := buildHelper(t)
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader("--help\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || len(out) != 0 {
		t.Errorf("exit %v, stdout %q", err, out)
	}
	const want = "smtpcheck-secret: want a request from a plugin on stdin (JSON): invalid character '-' in numeric literal\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// TestHelperOAuth: the client-credentials grant through the helper gives
// the token and the same errors as in-process, the client secret scrubbed
// even where the endpoint echoes it.
func TestHelperOAuth(t *testing.T) {
	bin := buildHelper(t)
	const id, sec, tok = "client-0a1b", "cl13nt-S3cret-helper", "eyJ0eXAi.helper-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.ParseForm() != nil || r.PostForm.Get("client_id") != id || r.PostForm.Get("client_secret") != sec {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"bad secret ` + r.PostForm.Get("client_secret") + `"}`))
			return
		}
		_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"` + tok + `"}`))
	}))
	t.Cleanup(srv.Close)
	t.Setenv("HELPER_OAUTH_ID", id)
	t.Setenv("HELPER_OAUTH_SECRET", sec)
	t.Setenv("HELPER_OAUTH_WRONG", sec+"-wrong")
	grant := func(secretRef string) secret.OAuth {
		return secret.OAuth{TokenURL: srv.URL + "/token", ClientIDRef: "env:HELPER_OAUTH_ID", ClientSecretRef: secretRef}
	}
	cases := []struct {
		g    secret.OAuth
		want string // the token, or the error
	}{
		{grant("env:HELPER_OAUTH_SECRET"), tok},
		{grant("env:HELPER_OAUTH_WRONG"), "oauth: token endpoint " + srv.URL + "/token refused (HTTP 401): invalid_client: bad secret <redacted>"},
		{grant("env:HELPER_OAUTH_UNSET"), "--oauth-client-secret-ref: env: HELPER_OAUTH_UNSET: variable not set"},
	}
	for _, c := range cases {
		for _, s := range []secret.Store{Read, secret.Helper(bin)} {
			got, note, err := (&secret.Options{Store: s}).FetchToken(secrettest.Ctx(t), c.g)
			if err != nil {
				got = err.Error()
				secrettest.AssertNoLeak(t, got, sec)
			} else if !strings.HasPrefix(note, "OAuth token endpoint "+srv.URL+"/token answered HTTP 200 in ") {
				t.Errorf("note %q", note)
			}
			if got != c.want {
				t.Errorf("%s:\ngot  %s\nwant %s", c.g.ClientSecretRef, got, c.want)
			}
		}
	}
}

// scriptDir is a directory for fake helpers that passes the helper's
// owner and mode check whatever the umask.
func scriptDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeScript writes a shell script helper into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHelperHostile: a helper that floods its output is cut off at the cap
// and reported as faulty, with memory bounded and within the deadline; one
// whose grandchild holds the pipe is ended at the deadline, or read once
// it answered, and the grandchild killed; a flood of diagnostics on
// stderr costs nothing.
func TestHelperHostile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("checks processes in /proc")
	}
	dir := scriptDir(t)
	pidFile := func(name string) string { return filepath.Join(dir, name+".pid") }
	flood := writeScript(t, dir, "flood", "exec head -c 300000000 /dev/zero")
	floodGrandchild := writeScript(t, dir, "flood-grandchild", "yes & wait")
	holdHang := writeScript(t, dir, "hold-hang", "sleep 30 &\necho $! >"+pidFile("hold-hang")+"\nexec sleep 30")
	holdAnswer := writeScript(t, dir, "hold-answer", "sleep 30 &\necho $! >"+pidFile("hold-answer")+"\n"+`echo '{"values":["v"]}'`)
	noisy := writeScript(t, dir, "noisy", `head -c 2000000 /dev/zero >&2; echo '{"values":["v"]}'`)
	o := &secret.Options{KeyringBackend: "file"}
	tooMuch := func(bin string) string {
		return "keyring: svc/key: " + bin + " answered with more than 1 MiB (an answer is a few secrets): it is faulty or not smtpcheck's; reinstall smtpcheck"
	}
	cases := []struct {
		helper, want   string // want: the value or the error
		budget, within time.Duration
	}{
		{helper: flood, want: tooMuch(flood), budget: 3 * time.Second, within: time.Second},
		{helper: floodGrandchild, want: tooMuch(floodGrandchild), budget: 3 * time.Second, within: time.Second},
		{helper: holdHang, want: "keyring: svc/key: no answer within the plugin's timeout (-t)", budget: 400 * time.Millisecond, within: 900 * time.Millisecond}, // the budget + 0.5 s, as -t + 0.5 s
		{helper: holdAnswer, want: "v", budget: 3 * time.Second, within: time.Second},
		{helper: noisy, want: "v", budget: 3 * time.Second, within: time.Second},
	}
	for _, c := range cases {
		o.Store = secret.Helper(c.helper)
		ctx, cancel := context.WithTimeout(context.Background(), c.budget)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		got, err := o.Resolve(ctx, "keyring:svc/key")
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		cancel()
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", filepath.Base(c.helper), got, c.want)
		}
		if elapsed > c.within {
			t.Errorf("%s: returned after %v, want within %v", filepath.Base(c.helper), elapsed, c.within)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("%s: allocated %d MiB reading the helper", filepath.Base(c.helper), alloc>>20)
		}
	}
	// The grandchildren holding the pipes are gone: killed with the
	// helper at the deadline, or after it answered.
	for _, name := range []string{"hold-hang", "hold-answer"} {
		b, err := os.ReadFile(pidFile(name))
		if err != nil {
			t.Fatal(err)
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
		for deadline := time.Now().Add(time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("%s: the helper's grandchild (pid %d) is still running", name, pid)
				break
			}
		}
	}
}

// alive reports whether pid runs (a zombie, killed but not yet reaped by
// its new parent, does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := bytes.LastIndexByte(b, ')')
	return err == nil && i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// TestHelperTrust: the helper runs only when nobody but root or the
// plugin's user can replace it (it gets the plugin's environment, the
// Vault token among it): owner and mode of the helper and of every
// directory above it, a sticky one like /tmp excepted.
func TestHelperTrust(t *testing.T) {
	answer := `echo '{"values":["v"]}'`
	o := &secret.Options{KeyringBackend: "file"}
	resolve := func(helper string) string {
		o.Store = secret.Helper(helper)
		v, err := o.Resolve(secrettest.Ctx(t), "keyring:svc/key")
		if err != nil {
			return err.Error()
		}
		return v
	}
	uid := os.Geteuid()

	dir := scriptDir(t)
	gw := writeScript(t, dir, "group-writable", answer)
	ww := writeScript(t, dir, "world-writable", answer)
	for p, mode := range map[string]os.FileMode{gw: 0o775, ww: 0o757} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	openDir := scriptDir(t)
	inOpen := writeScript(t, openDir, "helper", answer)
	stickyDir := scriptDir(t)
	inSticky := writeScript(t, stickyDir, "helper", answer)
	if err := os.Chmod(openDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stickyDir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	type trustCase struct{ helper, want string }
	cases := []trustCase{
		{gw, fmt.Sprintf("keyring: svc/key: helper %s is writable by group or others (owner uid %d, mode 0775), so the helper is not run: run chmod go-w %[1]s", gw, uid)},
		{ww, fmt.Sprintf("keyring: svc/key: helper %s is writable by group or others (owner uid %d, mode 0757), so the helper is not run: run chmod go-w %[1]s", ww, uid)},
		{inOpen, fmt.Sprintf("keyring: svc/key: directory %s is writable by group or others (owner uid %d, mode 0777), so the helper is not run: run chmod go-w %[1]s", openDir, uid)},
		{inSticky, "v"},
	}
	if uid == 0 {
		// As root: files of another user, the helper or its directory.
		const nobody = 65534
		theirs := writeScript(t, scriptDir(t), "theirs", answer)
		theirDir := scriptDir(t)
		inTheirs := writeScript(t, theirDir, "helper", answer)
		for _, p := range []string{theirs, theirDir} {
			if err := os.Chown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		cases = append(cases,
			trustCase{theirs, fmt.Sprintf("keyring: svc/key: helper %s is owned by uid 65534 (mode 0755), not by root or by uid 0, the plugin's user, so the helper is not run: run chown root %[1]s", theirs)},
			trustCase{inTheirs, fmt.Sprintf("keyring: svc/key: directory %s is owned by uid 65534 (mode 0755), not by root or by uid 0, the plugin's user, so the helper is not run: run chown root %[1]s", theirDir)})
	} else {
		t.Log("not root: the cases of a helper owned by another user are skipped")
	}
	// A symbolic link is followed: the program that runs is what is checked.
	link := filepath.Join(scriptDir(t), secret.HelperName)
	if err := os.Symlink(gw, link); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, trustCase{link, cases[0].want})
	for _, c := range cases {
		if got := resolve(c.helper); got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.helper, got, c.want)
		}
	}
}
