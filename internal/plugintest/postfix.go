package plugintest

import (
	"errors"
	"os"
	"os/exec"
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

// CheckSMTP is monitoring-plugins' check_smtp, the plugin we replace.
const CheckSMTP = "/usr/lib/nagios/plugins/check_smtp"

// AgreesWithCheckSMTP runs check_smtp with args and fails the test unless it
// exits with code, as our plugin did for the same check.
func AgreesWithCheckSMTP(t testing.TB, code int, args ...string) {
	t.Helper()
	out, err := exec.Command(CheckSMTP, args...).CombinedOutput()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("check_smtp: %v", err)
	}
	if got != code {
		t.Errorf("check_smtp disagrees: exit %d, ours %d: %s", got, code, out)
	}
}
