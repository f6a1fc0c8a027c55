package tlscheck

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestJobPanic: a panic in a job beside the main session (a handshake of the
// version scan, the DANE or the MTA-STS lookup) is an UNKNOWN finding naming
// the job, judged beside the main session and the other jobs, which are
// still reported; the plugin prints its verdict instead of a stack trace.
func TestJobPanic(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	cert := root.MustIssue(t, leafOpts(nil))
	const bug = " (a bug: please report it with the command line)"
	cases := []struct {
		name    string
		job     string
		min     uint16 // the lowest version the server accepts
		args    []string
		code    int
		status  string
		details []string
	}{
		{"a handshake of the version scan", "the TLSv1.1 handshake of the version scan", tls.VersionTLS12, []string{"--scan-versions"},
			3, "SMTP TLS UNKNOWN - internal error in the TLSv1.1 handshake of the version scan: boom" + bug,
			[]string{"scan: TLSv1.0 refused", "scan: TLSv1.2 accepted", "scan: accepted: TLSv1.2, TLSv1.3", "tls: TLSv1.3 "}},
		{"the DANE lookup, beside a worse finding", "the DANE (TLSA) lookup", tls.VersionTLS10, []string{"--scan-versions", "--dane", "--verify-name", "localhost"},
			1, "SMTP TLS WARNING - scan: the server accepts TLSv1.0 and TLSv1.1",
			[]string{"[UNKNOWN] internal error in the DANE (TLSA) lookup: boom" + bug, "scan: accepted: TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3"}},
		{"the MTA-STS lookup", "the MTA-STS lookup", tls.VersionTLS12, []string{"--mta-sts", "example.test", "--verify-name", "localhost"},
			3, "SMTP TLS UNKNOWN - internal error in the MTA-STS lookup: boom" + bug,
			[]string{"chain: verified for localhost", "'cert_days'="}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := serve(t, root, cert, smtptest.Config{}, &tls.Config{MinVersion: tc.min})
			injected := false
			panicking := func(ctx context.Context, o *Options) *plugin.Result {
				jobs := o.jobs()
				for i := range jobs {
					if jobs[i].Name == tc.job {
						jobs[i].Run, injected = func(context.Context) func(*Facts) { panic("boom") }, true
					}
				}
				return o.Judge(o.gather(ctx, jobs), time.Now())
			}
			o := plugintest.Run(t, Name, Service, &Options{}, panicking, l.args(tc.args...)...)
			if !injected {
				t.Fatalf("no job is named %q", tc.job)
			}
			o.Expect(t, tc.code, tc.status)
			o.Contains(t, tc.details...)
			if strings.Contains(o.Out, "goroutine") {
				t.Errorf("a stack trace in the output:\n%s", o.Out)
			}
		})
	}
}
