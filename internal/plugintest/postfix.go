package plugintest

import (
	"os"
	"strings"
	"testing"
)

// Postfix returns the environment that .ci/mailserver.sh writes, keyed
// without the SMTPCHECK_POSTFIX_ prefix (CA, USER, PASSWORD, SMTP,
// SUBMISSION, SUBMISSIONS, EXPIRED, WRONGNAME, HOSTNAME). Without a running
// server the test is skipped, unless SMTPCHECK_REQUIRE_REAL=1 (set by
// .ci/run) makes that a failure.
func Postfix(t testing.TB) map[string]string {
	t.Helper()
	if os.Getenv("SMTPCHECK_POSTFIX") != "1" {
		if os.Getenv("SMTPCHECK_REQUIRE_REAL") == "1" {
			t.Fatal("SMTPCHECK_REQUIRE_REAL=1 but no Postfix: source the env file of .ci/mailserver.sh start")
		}
		t.Skip("no real Postfix: run .ci/mailserver.sh start and source its env file")
	}
	env := map[string]string{}
	for _, k := range []string{"CA", "USER", "PASSWORD_FILE", "SMTP", "SUBMISSION", "SUBMISSIONS", "EXPIRED", "WRONGNAME"} {
		if env[k] = os.Getenv("SMTPCHECK_POSTFIX_" + k); env[k] == "" {
			t.Fatalf("SMTPCHECK_POSTFIX_%s is not set: source the env file of .ci/mailserver.sh start", k)
		}
	}
	env["HOSTNAME"] = os.Getenv("SMTPCHECK_POSTFIX_HOSTNAME")
	if env["HOSTNAME"] == "" {
		env["HOSTNAME"] = "mail.smtpcheck.test"
	}
	pass, err := os.ReadFile(env["PASSWORD_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	env["PASSWORD"] = strings.TrimSpace(string(pass))
	return env
}
