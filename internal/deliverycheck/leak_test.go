package deliverycheck

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestSecretsNeverShown: neither the SMTP nor the IMAP secret, nor any
// form in which SASL or IMAP's LOGIN carries it, appears in any output:
// text at every -v, JSON, on success and on each side's refusal.
func TestSecretsNeverShown(t *testing.T) {
	forms := func(user, pass string) []string {
		return []string{pass, strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(pass),
			base64.StdEncoding.EncodeToString([]byte(pass)),
			base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))}
	}
	forbidden := append(forms(smtpUser, smtpPass), forms(imapUser, imapPass)...)
	forbidden = append(forbidden, forms(smtpUser, "wrong-smtp-pass")...)
	forbidden = append(forbidden, forms(imapUser, "wrong-imap-pass")...)
	l := newLab(t, labOpts{smtp: smtptest.Config{AuthRequiresTLS: true, RequireAuth: true}})
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"ok", nil, nil, 0},
		{"imap LOGIN command", nil, []string{"--imap-mech", "LOGIN"}, 0},
		{"imap refused", map[string]string{"DL_IMAP_PASS": "wrong-imap-pass"}, nil, 2},
		{"smtp refused", map[string]string{"DL_SMTP_PASS": "wrong-smtp-pass"}, nil, 2},
	}
	for _, c := range cases {
		for _, v := range [][]string{{"-v"}, {"-vv"}, {"-vvv"}, {"--output", "json", "-v"}, {"--output", "json", "-vv"}} {
			t.Run(c.name+strings.Join(v, ""), func(t *testing.T) {
				t.Setenv("DL_SMTP_PASS", smtpPass)
				t.Setenv("DL_IMAP_PASS", imapPass)
				for k, val := range c.env {
					t.Setenv(k, val)
				}
				args := append(l.args(c.args...), v...)
				out := runEnv(t, args...)
				if out.Code != c.code {
					t.Fatalf("exit %d, want %d:\n%s", out.Code, c.code, out.Out)
				}
				if c.name != "smtp refused" && !strings.Contains(out.Out, "imap: T1 AUTHENTICATE PLAIN") && !strings.Contains(out.Out, "imap: T1 LOGIN") {
					t.Errorf("no IMAP login in the transcript:\n%s", out.Out)
				}
				for _, f := range forbidden {
					if strings.Contains(out.Out, f) {
						t.Errorf("output contains the secret form %q:\n%s", f, out.Out)
					}
				}
			})
		}
	}
}
