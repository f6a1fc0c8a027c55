package secret

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// skipUnlessReal skips a test whose real backend is missing here, and
// fails it in CI (SMTPCHECK_REQUIRE_REAL=1), where the backend must run.
func skipUnlessReal(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SMTPCHECK_REQUIRE_REAL") == "1" {
		t.Fatalf("SMTPCHECK_REQUIRE_REAL=1 but: %s", why)
	}
	t.Skip(why)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkErr asserts the shape every error of the package has.
func checkErr(t *testing.T, err error, want string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !errors.Is(err, ErrSecret) {
		t.Errorf("error does not wrap ErrSecret: %v", err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
	assertNoLeak(t, msg, secrets...)
}

func assertNoLeak(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(msg, form) {
				t.Errorf("error leaks a secret (%q) in %q", form, msg)
			}
		}
	}
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnv(t *testing.T) {
	o := &Options{}
	ctx := testCtx(t)
	t.Setenv("SMTPCHECK_TEST_PW", "s3cr3t-env")
	got, err := o.Resolve(ctx, "env:SMTPCHECK_TEST_PW")
	if err != nil || got != "s3cr3t-env" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	_, err = o.Resolve(ctx, "env:SMTPCHECK_TEST_UNSET_XYZ")
	checkErr(t, err, "env: SMTPCHECK_TEST_UNSET_XYZ: variable not set")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unset variable is not ErrNotFound: %v", err)
	}
	t.Setenv("SMTPCHECK_TEST_EMPTY", "")
	_, err = o.Resolve(ctx, "env:SMTPCHECK_TEST_EMPTY")
	checkErr(t, err, "env: SMTPCHECK_TEST_EMPTY: variable is empty")
	user, pw, err := o.ResolveLogin(ctx, "env:SMTPCHECK_TEST_PW")
	if err != nil || user != "" || pw != "s3cr3t-env" {
		t.Fatalf("ResolveLogin = %q, %q, %v", user, pw, err)
	}
}

func TestFile(t *testing.T) {
	o := &Options{}
	ctx := testCtx(t)
	const pw = "s3cr3t-file"

	p := writeFile(t, "pw", pw+"\r\nsecond line\n", 0o600)
	if got, err := o.Resolve(ctx, "file:"+p); err != nil || got != pw {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	p = writeFile(t, "pw-nonl", pw, 0o400)
	if got, err := o.Resolve(ctx, "file:"+p); err != nil || got != pw {
		t.Fatalf("Resolve without newline = %q, %v", got, err)
	}

	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o602, 0o644} {
		p := writeFile(t, "pw", pw+"\n", mode)
		_, err := o.Resolve(ctx, "file:"+p)
		want := "file: " + p + ": mode " + octal(mode) + " lets group or others read or write it; run: chmod 600 " + p
		checkErr(t, err, want, pw)
		if err != nil && err.Error() != want {
			t.Errorf("mode %o: got %q\nwant %q", mode, err.Error(), want)
		}
	}

	p = writeFile(t, "empty", "", 0o600)
	_, err := o.Resolve(ctx, "file:"+p)
	checkErr(t, err, "file: "+p+": first line is empty")
	p = writeFile(t, "emptyline", "\nsecond\n", 0o600)
	_, err = o.Resolve(ctx, "file:"+p)
	checkErr(t, err, "first line is empty", "second")

	_, err = o.Resolve(ctx, "file:/nonexistent/smtpcheck/pw")
	checkErr(t, err, "file: /nonexistent/smtpcheck/pw: no such file")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing file is not ErrNotFound")
	}
	_, err = o.Resolve(ctx, "file:"+t.TempDir())
	checkErr(t, err, "not a regular file")
}

func octal(m os.FileMode) string {
	const digits = "01234567"
	p := uint32(m.Perm())
	return string([]byte{'0', digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}

func TestReferenceSyntax(t *testing.T) {
	o := &Options{}
	ctx := testCtx(t)
	cases := []struct{ ref, want string }{
		{"", "empty secret reference"},
		{"hunter2-literal", "secret reference without a scheme (a literal value is not accepted here): put it in the environment or a chmod 600 file and give env:NAME or file:PATH"},
		{"pa:ss-literal", "unknown secret reference scheme: want env:NAME, file:PATH, vault:MOUNT/PATH#FIELD or keyring:SERVICE/KEY"},
		{"ENV:X", "unknown secret reference scheme"},
		{"env:", "env: empty reference"},
		{"vault:secret", "vault: \"secret\": want vault:MOUNT/PATH#FIELD"},
		{"vault:secret/#password", "want vault:MOUNT/PATH#FIELD"},
		{"vault:secret/a#b#c", "want vault:MOUNT/PATH#FIELD"},
		{"keyring:svc", "keyring: \"svc\": want keyring:SERVICE/KEY"},
		{"keyring:svc/key", "keyring: svc/key: --keyring-backend is required"},
	}
	for _, c := range cases {
		_, err := o.Resolve(ctx, c.ref)
		checkErr(t, err, c.want, "hunter2-literal", "pa:ss-literal", "ss-literal")
	}
	// every scheme is listed when the scheme is unknown
	_, err := o.Resolve(ctx, "http://x")
	for _, s := range []string{"env:", "file:", "vault:", "keyring:"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("unknown-scheme error does not list %s: %v", s, err)
		}
	}
	if !IsReference("env:X") || IsReference("hunter2") || IsReference("pa:ss") {
		t.Errorf("IsReference wrong")
	}
}

func TestCancelledContext(t *testing.T) {
	o := &Options{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv("SMTPCHECK_TEST_PW", "x")
	_, err := o.Resolve(ctx, "env:SMTPCHECK_TEST_PW")
	checkErr(t, err, "env: SMTPCHECK_TEST_PW: cancelled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("does not wrap context.Canceled")
	}
}

func TestLocalOnlyRefs(t *testing.T) {
	for _, ref := range []string{"vault:secret/x#y", "keyring:a/b"} {
		_, err := resolveLocal("--vault-approle-role-id", ref)
		checkErr(t, err, "--vault-approle-role-id: want env:NAME or file:PATH")
	}
	_, err := resolveLocal("--keyring-passphrase-ref", "env:SMTPCHECK_TEST_UNSET_XYZ")
	checkErr(t, err, "--keyring-passphrase-ref: env: SMTPCHECK_TEST_UNSET_XYZ: variable not set")
}
