package tlsaudit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"slices"
	"testing"
	"time"
)

// mustCert makes a certificate for cn signed by parent (self-signed when
// nil); ca sets the CA basic constraint, which a "CA" in a file may lack.
func mustCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return mustCertAt(t, cn, parent, parentKey, ca, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// mustCertAt is mustCert valid from notBefore to notAfter.
func mustCertAt(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ca {
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	} else {
		tmpl.DNSNames = []string{cn}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// TestVerifyWords: what each problem says names what to do.
func TestVerifyWords(t *testing.T) {
	notCA, notCAKey := mustCert(t, "Office CA", nil, nil, false) // no basicConstraints
	leaf, _ := mustCert(t, "mx.test", notCA, notCAKey, false)
	root, rootKey := mustCert(t, "Private Root", nil, nil, true)
	leaf2, _ := mustCert(t, "mx.test", root, rootKey, false)
	fromFile := func(cs ...*x509.Certificate) Roots {
		p := x509.NewCertPool()
		for _, c := range cs {
			p.AddCert(c)
		}
		return Roots{Pool: p, Certs: cs, Label: "--ca-file ca.pem"}
	}
	system := Roots{Pool: x509.NewCertPool(), Label: "the system roots"}
	cases := []struct {
		name  string
		certs []*x509.Certificate
		host  string
		roots Roots
		want  string
	}{
		{"a CA in --ca-file that cannot sign", []*x509.Certificate{leaf}, "mx.test", fromFile(notCA),
			`certificate "mx.test" is issued by "Office CA", which is in --ca-file ca.pem but cannot sign (parent certificate cannot sign: it lacks basicConstraints CA:TRUE): give a CA certificate`},
		{"a private CA against the system roots", []*x509.Certificate{leaf2}, "mx.test", system,
			`certificate "mx.test" is issued by "Private Root", which the server did not send and which is not in the system roots (missing intermediate? or a private CA: give it with --ca-file)`},
		{"a name mismatch", []*x509.Certificate{leaf2}, "mail.test", fromFile(root),
			`certificate "mx.test" is not valid for mail.test (valid for mx.test): check the name, or give the one the server should be known by with --sni-name or --verify-name`},
	}
	for _, tc := range cases {
		probs := Verify(tc.certs, tc.host, tc.roots, time.Now())
		if len(probs) != 1 || probs[0].Text != tc.want {
			var got []string
			for _, p := range probs {
				got = append(got, p.Text)
			}
			t.Errorf("%s: %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestVerifyNoCommonMoment: a leaf that expired before its root began
// leaves no moment at which x509 could verify the path; trust is judged
// all the same, link by link, and never left out.
func TestVerifyNoCommonMoment(t *testing.T) {
	now := time.Now()
	root, rootKey := mustCertAt(t, "Young Root", nil, nil, true, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	leaf, _ := mustCertAt(t, "mx.test", root, rootKey, false, now.Add(-72*time.Hour), now.Add(-48*time.Hour))
	other, otherKey := mustCertAt(t, "Young Root", nil, nil, true, now.Add(-time.Hour), now.AddDate(1, 0, 0)) // same name, other key
	forged, _ := mustCertAt(t, "mx.test", other, otherKey, false, now.Add(-72*time.Hour), now.Add(-48*time.Hour))
	pool := func(cs ...*x509.Certificate) Roots {
		p := x509.NewCertPool()
		for _, c := range cs {
			p.AddCert(c)
		}
		return Roots{Pool: p, Certs: cs, Label: "--ca-file ca.pem"}
	}
	expired := `certificate "mx.test" expired on ` + Date(leaf.NotAfter)
	cases := []struct {
		name  string
		certs []*x509.Certificate
		roots Roots
		want  []string
	}{
		{"root not trusted", []*x509.Certificate{leaf, root}, Roots{Pool: x509.NewCertPool(), Label: "the system roots"},
			[]string{expired, `root "Young Root" sent by the server is not trusted by the system roots; if it is a private CA: give it with --ca-file`}},
		{"root in --ca-file", []*x509.Certificate{leaf, root}, pool(root), []string{expired}},
		{"root in --ca-file, not sent", []*x509.Certificate{leaf}, pool(root), []string{expired}},
		{"another root of the same name in --ca-file", []*x509.Certificate{leaf, other}, pool(other),
			[]string{expired, `certificate "mx.test" is not validly signed by "Young Root", sent as its issuer: x509: ECDSA verification failure`}},
		{"a leaf the sent root did not sign", []*x509.Certificate{forged, root}, pool(root),
			[]string{`certificate "mx.test" expired on ` + Date(forged.NotAfter), `certificate "mx.test" is not validly signed by "Young Root", sent as its issuer: x509: ECDSA verification failure`}},
	}
	for _, tc := range cases {
		var got []string
		for _, p := range Verify(tc.certs, "mx.test", tc.roots, now) {
			got = append(got, p.Text)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
