package conncheck

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
)

// TestDNSServerSkipsHostsFile: with --dns-server, -H's address comes from
// that server alone, never from /etc/hosts (which knows localhost): the
// check tests what the named server says.
func TestDNSServerSkipsHostsFile(t *testing.T) {
	p := answering(t)
	dnsAddr := dnstest.Start(t, false, "known.test. 60 IN A 127.0.0.1")
	o := check(t, "-H", "localhost", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 2, "SMTP CRITICAL - dns: lookup localhost on "+dnsAddr+": NXDOMAIN: the name does not exist (localhost:"+p+") - check the name: the DNS says there is no such name")

	o = check(t, "-H", "known.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 0, "SMTP OK - known.test (127.0.0.1:"+p+") answered in T s")
}

// TestDNSRcodeWording: a failed lookup names the DNS answer's code and
// what it means, for -H and for --mx, not Go's "server misbehaving".
func TestDNSRcodeWording(t *testing.T) {
	p := answering(t)
	dnsAddr := dnstest.Start(t, false, "refused.test REFUSED", "broken.test SERVFAIL")
	refused := "REFUSED: the server will not answer this query"
	refusedAdvice := "it is no recursive resolver for this client (an authoritative-only server, or its access rules): point --dns-server at a resolver that serves this client"
	o := check(t, "-H", "refused.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 2, "SMTP CRITICAL - dns: lookup refused.test on "+dnsAddr+": "+refused+" (refused.test:"+p+") - "+refusedAdvice)

	o = check(t, "--mx", "refused.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 2, "SMTP CRITICAL - dns: MX lookup for refused.test failed: "+refused+" (asked "+dnsAddr+") - "+refusedAdvice)

	o = check(t, "--mx", "broken.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 2, "SMTP CRITICAL - dns: MX lookup for broken.test failed: SERVFAIL: the resolver could not get an answer (asked "+dnsAddr+") - the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator")
}
