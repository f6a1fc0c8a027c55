package tlscheck

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestTrustWithoutCommonMoment: a leaf that expired before its root began
// (no moment at which the whole chain was valid) is still judged for
// trust: without --ca-file the root it sends is reported as untrusted, in
// the text and in JSON, and no output calls the chain verified.
func TestTrustWithoutCommonMoment(t *testing.T) {
	now := time.Now()
	root := smtptest.MustNewCA(t, "Young Root") // valid from an hour ago
	leaf := root.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) {
		o.NotBefore, o.NotAfter = now.Add(-72*time.Hour), now.Add(-48*time.Hour)
	}))
	leaf.Certificate = append(leaf.Certificate, root.Cert.Raw) // the server sends its root too
	l := serve(t, root, leaf, smtptest.Config{}, nil)
	expired := `certificate "localhost" expired on ` + day(now.Add(-48*time.Hour))
	untrusted := `root "Young Root" sent by the server is not trusted by the system roots; if it is a private CA: give it with --ca-file`

	type finding struct{ State, Text string } // as --output json has it
	cases := []struct {
		name     string
		args     []string
		findings []finding
		overview string // a detail: as an OK finding it would read "[OK] … NOT accepted"
	}{
		{"without --ca-file", l.args()[:6], []finding{{State: "CRITICAL", Text: expired}, {State: "CRITICAL", Text: untrusted}},
			l.srv.Addr + ": TLSv1.3 via STARTTLS, chain NOT accepted for 127.0.0.1 (2 problems); earliest expiry: " + expired},
		{"with --ca-file", l.args(), []finding{{State: "CRITICAL", Text: expired}},
			l.srv.Addr + ": TLSv1.3 via STARTTLS, chain NOT accepted for 127.0.0.1 (1 problem); earliest expiry: " + expired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, tc.args...)
			var summary []string
			for _, f := range tc.findings {
				summary = append(summary, f.Text)
			}
			o.Expect(t, 2, "SMTP TLS CRITICAL - "+strings.Join(summary, "; "))
			js := check(t, append(tc.args, "--output", "json")...)
			var got struct {
				Findings []finding
				Details  []string
			}
			if err := json.Unmarshal([]byte(js.Out), &got); err != nil {
				t.Fatalf("%v:\n%s", err, js.Out)
			}
			if len(got.Findings) != len(tc.findings) {
				t.Fatalf("JSON findings %q\nwant %q", got.Findings, tc.findings)
			}
			for i := range got.Findings {
				if got.Findings[i] != tc.findings[i] {
					t.Errorf("JSON finding %d: %q\nwant %q", i, got.Findings[i], tc.findings[i])
				}
			}
			if len(got.Details) == 0 || got.Details[0] != tc.overview {
				t.Errorf("JSON details %q\nwant first %q", got.Details, tc.overview)
			}
			for _, out := range []string{o.Out, js.Out} {
				if strings.Contains(out, "verified") {
					t.Errorf("the output calls something verified:\n%s", out)
				}
			}
		})
	}
}
