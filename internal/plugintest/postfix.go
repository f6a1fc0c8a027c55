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
	env := realServer(t, "Postfix", "SMTPCHECK_POSTFIX", ".ci/mailserver.sh",
		"CA", "USER", "PASSWORD_FILE", "SMTP", "SUBMISSION", "SUBMISSIONS", "EXPIRED", "WRONGNAME")
	env["HOSTNAME"] = os.Getenv("SMTPCHECK_POSTFIX_HOSTNAME")
	if env["HOSTNAME"] == "" {
		env["HOSTNAME"] = "mail.smtpcheck.test"
	}
	return env
}

// realServer returns the environment a CI script wrote for a real server
// (gate=1, gate_KEY=value), keys without the prefix, and the password read
// from PASSWORD_FILE as PASSWORD. Without gate=1 the test is skipped, unless
// SMTPCHECK_REQUIRE_REAL=1 (set by .ci/run) makes that a failure.
func realServer(t testing.TB, name, gate, script string, keys ...string) map[string]string {
	t.Helper()
	if os.Getenv(gate) != "1" {
		if os.Getenv("SMTPCHECK_REQUIRE_REAL") == "1" {
			t.Fatalf("SMTPCHECK_REQUIRE_REAL=1 but no %s: source the env file of %s start", name, script)
		}
		t.Skipf("no real %s: run %s start and source its env file", name, script)
	}
	env := map[string]string{}
	for _, k := range keys {
		if env[k] = os.Getenv(gate + "_" + k); env[k] == "" {
			t.Fatalf("%s_%s is not set: source the env file of %s start", gate, k, script)
		}
	}
	if file, ok := env["PASSWORD_FILE"]; ok { // a server without users has none
		pass, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		env["PASSWORD"] = strings.TrimSpace(string(pass))
	}
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
