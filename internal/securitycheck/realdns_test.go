package securitycheck

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestRealDNS judges --domain through the real validating resolver of
// .ci/dns.sh (unbound in front of named): signed.test publishes every
// record right (MX, SPF, DMARC, MTA-STS, TLS-RPT, signed TLSA), unsigned.test
// gets them wrong (+all, p=none, TLSA without DNSSEC). The MTA-STS policy
// comes from a server of the test's own (--mta-sts-url-base).
func TestRealDNS(t *testing.T) {
	dns := plugintest.RealDNS(t)
	rows := "mx,spf,dmarc,mta_sts,tls_rpt,tlsa"
	base, caFile := stsServer(t, "signed.test", "version: STSv1\nmode: enforce\nmx: mx.signed.test\nmax_age: 86400\n")
	args := func(domain string) []string {
		return []string{"-H", "127.0.0.1", "-p", "1", "-t", "8", "--ca-file", caFile, "--dns-server", dns["RESOLVER"], "--domain", domain,
			"--mta-sts-url-base", base, "--only", rows}
	}
	got, out := items(t, args("signed.test")...)
	if out.Code != 0 {
		t.Errorf("signed.test: exit %d, want 0:\n%s", out.Code, out.Out)
	}
	expectItems(t, only(got, "mx", "spf", "dmarc", "mta_sts", "tls_rpt", "tlsa"), map[string]want{
		"mx":      {"OK", "1 MX host", []string{"MX 10 mx.signed.test"}},
		"spf":     {"OK", "one SPF record, 1 of 10 DNS lookups, ending -all", []string{`"v=spf1 mx -all"`}},
		"dmarc":   {"OK", "policy p=reject", []string{"aggregate reports go to mailto:dmarc@signed.test"}},
		"mta_sts": {"OK", "mode enforce, every MX listed", []string{"_mta-sts.signed.test TXT: id=20261204 (asked " + dns["RESOLVER"] + ")"}},
		"tls_rpt": {"OK", "reports go to mailto:tls-reports@signed.test", nil},
		"tlsa":    {"OK", "every MX host has DNSSEC-validated TLSA records", []string{"_25._tcp.mx.signed.test TLSA: 3 1 1, DNSSEC-validated"}},
	})

	got, out = items(t, args("unsigned.test")...)
	if out.Code != 2 {
		t.Errorf("unsigned.test: exit %d, want 2:\n%s", out.Code, out.Out)
	}
	expectItems(t, only(got, "mx", "spf", "dmarc", "mta_sts", "tls_rpt", "tlsa"), map[string]want{
		"mx":      {"OK", "1 MX host", nil},
		"spf":     {"CRITICAL", "the SPF record ends with +all: it lets every host send as unsigned.test", []string{`"v=spf1 +all"`}},
		"dmarc":   {"WARNING", "policy p=none: mail that fails DMARC is delivered all the same (monitoring only)", []string{"no rua: nobody gets aggregate reports"}},
		"mta_sts": {"OK", "no MTA-STS record (informational: senders may deliver over unauthenticated TLS)", nil},
		"tls_rpt": {"OK", "no TLS-RPT record (informational: nobody hears of failed TLS deliveries)", nil},
		"tlsa":    {"WARNING", "TLSA records of mx.unsigned.test are not DNSSEC-validated: DANE cannot use them (sign the zone, or ask a validating resolver with --dns-server)", []string{"_25._tcp.mx.unsigned.test TLSA: 3 1 1, not DNSSEC-validated: unusable (RFC 7672 §2.2)"}},
	})
}
