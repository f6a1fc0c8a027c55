package authcheck

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestPostfix logs in to Postfix with Dovecot SASL on 587 (STARTTLS) and
// 465 (implicit TLS) with every mechanism Dovecot offers, and checks the
// refusals; where check_smtp can express the same check it runs too.
func TestPostfix(t *testing.T) {
	pf := plugintest.Postfix(t)
	host := func(addr string) []string {
		h, p, _ := strings.Cut(addr, ":")
		return []string{"-H", h, "-p", p}
	}
	tlsArgs := []string{"--ca-file", pf["CA"], "--verify-name", pf["HOSTNAME"]}
	wrongFile := secretFile(t, "wrong-"+pf["PASSWORD"])
	login := func(mech string) []string {
		return append(append([]string{}, tlsArgs...), "--user", pf["USER"], "--password-ref", "file:"+pf["PASSWORD_FILE"], "--mech", mech)
	}
	user := pf["USER"]
	cases := []struct {
		name   string
		args   []string
		ref    []string // check_smtp's command line for the same check
		code   int
		status string
	}{
		{"587 PLAIN", append(host(pf["SUBMISSION"]), login("PLAIN")...), nil, 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with PLAIN in T s (STARTTLS TLSv1.3)"},
		{"587 LOGIN", append(host(pf["SUBMISSION"]), login("LOGIN")...),
			append(host(pf["SUBMISSION"]), "-S", "-A", "LOGIN", "-U", user, "-P", pf["PASSWORD"]), 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with LOGIN in T s (STARTTLS TLSv1.3)"},
		{"465 PLAIN", append(host(pf["SUBMISSIONS"]), login("PLAIN")...), nil, 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with PLAIN in T s (TLS TLSv1.3)"},
		{"465 LOGIN", append(host(pf["SUBMISSIONS"]), login("LOGIN")...), nil, 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with LOGIN in T s (TLS TLSv1.3)"},
		{"587 auto is SCRAM-SHA-256", append(host(pf["SUBMISSION"]), login("auto")...), nil, 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with SCRAM-SHA-256 in T s (STARTTLS TLSv1.3, server signature verified)"},
		{"465 SCRAM-SHA-256", append(host(pf["SUBMISSIONS"]), login("SCRAM-SHA-256")...), nil, 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with SCRAM-SHA-256 in T s (TLS TLSv1.3, server signature verified)"},
		{"587 SCRAM-SHA-1", append(host(pf["SUBMISSION"]), login("SCRAM-SHA-1")...), nil, 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with SCRAM-SHA-1 in T s (STARTTLS TLSv1.3, server signature verified)"},
		{"587 CRAM-MD5", append(host(pf["SUBMISSION"]), login("CRAM-MD5")...), nil, 0,
			"SMTP AUTH OK - {addr} accepted " + user + " with CRAM-MD5 in T s (STARTTLS TLSv1.3)"},
		{"587 wrong password", append(host(pf["SUBMISSION"]), append(tlsArgs, "--user", user, "--password-ref", "file:"+wrongFile, "--mech", "LOGIN")...),
			append(host(pf["SUBMISSION"]), "-S", "-A", "LOGIN", "-U", user, "-P", "wrong-"+pf["PASSWORD"]), 2,
			`SMTP AUTH CRITICAL - auth: LOGIN as ` + user + ` refused: "535 5.7.8 Error: authentication failed: (reason unavailable)" ({addr}) - wrong user name or password`},
		{"465 wrong password, SCRAM-SHA-256", append(host(pf["SUBMISSIONS"]), append(tlsArgs, "--user", user, "--password-ref", "file:"+wrongFile)...), nil, 2,
			`SMTP AUTH CRITICAL - auth: SCRAM-SHA-256 as ` + user + ` refused: "535 5.7.8 Error: authentication failed: (reason unavailable)" ({addr}) - wrong user name or password`},
		{"587 wrong password --expect-fail", append(host(pf["SUBMISSION"]), append(tlsArgs, "--user", user, "--password-ref", "file:"+wrongFile, "--expect-fail")...), nil, 0,
			`SMTP AUTH OK - auth: SCRAM-SHA-256 as ` + user + ` refused as expected by {addr}: "535 5.7.8 Error: authentication failed: (reason unavailable)"`},
		{"587 plaintext refused", append(host(pf["SUBMISSION"]), "--no-tls", "--user", user, "--password-ref", "file:"+pf["PASSWORD_FILE"]), nil, 3,
			"SMTP AUTH UNKNOWN - credentials not sent: --no-tls leaves the connection unencrypted - add --allow-plaintext to send them anyway, or drop --no-tls"},
		{"587 plaintext allowed: no AUTH before TLS", append(host(pf["SUBMISSION"]), "--no-tls", "--allow-plaintext", "--user", user, "--password-ref", "file:"+pf["PASSWORD_FILE"]), nil, 2,
			"SMTP AUTH CRITICAL - auth: {addr} offers no mechanism usable with a password (offers: none; many servers offer AUTH only inside TLS)"},
		{"587 certificate not trusted", append(host(pf["SUBMISSION"]), "--user", user, "--password-ref", "file:"+pf["PASSWORD_FILE"]), nil, 2,
			"SMTP AUTH CRITICAL - credentials not sent: the certificate of {addr} does not verify (x509: certificate signed by unknown authority) - add --ca-file with the CA that signed it (\"smtpcheck test CA\"), or add --insecure to send them anyway"},
		{"587 by name, SNI and verification from -H", []string{"-H", pf["HOSTNAME"], "-p", "587", "--ca-file", pf["CA"], "-4", "--user", user, "--password-ref", "file:" + pf["PASSWORD_FILE"]}, nil, 0,
			"SMTP AUTH OK - " + pf["HOSTNAME"] + " (127.0.0.1:587) accepted " + user + " with SCRAM-SHA-256 in T s (STARTTLS TLSv1.3, server signature verified)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, append(tc.args, "-t", "10")...)
			want := strings.ReplaceAll(tc.status, "{addr}", tc.args[1]+":"+tc.args[3])
			o.Expect(t, tc.code, want)
			if tc.ref != nil {
				plugintest.AgreesWithCheckSMTP(t, tc.code, tc.ref...)
			}
		})
	}
}

// TestPostfixSecretsNeverShown: the leak test against the real server.
func TestPostfixSecretsNeverShown(t *testing.T) {
	pf := plugintest.Postfix(t)
	h, p, _ := strings.Cut(pf["SUBMISSION"], ":")
	wrong := "wrong-" + pf["PASSWORD"]
	wrongFile := secretFile(t, wrong)
	var secrets []string
	for _, s := range []string{pf["PASSWORD"], wrong, "\x00" + pf["USER"] + "\x00" + pf["PASSWORD"], "\x00" + pf["USER"] + "\x00" + wrong} {
		secrets = append(secrets, forms(s)...)
	}
	for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"} {
		for _, ref := range []string{"file:" + pf["PASSWORD_FILE"], "file:" + wrongFile} {
			for _, lv := range [][]string{nil, {"-v"}, {"-vv"}, {"-vvv"}, {"-vvv", "--output", "json"}} {
				args := append([]string{"-H", h, "-p", p, "-t", "10", "--ca-file", pf["CA"], "--verify-name", pf["HOSTNAME"],
					"--user", pf["USER"], "--password-ref", ref, "--mech", mech}, lv...)
				o := check(t, args...)
				if o.Code != 0 && o.Code != 2 {
					t.Errorf("%s %v: exit %d:\n%s", mech, lv, o.Code, o.Out)
				}
				for _, s := range secrets {
					if strings.Contains(o.Out, s) {
						t.Errorf("%s %v: output contains a secret form %q:\n%s", mech, lv, s, o.Out)
					}
				}
			}
		}
	}
}
