package conncheck

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestRealDNS runs --mx and -H through a real validating resolver and an
// authoritative-only server (.ci/dns.sh) against the real Postfix of
// .ci/mailserver.sh, whose 127.0.0.1:25 the zones' hosts point at.
func TestRealDNS(t *testing.T) {
	pf := plugintest.Postfix(t)
	dns := plugintest.RealDNS(t)
	if !strings.HasPrefix(pf["SMTP"], "127.0.0.1:") {
		t.Skipf("the zones' hosts are 127.0.0.1, Postfix listens on %s", pf["SMTP"])
	}
	_, port, _ := strings.Cut(pf["SMTP"], ":")
	res, auth := dns["RESOLVER"], dns["AUTH"]
	servfail := "SERVFAIL: the resolver could not get an answer"
	servfailAdvice := "the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator"
	cases := []struct {
		name   string
		server string
		args   []string
		code   int
		status string
	}{
		{"MX", res, []string{"--mx", "signed.test"}, 0, "SMTP OK - all 1 MX addresses of signed.test answered in T s"},
		{"null MX", res, []string{"--mx", "nullmx.signed.test"}, 2, "SMTP CRITICAL - dns: nullmx.signed.test publishes a null MX (RFC 7505): it accepts no mail"},
		{"no MX", res, []string{"--mx", "nomx.signed.test"}, 0, "SMTP OK - all 1 MX addresses of nomx.signed.test (no MX records: implicit MX, its own address) answered in T s"},
		{"NXDOMAIN", res, []string{"--mx", "nosuch.signed.test"}, 2, "SMTP CRITICAL - dns: nosuch.signed.test does not exist (NXDOMAIN, asked " + res + ") - check the domain given to --mx"},
		{"dangling MX", res, []string{"--mx", "dangling.signed.test"}, 2, "SMTP CRITICAL - 1 of 1 MX addresses of dangling.signed.test failed; gone.signed.test: dns: no IPv4 address for gone.signed.test: NXDOMAIN: the name does not exist (asked " + res + ")"},
		{"bogus zone", res, []string{"--mx", "bogus.test"}, 2, "SMTP CRITICAL - dns: MX lookup for bogus.test failed: " + servfail + " (asked " + res + ") - " + servfailAdvice},
		{"REFUSED by an authoritative-only server", auth, []string{"--mx", "example.org"}, 2,
			"SMTP CRITICAL - dns: MX lookup for example.org failed: REFUSED: the server will not answer this query (asked " + auth + ") - it is no recursive resolver for this client (an authoritative-only server, or its access rules): point --dns-server at a resolver that serves this client"},
		// /etc/hosts knows the name (mailserver.sh), the DNS does not.
		{"-H skips /etc/hosts", res, []string{"-H", pf["HOSTNAME"]}, 2,
			"SMTP CRITICAL - dns: lookup " + pf["HOSTNAME"] + " on " + res + ": " + servfail + " (" + pf["HOSTNAME"] + ":" + port + ") - " + servfailAdvice},
		{"-H through a signed CNAME", res, []string{"-H", "alias.signed.test"}, 0, "SMTP OK - alias.signed.test (127.0.0.1:" + port + ") answered in T s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, append(tc.args, "-p", port, "-4", "--dns-server", tc.server, "-t", "10")...)
			o.Expect(t, tc.code, tc.status)
		})
	}
}
