package conncheck

import (
	"regexp"
	"testing"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// check runs check_smtp_conn in-process, the way main runs it.
func check(t *testing.T, args ...string) plugintest.Outcome {
	t.Helper()
	return plugintest.Run(t, Name, Service, &Options{}, Check, args...)
}

var regexpNum = regexp.MustCompile(`=[0-9.]+s`)
