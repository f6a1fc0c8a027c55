package secret_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

func TestEnv(t *testing.T) {
	o := &secret.Options{}
	ctx := secrettest.Ctx(t)
	t.Setenv("SMTPCHECK_TEST_PW", "s3cr3t-env")
	got, err := o.Resolve(ctx, "env:SMTPCHECK_TEST_PW")
	if err != nil || got != "s3cr3t-env" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	_, err = o.Resolve(ctx, "env:SMTPCHECK_TEST_UNSET_XYZ")
	secrettest.CheckErr(t, err, "env: SMTPCHECK_TEST_UNSET_XYZ: variable not set")
	if !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("unset variable is not ErrNotFound: %v", err)
	}
	t.Setenv("SMTPCHECK_TEST_EMPTY", "")
	_, err = o.Resolve(ctx, "env:SMTPCHECK_TEST_EMPTY")
	secrettest.CheckErr(t, err, "env: SMTPCHECK_TEST_EMPTY: variable is empty")
	user, pw, err := o.ResolveLogin(ctx, "env:SMTPCHECK_TEST_PW")
	if err != nil || user != "" || pw != "s3cr3t-env" {
		t.Fatalf("ResolveLogin = %q, %q, %v", user, pw, err)
	}
}

func TestFile(t *testing.T) {
	o := &secret.Options{}
	ctx := secrettest.Ctx(t)
	const pw = "s3cr3t-file"

	p := secrettest.WriteFile(t, "pw", pw+"\r\nsecond line\n", 0o600)
	if got, err := o.Resolve(ctx, "file:"+p); err != nil || got != pw {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	p = secrettest.WriteFile(t, "pw-nonl", pw, 0o400)
	if got, err := o.Resolve(ctx, "file:"+p); err != nil || got != pw {
		t.Fatalf("Resolve without newline = %q, %v", got, err)
	}

	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o602, 0o644} {
		p := secrettest.WriteFile(t, "pw", pw+"\n", mode)
		_, err := o.Resolve(ctx, "file:"+p)
		want := "file: " + p + ": mode " + octal(mode) + " lets group or others read or write it; run: chmod 600 " + p
		secrettest.CheckErr(t, err, want, pw)
		if err != nil && err.Error() != want {
			t.Errorf("mode %o: got %q\nwant %q", mode, err.Error(), want)
		}
	}

	p = secrettest.WriteFile(t, "empty", "", 0o600)
	_, err := o.Resolve(ctx, "file:"+p)
	secrettest.CheckErr(t, err, "file: "+p+": first line is empty")
	p = secrettest.WriteFile(t, "emptyline", "\nsecond\n", 0o600)
	_, err = o.Resolve(ctx, "file:"+p)
	secrettest.CheckErr(t, err, "first line is empty", "second")

	_, err = o.Resolve(ctx, "file:/nonexistent/smtpcheck/pw")
	secrettest.CheckErr(t, err, "file: /nonexistent/smtpcheck/pw: no such file")
	if !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("missing file is not ErrNotFound")
	}
	_, err = o.Resolve(ctx, "file:"+t.TempDir())
	secrettest.CheckErr(t, err, "not a regular file")
}

func octal(m os.FileMode) string {
	const digits = "01234567"
	p := uint32(m.Perm())
	return string([]byte{'0', digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}

func TestReferenceSyntax(t *testing.T) {
	o := &secret.Options{}
	ctx := secrettest.Ctx(t)
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
		secrettest.CheckErr(t, err, c.want, "hunter2-literal", "pa:ss-literal", "ss-literal")
	}
	// every scheme is listed when the scheme is unknown
	_, err := o.Resolve(ctx, "http://x")
	for _, s := range []string{"env:", "file:", "vault:", "keyring:"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("unknown-scheme error does not list %s: %v", s, err)
		}
	}
	if !secret.IsReference("env:X") || secret.IsReference("hunter2") || secret.IsReference("pa:ss") {
		t.Errorf("IsReference wrong")
	}
}

func TestCancelledContext(t *testing.T) {
	o := &secret.Options{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv("SMTPCHECK_TEST_PW", "x")
	_, err := o.Resolve(ctx, "env:SMTPCHECK_TEST_PW")
	secrettest.CheckErr(t, err, "env: SMTPCHECK_TEST_PW: cancelled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("does not wrap context.Canceled")
	}
}

func TestLocalOnlyRefs(t *testing.T) {
	for _, ref := range []string{"vault:secret/x#y", "keyring:a/b"} {
		_, err := secret.ResolveLocal("--vault-approle-role-id", ref)
		secrettest.CheckErr(t, err, "--vault-approle-role-id: want env:NAME or file:PATH")
	}
	_, err := secret.ResolveLocal("--keyring-passphrase-ref", "env:SMTPCHECK_TEST_UNSET_XYZ")
	secrettest.CheckErr(t, err, "--keyring-passphrase-ref: env: SMTPCHECK_TEST_UNSET_XYZ: variable not set")
}
