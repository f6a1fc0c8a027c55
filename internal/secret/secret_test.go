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
		{"pa:ss-literal", "unknown secret reference scheme: want env:NAME, file:PATH, vault:MOUNT/PATH#FIELD, keyring:SERVICE/KEY, aws-sm:NAME[#FIELD], azure-kv:VAULT/NAME[/VERSION] or gpg:PATH"},
		{"ENV:X", "unknown secret reference scheme"},
		{"env:", "env: empty reference"},
		{"vault:secret", "vault: malformed reference, not shown (it may be a password typed in its place): want vault:MOUNT/PATH#FIELD"},
		{"vault:secret/#password", "want vault:MOUNT/PATH#FIELD"},
		{"vault:secret/a#b#c", "want vault:MOUNT/PATH#FIELD"},
		{"keyring:svc", "keyring: malformed reference, not shown (it may be a password typed in its place): want keyring:SERVICE/KEY"},
		{"keyring:svc/key", "keyring: svc/key: --keyring-backend is required"},
		{"aws-sm:pass word", "aws-sm: malformed reference, not shown (it may be a password typed in its place): want aws-sm:NAME or aws-sm:NAME#FIELD, NAME a secret's name or ARN, e.g. aws-sm:prod/smtp#password"},
		{"azure-kv:vault", "azure-kv: malformed reference, not shown (it may be a password typed in its place): want azure-kv:VAULT/NAME or azure-kv:VAULT/NAME/VERSION, e.g. azure-kv:contoso-mon/smtp-relay"},
		{"gpg:relay.asc", "gpg: the path must be absolute"},
		{"gpg:/etc/relay.asc\n", "gpg: malformed reference, not shown (it may be a password typed in its place): want gpg:PATH with an absolute PATH, e.g. gpg:/etc/smtpcheck/relay.asc"},
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

// TestMistypedSecret: a password typed where its reference belongs
// (env:<password>, file:<password>, ...) is refused without being shown,
// by every function that reads references; a well-formed reference is
// still named.
func TestMistypedSecret(t *testing.T) {
	const not = "malformed reference, not shown (it may be a password typed in its place): want "
	want := map[string]string{
		"env":     "env: " + not + "env:NAME, NAME an environment variable (letters, digits and _, at most 64), e.g. env:SMTPCHECK_PASSWORD",
		"file":    "file: " + not + "file:PATH with an absolute PATH, e.g. file:/etc/smtpcheck/smtp.pass",
		"vault":   "vault: " + not + "vault:MOUNT/PATH#FIELD, e.g. vault:secret/monitoring/smtp#password",
		"keyring": "keyring: " + not + "keyring:SERVICE/KEY, e.g. keyring:smtpcheck/relay",
	}
	pws := []string{"Tr0ub4dor&3", "correct horse battery", "p=ss", "9lives_Secret", "sec\x1bret", "pa\nss",
		"a" + strings.Repeat("B", 64), "tab\there", "ümlaut-Pässwort"}
	// A relative path says so, still without showing it.
	const relative = "file: the path must be absolute: the engine's working directory is not yours to rely on"
	o := &secret.Options{KeyringBackend: "file"}
	ctx := secrettest.Ctx(t)
	for _, pw := range pws {
		for _, scheme := range []string{"env", "file", "vault", "keyring"} {
			ref := scheme + ":" + pw
			want := want
			if scheme == "file" && !strings.ContainsAny(pw, "\x1b\n\t") {
				want = map[string]string{"file": relative}
			}
			_, err := o.Resolve(ctx, ref)
			_, _, lerr := o.ResolveLogin(ctx, ref)
			errs := []error{err, lerr}
			if scheme == "env" || scheme == "file" {
				_, ferr := secret.ResolveLocal("--keyring-passphrase-ref", ref)
				secrettest.CheckErr(t, ferr, "--keyring-passphrase-ref: "+want[scheme], pw)
			}
			for _, err := range errs {
				secrettest.CheckErr(t, err, want[scheme], pw)
				if err != nil && err.Error() != want[scheme] {
					t.Errorf("%q:\ngot  %s\nwant %s", ref, err, want[scheme])
				}
			}
		}
	}
	// A reference of the right shape is named, so that it can be fixed;
	// a variable's name only when it is a conventional one, upper case:
	// "Summer2024" has the shape of a name and may well be a password.
	for _, name := range []string{"smtp_Pass_2", "Summer2024", "hunter2", "_x"} {
		want := "env: the variable it names is not set (name not shown: it may be a password)"
		_, err := o.Resolve(ctx, "env:"+name)
		secrettest.CheckErr(t, err, want, name)
		if err != nil && err.Error() != want {
			t.Errorf("env:%s: %v\nwant %s", name, err, want)
		}
		_, err = secret.ResolveLocal("--keyring-passphrase-ref", "env:"+name)
		if err == nil || err.Error() != "--keyring-passphrase-ref: "+want {
			t.Errorf("ResolveLocal env:%s: %v", name, err)
		}
	}
	t.Setenv("Summer2024", "")
	_, err := o.Resolve(ctx, "env:Summer2024")
	if err == nil || err.Error() != "env: the variable it names is empty (name not shown: it may be a password)" {
		t.Errorf("empty env:Summer2024: %v", err)
	}
	_, err = o.Resolve(ctx, "env:SMTP_PASS_2")
	if err == nil || err.Error() != "env: SMTP_PASS_2: variable not set" {
		t.Errorf("well-formed env: %v", err)
	}
	_, err = o.Resolve(ctx, "env:"+strings.Repeat("A", 64))
	if err == nil || err.Error() != "env: "+strings.Repeat("A", 64)+": variable not set" {
		t.Errorf("64-character name: %v", err)
	}
	_, err = o.Resolve(ctx, "file:/nonexistent/smtpcheck.pass")
	if err == nil || err.Error() != "file: /nonexistent/smtpcheck.pass: no such file" {
		t.Errorf("well-formed file: %v", err)
	}
}

