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
		// The old check_smtp_tls --sni took a value: a positional host
		// after it, alone or after -H, would be another host checked.
		{[]string{"--sni", "127.0.0.9"}, "SMTP TLS UNKNOWN - --sni takes no value: use --sni-name NAME (and -H for the host) (see check_smtp_tls --help)"},
		{[]string{"--sni", "mx.example.org", "127.0.0.4"}, "SMTP TLS UNKNOWN - --sni takes no value: use --sni-name NAME (and -H for the host) (see check_smtp_tls --help)"},
		{[]string{"-H", "127.0.0.4", "--sni", "mx.example.org"}, "SMTP TLS UNKNOWN - --sni takes no value: use --sni-name NAME (and -H for the host) (see check_smtp_tls --help)"},
		// -w and -c are worded as in every plugin; WARNING must come first.
		{[]string{"-w", "abc"}, "SMTP TLS UNKNOWN - -w: want days left or a Nagios range such as 30, 30:, ~:5, @1:2 (see check_smtp_tls --help)"},
		{[]string{"-c", "3x"}, "SMTP TLS UNKNOWN - -c: want days left or a Nagios range such as 30, 30:, ~:5, @1:2 (see check_smtp_tls --help)"},
		{[]string{"-w", "10", "-c", "20"}, "SMTP TLS UNKNOWN - -w 10 -c 20: the thresholds are days left, so WARNING must be larger than CRITICAL (e.g. -w 30 -c 14), else it never comes first (see check_smtp_tls --help)"},
		{[]string{"-w", "14", "-c", "14"}, "SMTP TLS UNKNOWN - -w 14 -c 14: the thresholds are days left, so WARNING must be larger than CRITICAL (e.g. -w 30 -c 14), else it never comes first (see check_smtp_tls --help)"},
		{[]string{"-w", "10"}, "SMTP TLS UNKNOWN - -w 10 -c 14 (the default -c): the thresholds are days left, so WARNING must be larger than CRITICAL (e.g. -w 30 -c 14), else it never comes first (see check_smtp_tls --help)"},
		{[]string{"-D", "10,20"}, "SMTP TLS UNKNOWN - -D 10,20: the thresholds are days left, so WARNING must be larger than CRITICAL (e.g. -D 30,14), else it never comes first (see check_smtp_tls --help)"},
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
