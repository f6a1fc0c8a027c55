package tlscheck

import (
	"regexp"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestRealDNS runs DANE and MTA-STS through a real validating resolver
// (.ci/dns.sh: unbound in front of a named serving a zone signed at setup,
// an unsigned and a bogus zone) against the real Postfix of
// .ci/mailserver.sh, whose certificate the TLSA records hash.
func TestRealDNS(t *testing.T) {
	pf := plugintest.Postfix(t)
	dns := plugintest.RealDNS(t)
	host, port, _ := strings.Cut(pf["SMTP"], ":")
	if port != "25" {
		t.Skipf("the zones' TLSA records are for port 25, Postfix listens on %s", pf["SMTP"])
	}
	name := pf["HOSTNAME"] // what the certificate names
	res := dns["RESOLVER"]
	q := regexp.QuoteMeta
	expires := `earliest expiry: certificate "` + q(name) + `" expires in \d+ days \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)`
	noAD := func(tlsa string) string {
		return q("dane: the TLSA answer for " + tlsa + " from " + res + " " + noADTail)
	}
	cases := []struct {
		name    string
		args    []string
		code    int
		status  string   // a regexp, anchored
		details []string // in the output, as they are
	}{
		{"DANE-EE match", []string{"-H", "mx.signed.test", "--dane"}, 0,
			q(`SMTP TLS OK - mx.signed.test (`+host+`:25): TLSv1.3 via STARTTLS, chain not judged under DANE-EE (2 PKIX problems ignored); `) + expires +
				q(`; dane: TLSA 3 1 1 matches certificate "`+name+`"`),
			[]string{"is DNSSEC-validated (AD bit set by " + res + ")"}},
		{"DANE-EE mismatch", []string{"-H", "mismatch.signed.test", "--dane", "--ca-file", pf["CA"], "--verify-name", name}, 2,
			q("SMTP TLS CRITICAL - dane: no TLSA record at _25._tcp.mismatch.signed.test matches the chain the server sent: 3 1 1 ") + `[0-9a-f]{16}\.\.\.`,
			[]string{"(DANE-EE) matches no certificate the server sent\n"}},
		// 2 0 0: the CA itself, which Postfix does not send; no --ca-file:
		// DANE-TA is the only trust there is.
		{"DANE-TA", []string{"-H", "ta.signed.test", "--dane", "--verify-name", name}, 0,
			q(`SMTP TLS OK - ta.signed.test (`+host+`:25): TLSv1.3 via STARTTLS, chain verified for `+name+` up to the DANE-TA trust anchor; `) + expires +
				q(`; dane: TLSA 2 0 0 matches root "smtpcheck test CA"`), nil},
		{"signed CNAME to the MX host", []string{"-H", "alias.signed.test", "--dane"}, 0,
			q(`SMTP TLS OK - alias.signed.test (`+host+`:25): TLSv1.3 via STARTTLS, chain not judged under DANE-EE (2 PKIX problems ignored); `) + expires +
				q(`; dane: TLSA 3 1 1 matches certificate "`+name+`"`),
			[]string{"dane: alias.signed.test is an alias (CNAME) of mx.signed.test, DNSSEC-validated: its TLSA records count (RFC 7672 §2.2.2)"}},
		// RFC 7672 §2.2: unusable, neither pass nor fail; PKIX judges.
		{"unsigned TLSA that does not match, trusted chain", []string{"-H", "mx.unsigned.test", "--dane", "--ca-file", pf["CA"], "--verify-name", name}, 1,
			"SMTP TLS WARNING - " + noAD("_25._tcp.mx.unsigned.test"),
			[]string{"(DANE-EE) matches no certificate the server sent (not DNSSEC-validated: unusable)", "chain: verified for " + name}},
		{"unsigned TLSA that does not match, untrusted chain", []string{"-H", "mx.unsigned.test", "--dane", "--verify-name", name}, 2,
			q(`SMTP TLS CRITICAL - certificate "` + name + `" is issued by "smtpcheck test CA", which the server did not send and which is not in the system roots (missing intermediate? or a private CA: give it with --ca-file)`),
			[]string{"\n[WARNING] dane: the TLSA answer for _25._tcp.mx.unsigned.test from " + res + " " + noADTail}},
		{"bogus zone: the address lookup", []string{"-H", "mx.bogus.test", "--dane"}, 2,
			q("SMTP TLS CRITICAL - dns: lookup mx.bogus.test on " + res + ": SERVFAIL: the resolver could not get an answer (mx.bogus.test:25) - the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator"), nil},
		{"bogus zone: the TLSA lookup", []string{"-H", host, "--dane", "--ca-file", pf["CA"], "--verify-name", "mx.bogus.test"}, 2,
			q("SMTP TLS CRITICAL - dane: the TLSA lookup for _25._tcp.mx.bogus.test failed: SERVFAIL: the resolver could not get an answer (asked "+res+") - ") + ".*", nil},
		// /etc/hosts knows the name (mailserver.sh), the DNS does not.
		{"--dns-server skips /etc/hosts", []string{"-H", name, "--ca-file", pf["CA"]}, 2,
			q("SMTP TLS CRITICAL - dns: lookup "+name+" on "+res+": SERVFAIL: the resolver could not get an answer ("+name+":25) - ") + ".*", nil},
		{"MTA-STS TXT record read, policy host unknown", []string{"-H", "mx.signed.test", "--ca-file", pf["CA"], "--verify-name", name, "--mta-sts", "signed.test"}, 2,
			q("SMTP TLS CRITICAL - mta-sts: cannot get the policy https://mta-sts.signed.test/.well-known/mta-sts.txt: mta-sts.signed.test: NXDOMAIN: the name does not exist (asked " + res + "): publish its address, or check the name"),
			[]string{"mta-sts: _mta-sts.signed.test: v=STSv1, id 20261204"}},
		{"MTA-STS TXT record missing", []string{"-H", "mx.signed.test", "--ca-file", pf["CA"], "--verify-name", name, "--mta-sts", "nomx.signed.test"}, 2,
			q("SMTP TLS CRITICAL - mta-sts: no MTA-STS record at _mta-sts.nomx.signed.test: NXDOMAIN: the name does not exist (asked " + res + ")"), nil},
		{"MTA-STS TXT lookup in the bogus zone", []string{"-H", "mx.signed.test", "--ca-file", pf["CA"], "--verify-name", name, "--mta-sts", "bogus.test"}, 2,
			q("SMTP TLS CRITICAL - mta-sts: no MTA-STS record at _mta-sts.bogus.test: SERVFAIL: the resolver could not get an answer (asked "+res+") - ") + ".*", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, append(tc.args, "-p", port, "-4", "--dns-server", res, "-t", "10")...)
			if o.Code != tc.code || !regexp.MustCompile("^"+tc.status+"$").MatchString(o.Status()) {
				t.Errorf("exit %d, status\n  %q\nwant exit %d, status matching\n  %q\n%s", o.Code, o.Status(), tc.code, tc.status, o.Out)
			}
			o.Contains(t, tc.details...)
		})
	}
}
