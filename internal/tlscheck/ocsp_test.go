package tlscheck

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestOCSPStaple: a go server staples responses signed in the test by the
// leaf's issuer.
func TestOCSPStaple(t *testing.T) {
	now := time.Now().Truncate(time.Minute)
	root := smtptest.MustNewCA(t, "Test Root")
	inter := mustCA(root.NewIntermediate("Test Intermediate", time.Time{}, time.Time{}))
	other := mustCA(root.NewIntermediate("Other Intermediate", time.Time{}, time.Time{}))
	cert := inter.MustIssue(t, leafOpts(nil))
	leaf := mustParse(t, cert.Certificate[0])
	sign := func(ca *smtptest.CA, status int, thisUpdate, nextUpdate time.Time) []byte {
		tmpl := ocsp.Response{Status: status, SerialNumber: leaf.SerialNumber, ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
		if status == ocsp.Revoked {
			tmpl.RevokedAt, tmpl.RevocationReason = now.Add(-2*time.Hour), ocsp.KeyCompromise
		}
		der, err := ocsp.CreateResponse(ca.Cert, ca.Cert, tmpl, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	okLine := `SMTP TLS OK - {addr}: TLSv1.3 via STARTTLS, chain verified for 127.0.0.1; earliest expiry: certificate "localhost" expires in 90 days (` +
		day(leaf.NotAfter) + ")"
	cases := []struct {
		name   string
		staple []byte
		code   int
		status string
		detail string
	}{
		{"good", sign(inter, ocsp.Good, now.Add(-time.Hour), now.Add(24*time.Hour)), 0, okLine,
			"ocsp: stapled response: good, this update " + day(now.Add(-time.Hour)) + ", next update " + day(now.Add(24*time.Hour)) + " (signature verified)"},
		{"good without nextUpdate", sign(inter, ocsp.Good, now.Add(-time.Hour), time.Time{}), 0, okLine, "next update none given (signature verified)"},
		{"revoked", sign(inter, ocsp.Revoked, now.Add(-time.Hour), now.Add(24*time.Hour)), 2,
			`SMTP TLS CRITICAL - ocsp: certificate "localhost" was revoked on ` + day(now.Add(-2*time.Hour)) + " (key compromise), says the stapled OCSP response",
			"ocsp: stapled response: revoked"},
		{"unknown", sign(inter, ocsp.Unknown, now.Add(-time.Hour), now.Add(24*time.Hour)), 1,
			`SMTP TLS WARNING - ocsp: the stapled OCSP response says status unknown for certificate "localhost"`, "ocsp: stapled response: unknown"},
		{"stale", sign(inter, ocsp.Good, now.Add(-72*time.Hour), now.Add(-24*time.Hour)), 1,
			"SMTP TLS WARNING - ocsp: the stapled OCSP response is stale: its next update was due " + day(now.Add(-24*time.Hour)),
			"ocsp: stapled response: good, this update " + day(now.Add(-72*time.Hour))},
		{"signed by another CA", sign(other, ocsp.Good, now.Add(-time.Hour), now.Add(24*time.Hour)), 1,
			"SMTP TLS WARNING - ocsp: the stapled response ({n} bytes) cannot be used: bad OCSP signature: x509: ECDSA verification failure", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cert
			c.OCSPStaple = tc.staple
			l := serve(t, root, c, smtptest.Config{}, nil)
			// --ocsp-warning 4 must not fire on a response valid for a day.
			o := check(t, l.args("--require-ocsp-staple", "--ocsp-warning", "4")...)
			want := strings.NewReplacer("{addr}", l.srv.Addr, "{n}", strconv.Itoa(len(tc.staple))).Replace(tc.status)
			o.Expect(t, tc.code, want)
			o.Contains(t, tc.detail)
		})
	}

	// Hours left until the staple's next update, as check_ssl_cert's
	// --ocsp-warning/--ocsp-critical judge them.
	soon := now.Add(5*time.Hour + 30*time.Minute)
	c := cert
	c.OCSPStaple = sign(inter, ocsp.Good, now.Add(-time.Hour), soon)
	l := serve(t, root, c, smtptest.Config{}, nil)
	check(t, l.args("--ocsp-warning", "12")...).Expect(t, 1,
		"SMTP TLS WARNING - ocsp: the stapled OCSP response is valid for 5 more hours (next update "+day(soon)+"; --ocsp-warning 12)")
	check(t, l.args("--ocsp-warning", "12", "--ocsp-critical", "6")...).Expect(t, 2,
		"SMTP TLS CRITICAL - ocsp: the stapled OCSP response is valid for 5 more hours (next update "+day(soon)+"; --ocsp-critical 6)")
}
