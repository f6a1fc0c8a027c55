package tlscheck

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// TestPostfix runs check_smtp_tls against the real Postfix of
// .ci/mailserver.sh: a valid CA-signed certificate on 127.0.0.1:25 and
// :465, an expired one on 127.0.0.2:25, a wrong name on 127.0.0.3:25.
func TestPostfix(t *testing.T) {
	pf := plugintest.Postfix(t)
	name := pf["HOSTNAME"]
	hp := func(addr string) []string {
		h, p, _ := strings.Cut(addr, ":")
		return []string{"-H", h, "-p", p}
	}
	trusted := []string{"--ca-file", pf["CA"], "--verify-name", name}
	// The valid certificate is made at start with a 10-year life: its date
	// is matched, not spelled out.
	expires := `; earliest expiry: certificate "` + regexp.QuoteMeta(name) + `" expires in \d+ days \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)`
	cases := []struct {
		name   string
		args   []string
		code   int
		status string // a regexp, anchored
	}{
		{"25 STARTTLS, CA-signed", append(hp(pf["SMTP"]), trusted...), 0,
			`SMTP TLS OK - ` + regexp.QuoteMeta(pf["SMTP"]) + `: TLSv1\.3 via STARTTLS, chain verified for ` + regexp.QuoteMeta(name) + expires},
		{"25 by name from /etc/hosts", []string{"-H", name, "-4", "--ca-file", pf["CA"]}, 0,
			`SMTP TLS OK - ` + regexp.QuoteMeta(name+" ("+pf["SMTP"]+")") + `: TLSv1\.3 via STARTTLS, chain verified for ` + regexp.QuoteMeta(name) + expires},
		{"465 implicit TLS", append(hp(pf["SUBMISSIONS"]), trusted...), 0,
			`SMTP TLS OK - ` + regexp.QuoteMeta(pf["SUBMISSIONS"]) + `: TLSv1\.3 via implicit TLS, chain verified for ` + regexp.QuoteMeta(name) + expires},
		{"25 with the system roots", hp(pf["SMTP"]), 2,
			regexp.QuoteMeta(`SMTP TLS CRITICAL - certificate "` + name + `" is issued by "smtpcheck test CA", which the server did not send and which is not in the system roots (missing intermediate? or a private CA: give it with --ca-file)`)},
		{"25 version scan: TLS 1.2 and later only (hardened)", append(hp(pf["SMTP"]), append(trusted, "--scan-versions")...), 0,
			`SMTP TLS OK - ` + regexp.QuoteMeta(pf["SMTP"]) + `: TLSv1\.3 via STARTTLS, chain verified for ` + regexp.QuoteMeta(name) + expires},
		{"25 no OCSP staple", append(hp(pf["SMTP"]), append(trusted, "--require-ocsp-staple")...), 2,
			regexp.QuoteMeta(`SMTP TLS CRITICAL - tls: the server staples no OCSP response (--require-ocsp-staple)`)},
		{"expired certificate", append(hp(pf["EXPIRED"]), trusted...), 2,
			regexp.QuoteMeta(`SMTP TLS CRITICAL - certificate "` + name + `" expired on 2020-02-01 00:00 UTC`)},
		{"wrong name", append(hp(pf["WRONGNAME"]), trusted...), 2,
			regexp.QuoteMeta(`SMTP TLS CRITICAL - certificate "wrong.example.invalid" is not valid for ` + name + ` (valid for wrong.example.invalid): check the name, or give the one the server should be known by with --sni-name or --verify-name`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, append(tc.args, "-t", "10")...)
			if o.Code != tc.code || !regexp.MustCompile("^"+tc.status+"$").MatchString(o.Status()) {
				t.Errorf("exit %d, status\n  %q\nwant exit %d, status matching\n  %q\n%s", o.Code, o.Status(), tc.code, tc.status, o.Out)
			}
			if strings.Contains(tc.name, "version scan") && !strings.Contains(o.Out, "\nscan: accepted: TLSv1.2, TLSv1.3; refused: TLSv1.0, TLSv1.1 |") {
				t.Errorf("the hardened Postfix must refuse TLS 1.0 and 1.1:\n%s", o.Out)
			}
		})
	}
}

// TestOpenPostfixScan scans the deliberately open Postfix of
// .ci/postfix-open.sh, which still accepts TLS 1.0 and 1.1.
func TestOpenPostfixScan(t *testing.T) {
	op := plugintest.OpenPostfix(t)
	o := check(t, append(plugintest.HostArgs(op["SMTP"]), "--ca-file", op["CA"], "--verify-name", op["HOSTNAME"], "--scan-versions", "-t", "10")...)
	const want = "SMTP TLS WARNING - scan: the server accepts TLSv1.0 and TLSv1.1"
	if o.Code != 1 || o.Status() != want || !strings.Contains(o.Out, "\nscan: accepted: TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3 |") {
		t.Errorf("exit %d, status %q; want exit 1, %q and every version accepted in\n%s", o.Code, o.Status(), want, o.Out)
	}
}

// TestPostfixDANE matches TLSA records, served with the AD bit by the
// in-process DNS server, against the real Postfix's certificate.
func TestPostfixDANE(t *testing.T) {
	pf := plugintest.Postfix(t)
	name := pf["HOSTNAME"]
	host, port, _ := strings.Cut(pf["SMTP"], ":")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var o Options
	if _, _, err := plugin.Parse(ctx, Name, []string{"-H", host, "-p", port, "-S"}, &o); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	out := o.session(ctx, o.target(), time.Time{})
	if err := tlsFailure(out.Err); err != nil || out.S.TLS == nil {
		t.Fatalf("no TLS session with %s: %v", pf["SMTP"], err)
	}
	leaf := out.S.TLS.PeerCertificates[0]
	ca, lerr := probe.LoadRoots(ctx, "--ca-file", pf["CA"])
	if lerr != nil {
		t.Fatal(lerr)
	}
	caCerts, lerr := ca.Certs()
	if lerr != nil {
		t.Fatal(lerr)
	}
	tlsaName := "_" + port + "._tcp." + name
	for _, tc := range []struct {
		name   string
		rr     string
		code   int
		status string
	}{
		{"3 1 1", tlsaRR(tlsaName, 3, 1, 1, leaf), 0, `dane: TLSA 3 1 1 matches certificate "` + name + `"`},
		{"3 0 2", tlsaRR(tlsaName, 3, 0, 2, leaf), 0, `dane: TLSA 3 0 2 matches certificate "` + name + `"`},
		{"mismatch", tlsaRR(tlsaName, 3, 1, 1, caCerts[0]), 2, "dane: no TLSA record at " + tlsaName + " matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dnsAddr := dnstest.Start(t, true, tc.rr, name+". 60 IN A "+host)
			out := check(t, "-H", name, "-p", port, "-4", "--ca-file", pf["CA"], "--dane", "--dns-server", dnsAddr, "-t", "10")
			if out.Code != tc.code || !strings.Contains(out.Status(), tc.status) {
				t.Errorf("exit %d: %s", out.Code, out.Out)
			}
		})
	}
}
