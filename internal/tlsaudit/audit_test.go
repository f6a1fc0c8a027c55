package tlsaudit

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func parse(t *testing.T, c tls.Certificate) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, der := range c.Certificate {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

func TestVerifyKinds(t *testing.T) {
	now := time.Now()
	root := smtptest.MustNewCA(t, "Root")
	inter, err := root.NewIntermediate("Inter", now.Add(-48*time.Hour), now.Add(-30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	roots := Roots{Pool: root.Pool(), Certs: []*x509.Certificate{root.Cert}, Label: "test roots"}
	leaf := parse(t, inter.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.test"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: now.Add(-48 * time.Hour)}))

	probs := Verify(leaf, "mx.test", roots, now)
	if len(probs) != 1 || probs[0].Kind != Expired || probs[0].Cert.Name != "Inter" {
		t.Fatalf("expired intermediate: %+v", probs)
	}
	if probs := Verify(leaf, "other.test", roots, now.Add(-40*time.Minute)); len(probs) != 1 || probs[0].Kind != NameMismatch {
		t.Fatalf("name mismatch: %+v", probs)
	}
	if probs := Verify(leaf, "127.0.0.1", roots, now.Add(-40*time.Minute)); len(probs) != 0 {
		t.Fatalf("IP SAN: %+v", probs)
	}
	if probs := Verify(leaf[:1], "mx.test", roots, now.Add(-40*time.Minute)); len(probs) != 1 || probs[0].Kind != UnknownIssuer {
		t.Fatalf("missing intermediate: %+v", probs)
	}
	if probs := Verify(nil, "mx.test", roots, now); len(probs) != 1 || probs[0].Kind != NoCertificate {
		t.Fatalf("no certificate: %+v", probs)
	}
}

func TestFacts(t *testing.T) {
	now := time.Now()
	ca, err := smtptest.NewRSACA("RSA Root", 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.test"}, RSABits: 1024,
		SignatureAlgorithm: x509.SHA1WithRSA, NotAfter: now.Add(10*24*time.Hour + time.Minute)}))
	d := Describe(c[0], 0, now)
	if d.KeyType != "RSA" || d.KeyBits != 1024 || Hash(d.SigAlg) != "SHA-1" || d.DaysLeft != 10 || d.Name != "mx.test" || d.IssuerName != "RSA Root" {
		t.Errorf("facts: %+v", d)
	}
	roots := Roots{Pool: ca.Pool(), Certs: []*x509.Certificate{ca.Cert}, Label: "test roots"}
	if probs := Verify(c, "mx.test", roots, now); len(probs) != 0 {
		t.Errorf("SHA-1 leaf under a known RSA root must verify by hand: %+v", probs)
	}
	if DaysLeft(now.Add(-time.Minute), now) != -1 {
		t.Error("a just-expired certificate has -1 days left")
	}
	for s, v := range map[string]uint16{"1.0": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "tls1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13} {
		if got, err := ParseVersion(s); err != nil || got != v {
			t.Errorf("ParseVersion(%q) = %v, %v", s, got, err)
		}
	}
}

// TestExpiredBeforeRoot: a leaf that expired before its root was issued is
// reported as expired only, not also as untrusted at the moment it was valid.
func TestExpiredBeforeRoot(t *testing.T) {
	now := time.Now()
	root := smtptest.MustNewCA(t, "Young Root")
	leaf := parse(t, root.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.test"}, NotBefore: now.Add(-72 * time.Hour), NotAfter: now.Add(-48 * time.Hour)}))
	roots := Roots{Pool: root.Pool(), Certs: []*x509.Certificate{root.Cert}, Label: "test roots"}
	if probs := Verify(leaf, "mx.test", roots, now); len(probs) != 1 || probs[0].Kind != Expired {
		t.Fatalf("want one Expired problem: %+v", probs)
	}
}

func TestDANEMatching(t *testing.T) {
	root := smtptest.MustNewCA(t, "Root")
	inter, err := root.NewIntermediate("Inter", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	certs := parse(t, inter.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.test"}}))
	certs = append(certs, root.Cert)
	chain := Chain(certs, time.Now())
	spki := sha256.Sum256(certs[0].RawSubjectPublicKeyInfo)
	rootHash := sha512.Sum512(root.Cert.Raw)
	recs := []TLSA{
		{Usage: 3, Selector: 1, MatchingType: 1, Data: spki[:]},
		{Usage: 2, Selector: 0, MatchingType: 2, Data: rootHash[:]},
		{Usage: 1, Selector: 1, MatchingType: 1, Data: spki[:]},
		{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 32)},
		{Usage: 3, Selector: 2, MatchingType: 1, Data: spki[:]},
		{Usage: 3, Short: true, Data: []byte{3, 1}}, // usage 3 as if read from the cut data: still unusable
	}
	got := MatchDANE(recs, certs, chain)
	want := []struct {
		matched, usable bool
		idx             int
	}{{true, true, 0}, {true, true, 2}, {false, false, -1}, {false, true, -1}, {false, false, -1}, {false, false, -1}}
	for i, w := range want {
		g := got[i]
		if g.Matched != w.matched || g.Usable != w.usable || (w.idx >= 0 && g.Cert.Index != w.idx) {
			t.Errorf("record %s: %+v", recs[i], g)
		}
	}
	if short := got[5]; short.Record.String() != `\# 2 0301` || short.Unusable != "its data is cut short of the usage, selector and matching type (RFC 6698 §2.1)" {
		t.Errorf("short record: %s, %q", short.Record, short.Unusable)
	}
	// A DANE-TA match on a certificate the leaf does not chain to does not count.
	stray := smtptest.MustNewCA(t, "Stray")
	h := sha256.Sum256(stray.Cert.Raw)
	m := MatchDANE([]TLSA{{Usage: 2, Selector: 0, MatchingType: 1, Data: h[:]}}, append(certs, stray.Cert), Chain(append(certs, stray.Cert), time.Now()))
	if m[0].Matched || m[0].Problem == "" {
		t.Errorf("stray TA: %+v", m[0])
	}
}
