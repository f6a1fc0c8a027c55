package tlscheck

import (
	"regexp"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestExim runs check_smtp_tls against the real Exim 4 (GnuTLS) of
// .ci/exim.sh: STARTTLS on 25 and 587 ("220 TLS go ahead"), implicit TLS
// on 465.
func TestExim(t *testing.T) {
	ex := plugintest.Exim(t)
	name := ex["HOSTNAME"]
	hp := plugintest.HostArgs
	trusted := []string{"--ca-file", ex["CA"], "--verify-name", name}
	expires := `; earliest expiry: certificate "` + regexp.QuoteMeta(name) + `" expires in \d+ days \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)`
	cases := []struct {
		name   string
		args   []string
		code   int
		status string // a regexp, anchored
	}{
		{"25 STARTTLS", append(hp(ex["SMTP"]), trusted...), 0,
			`SMTP TLS OK - ` + regexp.QuoteMeta(ex["SMTP"]) + `: TLSv1\.3 via STARTTLS, chain verified for ` + regexp.QuoteMeta(name) + expires},
		{"587 STARTTLS", append(hp(ex["SUBMISSION"]), trusted...), 0,
			`SMTP TLS OK - ` + regexp.QuoteMeta(ex["SUBMISSION"]) + `: TLSv1\.3 via STARTTLS, chain verified for ` + regexp.QuoteMeta(name) + expires},
		{"465 implicit TLS", append(hp(ex["SUBMISSIONS"]), trusted...), 0,
			`SMTP TLS OK - ` + regexp.QuoteMeta(ex["SUBMISSIONS"]) + `: TLSv1\.3 via implicit TLS, chain verified for ` + regexp.QuoteMeta(name) + expires},
		{"25 by address: the certificate names it", append(hp(ex["SMTP"]), "--ca-file", ex["CA"]), 0,
			`SMTP TLS OK - ` + regexp.QuoteMeta(ex["SMTP"]) + `: TLSv1\.3 via STARTTLS, chain verified for ` + regexp.QuoteMeta(strings.Split(ex["SMTP"], ":")[0]) + expires},
		{"25 with the system roots", hp(ex["SMTP"]), 2,
			regexp.QuoteMeta(`SMTP TLS CRITICAL - certificate "`+name+`" is issued by "`) + `[^"]+` + regexp.QuoteMeta(`", which the server did not send and which is not in the system roots (missing intermediate? or a private CA: give it with --ca-file)`)},
		{"25 wrong name", append(hp(ex["SMTP"]), "--ca-file", ex["CA"], "--verify-name", "other.example.org"), 2,
			regexp.QuoteMeta(`SMTP TLS CRITICAL - certificate "` + name + `" is not valid for other.example.org (valid for ` + name + `, ` + strings.Split(ex["SMTP"], ":")[0] + `): check the name, or give the one the server should be known by with --sni-name or --verify-name`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, append(tc.args, "-t", "10")...)
			if o.Code != tc.code || !regexp.MustCompile("^"+tc.status+"$").MatchString(o.Status()) {
				t.Errorf("exit %d, status\n  %q\nwant exit %d, status matching\n  %q\n%s", o.Code, o.Status(), tc.code, tc.status, o.Out)
			}
		})
	}
}
