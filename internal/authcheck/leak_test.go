package authcheck

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// forms are the encodings of s that must never appear in output.
func forms(s string) []string {
	return []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s)),
		base64.URLEncoding.EncodeToString([]byte(s))}
}

// TestSecretsNeverShown runs every mechanism, succeeding and failing, at
// every -v level and as JSON, and looks for any form of any secret.
func TestSecretsNeverShown(t *testing.T) {
	p := newPKI(t)
	users := map[string]string{testUser: testPass}
	goSMTP := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, AuthRequiresTLS: true, Users: users})
	wrongPass := "wrong-" + testPass
	passRef := "file:" + secretFile(t, testPass)
	wrongRef := "file:" + secretFile(t, wrongPass)
	tokenRef := "file:" + secretFile(t, testToken)
	wrongToken := "expired-" + testToken
	wrongTokenRef := "file:" + secretFile(t, wrongToken)

	var secrets []string
	for _, s := range []string{testPass, wrongPass, testToken, wrongToken,
		"\x00" + testUser + "\x00" + testPass, "\x00" + testUser + "\x00" + wrongPass,
		xoauth2IR, strings.ReplaceAll(xoauth2IR, testToken, wrongToken)} {
		secrets = append(secrets, forms(s)...)
	}

	type run struct {
		name string
		port int
		args []string
	}
	var runs []run
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		runs = append(runs,
			run{mech + " ok", goSMTP.Port, []string{"--mech", mech, "--password-ref", passRef}},
			run{mech + " wrong", goSMTP.Port, []string{"--mech", mech, "--password-ref", wrongRef}},
			run{mech + " -P", goSMTP.Port, []string{"-A", mech, "-P", testPass}},
			run{mech + " -P wrong", goSMTP.Port, []string{"-A", mech, "-P", wrongPass}})
	}
	scripted := map[string]func(c *smtptest.FaultConn){
		"SCRAM-SHA-256": scramServer("SCRAM-SHA-256", scram.SHA256, ""),
		"SCRAM-SHA-1":   scramServer("SCRAM-SHA-1", scram.SHA1, "e"),
		"CRAM-MD5":      cramServer,
	}
	for mech, script := range scripted {
		srv := authServer(t, p, mech, script)
		runs = append(runs,
			run{mech + " ok", srv.Port, []string{"--password-ref", passRef}},
			run{mech + " wrong", srv.Port, []string{"--password-ref", wrongRef}})
	}
	for _, mech := range []string{"XOAUTH2", "OAUTHBEARER"} {
		srv := authServer(t, p, mech, oauthServer(mech, xoauth2IR, "")) // OAUTHBEARER never matches: fails
		runs = append(runs,
			run{mech + " token", srv.Port, []string{"--token-ref", tokenRef}},
			run{mech + " wrong token", srv.Port, []string{"--token-ref", wrongTokenRef}})
	}

	levels := [][]string{nil, {"-v"}, {"-vv"}, {"-vvv"}, {"--output", "json"}, {"-vvv", "--output", "json"}}
	for _, r := range runs {
		for _, lv := range levels {
			args := hostArgs(r.port, append(append([]string{"--ca-file", p.caFile, "--user", testUser}, r.args...), lv...)...)
			o := check(t, args...)
			if o.Code == 3 {
				t.Errorf("%s %v: the check did not run:\n%s", r.name, lv, o.Out)
			}
			for _, s := range secrets {
				if strings.Contains(o.Out, s) {
					t.Errorf("%s %v: output contains a secret form %q:\n%s", r.name, lv, s, o.Out)
				}
			}
			if len(lv) > 0 && lv[0] == "-vvv" && !strings.Contains(o.Out, "C: AUTH ") {
				t.Errorf("%s %v: no AUTH line in the transcript:\n%s", r.name, lv, o.Out)
			}
		}
	}
}
