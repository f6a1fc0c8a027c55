package tlscheck

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// check runs check_smtp_tls in-process, the way main runs it.
func check(t *testing.T, args ...string) plugintest.Outcome {
	t.Helper()
	return plugintest.Run(t, Name, Service, &Options{}, Check, args...)
}

func TestUsage(t *testing.T) {
	cases := []struct {
		args   []string
		status string
	}{
		{[]string{"-s", "-S"}, "SMTP TLS UNKNOWN - -s (implicit TLS) and -S (STARTTLS) exclude each other (see check_smtp_tls --help)"},
		{[]string{"-4", "-6"}, "SMTP TLS UNKNOWN - -4 and -6 exclude each other (see check_smtp_tls --help)"},
		{[]string{"-D", "30", "-w", "20"}, "SMTP TLS UNKNOWN - -D and -w/-c both give the days thresholds: use one (see check_smtp_tls --help)"},
		{[]string{"-D", "x,1"}, `SMTP TLS UNKNOWN - -D "x,1": want WARN[,CRIT] whole days (see check_smtp_tls --help)`},
		{[]string{"--min-tls", "1.4"}, `SMTP TLS UNKNOWN - --min-tls: unknown TLS version "1.4" (want 1.0, 1.1, 1.2 or 1.3) (see check_smtp_tls --help)`},
		{[]string{"--sha1-state", "bad"}, `SMTP TLS UNKNOWN - --sha1-state: unknown state "bad" (want OK, WARNING, CRITICAL or UNKNOWN) (see check_smtp_tls --help)`},
	}
	for _, c := range cases {
		check(t, c.args...).Expect(t, 3, c.status)
	}
}

func TestDaysAndModeOptions(t *testing.T) {
	cases := []struct {
		args       []string
		warn, crit string
		implicit   bool
		port       int
	}{
		{nil, "30:", "14:", false, 25},
		{[]string{"-w", "20", "-c", "~:5"}, "20:", "~:5", false, 25},
		{[]string{"-D", "40,20"}, "40:", "20:", false, 25},
		{[]string{"-s"}, "30:", "14:", true, 465},
		{[]string{"-p", "465"}, "30:", "14:", true, 465},
		{[]string{"-p", "465", "-S"}, "30:", "14:", false, 465},
		{[]string{"-p", "587"}, "30:", "14:", false, 587},
	}
	for _, c := range cases {
		var o Options
		if _, _, err := plugin.Parse(context.Background(), Name, c.args, &o); err != nil {
			t.Fatal(err)
		}
		if err := o.Validate(context.Background()); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if o.days.Warn.String() != c.warn || o.days.Crit.String() != c.crit || (o.Mode() == probe.TLSImplicit) != c.implicit || o.Port != c.port {
			t.Errorf("%v: warn %s crit %s mode %d port %d", c.args, o.days.Warn, o.days.Crit, o.Mode(), o.Port)
		}
	}
}
