package plugintest

import "testing"

// OpenPostfix returns the environment that .ci/postfix-open.sh writes for
// the deliberately open Postfix, keyed without the SMTPCHECK_OPEN_ prefix
// (SMTP, CA, HOSTNAME, DOMAIN, AUTH, LOG). Without it the test is skipped,
// unless SMTPCHECK_REQUIRE_REAL=1 (set by .ci/run) makes that a failure.
func OpenPostfix(t testing.TB) map[string]string {
	t.Helper()
	return realServer(t, "open Postfix", "SMTPCHECK_OPEN", ".ci/postfix-open.sh",
		"SMTP", "CA", "HOSTNAME", "DOMAIN", "AUTH", "LOG")
}
