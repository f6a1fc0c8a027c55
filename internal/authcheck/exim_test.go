package authcheck

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestExim logs in to the real Exim 4 of .ci/exim.sh (plaintext and
// cram_md5 authenticators, AUTH only inside TLS) on 587 and 465; its
// refusals carry no enhanced status codes.
func TestExim(t *testing.T) {
	ex := plugintest.Exim(t)
	host := plugintest.HostArgs
	user := ex["USER"]
	tlsArgs := []string{"--ca-file", ex["CA"], "--verify-name", ex["HOSTNAME"]}
	wrongFile := secretFile(t, "wrong-"+ex["PASSWORD"])
	login := func(mech string) []string {
		return append(append([]string{}, tlsArgs...), "--user", user, "--password-ref", "file:"+ex["PASSWORD_FILE"], "--mech", mech)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		status string
	}{
		{"587 PLAIN", append(host(ex["SUBMISSION"]), login("PLAIN")...), 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with PLAIN in T s (STARTTLS TLSv1.3)"},
		{"587 LOGIN", append(host(ex["SUBMISSION"]), login("LOGIN")...), 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with LOGIN in T s (STARTTLS TLSv1.3)"},
		{"587 auto is CRAM-MD5", append(host(ex["SUBMISSION"]), login("auto")...), 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with CRAM-MD5 in T s (STARTTLS TLSv1.3)"},
		{"465 PLAIN", append(host(ex["SUBMISSIONS"]), login("PLAIN")...), 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with PLAIN in T s (TLS TLSv1.3)"},
		{"587 wrong password, LOGIN", append(host(ex["SUBMISSION"]), append(tlsArgs, "--user", user, "--password-ref", "file:"+wrongFile, "--mech", "LOGIN")...), 2,
			`SMTP AUTH CRITICAL - auth: LOGIN as ` + user + ` refused: "535 Incorrect authentication data" ({addr}) - wrong user name or password`},
		{"465 wrong password, CRAM-MD5", append(host(ex["SUBMISSIONS"]), append(tlsArgs, "--user", user, "--password-ref", "file:"+wrongFile)...), 2,
			`SMTP AUTH CRITICAL - auth: CRAM-MD5 as ` + user + ` refused: "535 Incorrect authentication data" ({addr}) - wrong user name or password`},
		{"587 unknown user", append(host(ex["SUBMISSION"]), append(tlsArgs, "--user", "nobody@"+ex["DOMAIN"], "--password-ref", "file:"+ex["PASSWORD_FILE"], "--mech", "PLAIN")...), 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as nobody@` + ex["DOMAIN"] + ` refused: "535 Incorrect authentication data" ({addr}) - wrong user name or password`},
		{"587 wrong password --expect-fail", append(host(ex["SUBMISSION"]), append(tlsArgs, "--user", user, "--password-ref", "file:"+wrongFile, "--expect-fail")...), 0,
			`SMTP AUTH OK - auth: CRAM-MD5 as ` + user + ` refused as expected by {addr}: "535 Incorrect authentication data"`},
		{"587 SCRAM not offered", append(host(ex["SUBMISSION"]), login("SCRAM-SHA-256")...), 2,
			"SMTP AUTH CRITICAL - auth: {addr} does not offer SCRAM-SHA-256 (offers: PLAIN LOGIN CRAM-MD5)"},
		{"587 plaintext allowed: no AUTH before TLS", append(host(ex["SUBMISSION"]), "--no-tls", "--allow-plaintext", "--user", user, "--password-ref", "file:"+ex["PASSWORD_FILE"]), 2,
			"SMTP AUTH CRITICAL - auth: {addr} offers no mechanism usable with a password (offers: none; many servers offer AUTH only inside TLS)"},
		{"25 offers no AUTH", append(host(ex["SMTP"]), login("auto")...), 2,
			"SMTP AUTH CRITICAL - auth: {addr} offers no mechanism usable with a password (offers: none)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, append(tc.args, "-t", "10")...)
			o.Expect(t, tc.code, strings.ReplaceAll(tc.status, "{addr}", tc.args[1]+":"+tc.args[3]))
		})
	}
}
