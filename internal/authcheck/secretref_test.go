package authcheck

import (
	"strings"
	"testing"
)

// TestMistypedReference: a password typed where its reference belongs
// (--password-ref env:PASSWORD and the like) is refused as UNKNOWN, with a
// message that says what a reference looks like, and the password appears
// nowhere in the output, at any -v level or as JSON.
func TestMistypedReference(t *testing.T) {
	const pw = "Tr0ub4dor&3 horse"
	const not = "malformed reference, not shown (it may be a password typed in its place): want "
	shape := map[string]string{
		"env":     "env: " + not + "env:NAME, NAME an environment variable (letters, digits and _, at most 64), e.g. env:SMTPCHECK_PASSWORD",
		"file":    "file: " + not + "file:PATH with an absolute PATH, e.g. file:/etc/smtpcheck/smtp.pass",
		"vault":   "vault: " + not + "vault:MOUNT/PATH#FIELD, e.g. vault:secret/monitoring/smtp#password",
		"keyring": "keyring: " + not + "keyring:SERVICE/KEY, e.g. keyring:smtpcheck/relay",
	}
	t.Setenv("SMTPCHECK_TEST_CLIENT_ID", testClientID)
	type run struct {
		args []string
		want string
	}
	var runs []run
	// A relative path says so, still without showing it.
	shape["file"] = "file: the path must be absolute: the engine's working directory is not yours to rely on"
	for _, scheme := range []string{"env", "file", "vault", "keyring"} {
		runs = append(runs,
			run{[]string{"--user", testUser, "--password-ref", scheme + ":" + pw, "--keyring-backend", "file"},
				"SMTP AUTH UNKNOWN - secret: --password-ref: " + shape[scheme]},
			run{[]string{"--user", testUser, "--token-ref", scheme + ":" + pw, "--keyring-backend", "file"},
				"SMTP AUTH UNKNOWN - secret: --token-ref: " + shape[scheme]})
	}
	runs = append(runs, run{[]string{"--user", testUser, "--oauth-token-url", "http://127.0.0.1:1/token",
		"--oauth-client-id-ref", "env:SMTPCHECK_TEST_CLIENT_ID", "--oauth-client-secret-ref", "env:" + pw},
		"SMTP AUTH UNKNOWN - secret: --oauth-client-secret-ref: " + shape["env"]})
	levels := [][]string{nil, {"-vvv"}, {"--output", "json"}}
	for _, r := range runs {
		for _, lv := range levels {
			o := check(t, append(append([]string{"-H", "127.0.0.1", "-p", "1", "-t", "5"}, r.args...), lv...)...)
			if lv == nil {
				o.Expect(t, 3, r.want)
			} else if o.Code != 3 {
				t.Errorf("%v %v: exit %d, want 3", r.args, lv, o.Code)
			}
			for _, s := range append(forms(pw), "Tr0ub4dor") {
				if strings.Contains(o.Out, s) {
					t.Errorf("%v %v: the password (%q) is in the output:\n%s", r.args, lv, s, o.Out)
				}
			}
		}
	}
}

// TestSecretRefusedBeforeDialling: a variable name that may be a password
// is not echoed; a secret with a control character (a file of NULs such as
// /proc/self/environ, -P with a CR) is refused before anything is dialled,
// naming the flag and never the value.
func TestSecretRefusedBeforeDialling(t *testing.T) {
	nul := secretFile(t, "pa\x00ss\x00word")
	const ctrl = "the value contains a control character (NUL, CR, LF, tab or the like), which no password or token holds: refused before anything is sent"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--password-ref", "env:Summer2024"},
			"SMTP AUTH UNKNOWN - secret: --password-ref: env: the variable it names is not set (name not shown: it may be a password)"},
		{[]string{"--password-ref", "file:" + nul}, "SMTP AUTH UNKNOWN - secret: --password-ref: file: " + nul + ": " + ctrl},
		{[]string{"-P", "pa\rss"}, "SMTP AUTH UNKNOWN - -P: " + ctrl + " (see check_smtp_auth --help)"},
	}
	for _, c := range cases {
		// Port 1: nothing listens, so a dial would say "connection refused".
		o := check(t, append([]string{"-H", "127.0.0.1", "-p", "1", "-t", "5", "--user", testUser}, c.args...)...)
		o.Expect(t, 3, c.want)
		for _, s := range []string{"Summer2024", "pa\x00ss", "pa\rss"} {
			if strings.Contains(o.Out, s) {
				t.Errorf("%v: output shows %q:\n%s", c.args, s, o.Out)
			}
		}
	}
}
