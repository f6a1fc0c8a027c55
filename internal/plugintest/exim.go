package plugintest

import (
	"strings"
	"testing"
)

// Exim returns the environment that .ci/exim.sh writes, keyed without the
// SMTPCHECK_EXIM_ prefix (CA, USER, PASSWORD, HOSTNAME, DOMAIN, SMTP,
// SUBMISSION, SUBMISSIONS). Without a running Exim the test is skipped,
// unless SMTPCHECK_REQUIRE_REAL=1 (set by .ci/run) makes that a failure.
func Exim(t testing.TB) map[string]string {
	t.Helper()
	return realServer(t, "Exim", "SMTPCHECK_EXIM", ".ci/exim.sh",
		"CA", "USER", "PASSWORD_FILE", "HOSTNAME", "DOMAIN", "SMTP", "SUBMISSION", "SUBMISSIONS")
}

// HostArgs are the -H and -p flags for an address host:port of the env
// files.
func HostArgs(addr string) []string {
	h, p, _ := strings.Cut(addr, ":")
	return []string{"-H", h, "-p", p}
}
