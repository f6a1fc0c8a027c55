package plugintest

import "testing"

// RealDNS returns the environment that .ci/dns.sh writes, keyed without the
// SMTPCHECK_DNS_ prefix: RESOLVER, a validating unbound (host:port) that
// trusts the zones signed.test (signed) and bogus.test (which fails
// validation) and knows unsigned.test; AUTH, the authoritative-only named
// behind it, which refuses any other name. The records are listed in
// .ci/dns.sh. Without them the test is skipped, unless
// SMTPCHECK_REQUIRE_REAL=1 (set by .ci/run) makes that a failure.
func RealDNS(t testing.TB) map[string]string {
	t.Helper()
	return realServer(t, "DNS servers", "SMTPCHECK_DNS", ".ci/dns.sh", "RESOLVER", "AUTH")
}
