// Package tlsaudit gathers facts about a TLS session and the certificate
// chain a server sent: per-element validity and days left, names, key type
// and size, signature algorithm, lifetime, chain order, trust, and which
// protocol versions a server accepts. It never decides a monitoring state.
package tlsaudit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"strings"
	"time"
)

// Cert is what we know about one certificate the server sent.
type Cert struct {
	Index      int // position in the sent chain, 0 = leaf
	Name       string
	IssuerName string
	NotBefore  time.Time
	NotAfter   time.Time
	DaysLeft   int           // whole days until NotAfter, rounded down (negative once expired)
	Lifetime   time.Duration // NotAfter - NotBefore
	KeyType    string        // "RSA", "ECDSA", "Ed25519" or "unknown"
	KeyBits    int           // RSA modulus or curve size; 0 when unknown
	SigAlg     x509.SignatureAlgorithm
	SelfSigned bool // subject and issuer are the same name
	IsCA       bool
	DNSNames   []string
	IPs        []string
	X509       *x509.Certificate
}

// Name returns the certificate's subject common name, or the whole subject
// when it has none.
func Name(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	if s := c.Subject.String(); s != "" {
		return s
	}
	return "(empty subject)"
}

func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	return c.Issuer.String()
}

// Describe collects the facts of one certificate at time now.
func Describe(c *x509.Certificate, index int, now time.Time) Cert {
	d := Cert{
		Index:      index,
		Name:       Name(c),
		IssuerName: issuerName(c),
		NotBefore:  c.NotBefore,
		NotAfter:   c.NotAfter,
		DaysLeft:   DaysLeft(c.NotAfter, now),
		Lifetime:   c.NotAfter.Sub(c.NotBefore),
		SigAlg:     c.SignatureAlgorithm,
		SelfSigned: string(c.RawIssuer) == string(c.RawSubject),
		IsCA:       c.IsCA,
		DNSNames:   c.DNSNames,
		X509:       c,
	}
	for _, ip := range c.IPAddresses {
		d.IPs = append(d.IPs, ip.String())
	}
	d.KeyType, d.KeyBits = keyInfo(c.PublicKey)
	return d
}

// DaysLeft is the number of whole days from now until t, rounded down.
func DaysLeft(t, now time.Time) int {
	return int(math.Floor(t.Sub(now).Hours() / 24))
}

func keyInfo(pub any) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return "unknown", 0
}

// Chain describes every certificate the server sent, in the order sent.
func Chain(certs []*x509.Certificate, now time.Time) []Cert {
	out := make([]Cert, len(certs))
	for i, c := range certs {
		out[i] = Describe(c, i, now)
	}
	return out
}

// Hash names the digest of a signature algorithm: "MD5", "SHA-1", "SHA-256", ...
func Hash(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.MD2WithRSA:
		return "MD2"
	case x509.MD5WithRSA:
		return "MD5"
	case x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return "SHA-1"
	case x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256, x509.DSAWithSHA256:
		return "SHA-256"
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		return "SHA-384"
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		return "SHA-512"
	case x509.PureEd25519:
		return "Ed25519"
	}
	return "unknown"
}

// weak reports whether Go refuses to verify signatures of this algorithm.
func weak(a x509.SignatureAlgorithm) bool {
	switch Hash(a) {
	case "MD2", "MD5", "SHA-1":
		return true
	}
	return false
}

// Earliest returns the element that expires first (the first such one on a tie).
func Earliest(chain []Cert) (Cert, bool) {
	if len(chain) == 0 {
		return Cert{}, false
	}
	e := chain[0]
	for _, c := range chain[1:] {
		if c.NotAfter.Before(e.NotAfter) {
			e = c
		}
	}
	return e, true
}

// Ordered reports whether every certificate is issued by the one sent after
// it (RFC 5246 §7.4.2 order). It returns the index of the first element
// whose successor is not its issuer, or -1.
func Ordered(certs []*x509.Certificate) int {
	for i := 0; i+1 < len(certs); i++ {
		if string(certs[i].RawIssuer) != string(certs[i+1].RawSubject) {
			return i
		}
	}
	return -1
}

// Session is what a handshake established.
type Session struct {
	Version    uint16
	Cipher     uint16
	ServerName string // SNI sent
	OCSPStaple []byte
	Chain      []Cert
}

// FromState collects the facts of a completed handshake.
func FromState(cs *tls.ConnectionState, now time.Time) Session {
	return Session{
		Version:    cs.Version,
		Cipher:     cs.CipherSuite,
		ServerName: cs.ServerName,
		OCSPStaple: cs.OCSPResponse,
		Chain:      Chain(cs.PeerCertificates, now),
	}
}

// VersionName is "TLSv1.3" style, as Postfix and OpenSSL log it.
func VersionName(v uint16) string { return strings.Replace(tls.VersionName(v), "TLS ", "TLSv", 1) }

// ParseVersion reads "1.2", "TLSv1.2", "TLS1.2" or "tls 1.2".
func ParseVersion(s string) (uint16, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(t, "tls"), "v"), " ")
	switch t {
	case "1.0", "1":
		return tls.VersionTLS10, nil
	case "1.1":
		return tls.VersionTLS11, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q (want 1.0, 1.1, 1.2 or 1.3)", s)
}

// Versions are the versions a scan tries, oldest first.
var Versions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// ScanResult is the outcome of one handshake limited to one version.
type ScanResult struct {
	Version  uint16
	Accepted bool
	Cipher   uint16 // negotiated when accepted
	Err      error  // why it was not accepted
	// Duration is the whole attempt, connect to handshake (or failure).
	Duration time.Duration
	// Inconclusive: the attempt failed for a reason other than the
	// server refusing the version (timeout, connection refused, ...).
	Inconclusive bool
	// Negotiated: the server chose the version and sent its certificate,
	// then the handshake failed (an alert such as internal_error): the
	// version is not refused, the server's TLS setup is broken.
	Negotiated bool
}