// TestControlCharacters: a secret holding a control character is refused,
// naming where it came from and never the value: /proc/self/environ read
// as file: is all NULs, and a CR or LF would break the line it is sent on.
func TestControlCharacters(t *testing.T) {
	o := &secret.Options{}
	ctx := secrettest.Ctx(t)
	const tail = ": the value contains a control character (NUL, CR, LF, tab or the like), which no password or token holds: refused before anything is sent"
	for _, v := range []string{"pa\x00ss", "pa\rss", "pass\x1b", "\x7fpass", "pa\tss", "pa\u0085ss"} {
		p := secrettest.WriteFile(t, "pw", v+"\n", 0o600)
		_, err := o.Resolve(ctx, "file:"+p)
		secrettest.CheckErr(t, err, "file: "+p+tail, v)
		if !strings.Contains(v, "\x00") { // the environment cannot hold a NUL
			t.Setenv("SMTPCHECK_TEST_CTRL", v)
			_, err = o.Resolve(ctx, "env:SMTPCHECK_TEST_CTRL")
			secrettest.CheckErr(t, err, "env: SMTPCHECK_TEST_CTRL"+tail, v)
		}
		_, err = secret.ResolveLocal("--vault-approle-secret-id", "file:"+p)
		secrettest.CheckErr(t, err, "--vault-approle-secret-id: file: "+p+tail, v)
	}
	if err := secret.CheckValue("-P", "pa\nss"); err == nil || err.Error() != "-P"+tail {
		t.Errorf("CheckValue = %v", err)
	}
	if err := secret.CheckValue("-P", "Pässwort mit Leerzeichen!"); err != nil {
		t.Errorf("CheckValue refused a printable password: %v", err)
	}
	if _, err := os.Stat("/proc/self/environ"); err == nil {
		_, err := o.Resolve(ctx, "file:/proc/self/environ")
		if err == nil || !strings.Contains(err.Error(), "control character") {
			t.Errorf("/proc/self/environ: %v", err)
		}
	}
}
