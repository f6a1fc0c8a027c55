package securitycheck

import (
	"slices"
	"strconv"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// insecureEv is the evidence line of a sub-check asked inside TLS that
// --insecure let go on.
const insecureEv = "asked inside TLS with a certificate that was not verified (--insecure)"

// TestInsecureSaid: with --insecure the audit goes on with a certificate
// that does not verify (here: no --ca-file for the test CA), and every
// output says that its verdicts inside TLS rest on it: the status line
// (OK or not), the long output, and the evidence of each sub-check asked
// inside TLS in --output json (not of those asked in clear text).
func TestInsecureSaid(t *testing.T) {
	l := start(t, &smtptest.Policy{}, true)
	where := "127.0.0.1:" + strconv.Itoa(l.srv.Port)
	args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(l.srv.Port), "--insecure", "-t", "8", "--skip", "weak_tls"}
	out := check(t, args...)
	out.Expect(t, 0, "SMTP SECURITY OK - 8 sub-checks passed for --role mx on "+where+" (certificate NOT verified: --insecure)")
	out.Contains(t, `; NOT verified (--insecure): x509: certificate signed by unknown authority`, "    "+insecureEv)

	got, out := items(t, args...)
	for id, want := range map[string]bool{"open_relay": true, "injection": true, "starttls": false, "vrfy": false} {
		if has := slices.Contains(got[id].Evidence, insecureEv); has != want {
			t.Errorf("%s: evidence %q: says --insecure %v, want %v", id, got[id].Evidence, has, want)
		}
	}
	out.Contains(t, `"summary":"8 sub-checks passed for --role mx on `+where+` (certificate NOT verified: --insecure)"`)

	// A finding names it too; a certificate that does verify is still "not verified".
	relay := start(t, &smtptest.Policy{OpenRelay: true}, true)
	out = check(t, relay.args("mx", "--insecure", "--only", "open_relay")...)
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - open_relay: open relay: accepted RCPT to an outside domain (plain, null sender, local sender and 9 more of 12 variants) (certificate not verified: --insecure)")

	// Without --insecure nothing is said.
	out = check(t, relay.args("mx", "--only", "open_relay")...)
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - open_relay: open relay: accepted RCPT to an outside domain (plain, null sender, local sender and 9 more of 12 variants)")
}
