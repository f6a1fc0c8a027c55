// Package smtptest provides loopback-only SMTP servers, a scripted fault
// server and throwaway certificate authorities for testing SMTP clients.
//
// It is imported by tests and by the contrib/lab demo binary, so it must not
// import "testing"; the Must* helpers take the small TB interface instead.
package smtptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// TB is the subset of testing.TB used by the Must* helpers.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// CA is a certificate authority usable for issuing test certificates.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte

	parent *CA      // nil for a root
	chain  [][]byte // DER of this CA and its ancestors, excluding the root
}

// NewCA returns a self-signed ECDSA P-256 root valid from now-1h to now+10y.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return newRoot(commonName, key)
}

// NewRSACA returns a self-signed RSA root. An RSA CA is needed to issue
// SHA1WithRSA-signed leaves, since the signature algorithm follows the
// issuer's key type.
func NewRSACA(commonName string, bits int) (*CA, error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	return newRoot(commonName, key)
}

// MustNewCA is NewCA that fails tb on error.
func MustNewCA(tb TB, commonName string) *CA {
	tb.Helper()
	ca, err := NewCA(commonName)
	if err != nil {
		tb.Fatalf("smtptest: NewCA: %v", err)
	}
	return ca
}

func newRoot(commonName string, key crypto.Signer) (*CA, error) {
	now := time.Now()
	tmpl := caTemplate(commonName, now.Add(-time.Hour), now.AddDate(10, 0, 0))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("smtptest: create root %q: %w", commonName, err)
	}
	return newCA(der, key, nil)
}

// NewIntermediate returns a CA signed by ca. Zero times default to now-1h and
// now+5y; explicit ones allow expired or not-yet-valid intermediates.
func (ca *CA) NewIntermediate(commonName string, notBefore, notAfter time.Time) (*CA, error) {
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = time.Now().AddDate(5, 0, 0)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, caTemplate(commonName, notBefore, notAfter), ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("smtptest: create intermediate %q: %w", commonName, err)
	}
	return newCA(der, key, ca)
}

func newCA(der []byte, key crypto.Signer, parent *CA) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: cert, Key: key, CertPEM: pemCert(der), parent: parent}
	if parent != nil {
		ca.chain = append([][]byte{der}, parent.chain...)
	}
	return ca, nil
}

func caTemplate(cn string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"smtptest"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

// LeafOptions describes a server certificate.
type LeafOptions struct {
	DNSNames   []string
	IPs        []net.IP
	CommonName string // "" → first DNS name, else "smtptest leaf"

	NotBefore, NotAfter time.Time // zero → now-1h .. now+90d

	// RSABits selects an RSA key of that size (1024 is allowed, for weak-key
	// tests); 0 selects ECDSA P-256.
	RSABits int

	// SignatureAlgorithm is passed to x509.CreateCertificate; 0 lets Go pick.
	// It must match the issuer's key type, so SHA1WithRSA needs an RSA CA
	// (NewRSACA) or an RSA self-signed leaf. Go signs SHA-1 certificates but
	// refuses to verify them: CheckSignatureFrom returns
	// x509.InsecureAlgorithmError, while Certificate.Verify and a TLS
	// handshake report x509.UnknownAuthorityError mentioning
	// "insecure algorithm SHA1-RSA".
	SignatureAlgorithm x509.SignatureAlgorithm
}

// Issue returns a leaf signed by ca. The returned chain is the leaf followed
// by every intermediate up to (excluding) the root; Leaf is populated.
func (ca *CA) Issue(o LeafOptions) (tls.Certificate, error) {
	return issue(o, ca)
}

// MustIssue is Issue that fails tb on error.
func (ca *CA) MustIssue(tb TB, o LeafOptions) tls.Certificate {
	tb.Helper()
	c, err := ca.Issue(o)
	if err != nil {
		tb.Fatalf("smtptest: Issue: %v", err)
	}
	return c
}

// SelfSigned returns a self-signed (non-CA) leaf.
func SelfSigned(o LeafOptions) (tls.Certificate, error) {
	return issue(o, nil)
}

func issue(o LeafOptions, ca *CA) (tls.Certificate, error) {
	var key crypto.Signer
	var err error
	if o.RSABits > 0 {
		key, err = rsa.GenerateKey(rand.Reader, o.RSABits)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("smtptest: leaf key: %w", err)
	}

	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: o.CommonName},
		DNSNames:              o.DNSNames,
		IPAddresses:           o.IPs,
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SignatureAlgorithm:    o.SignatureAlgorithm,
	}
	if tmpl.Subject.CommonName == "" {
		tmpl.Subject.CommonName = "smtptest leaf"
		if len(o.DNSNames) > 0 {
			tmpl.Subject.CommonName = o.DNSNames[0]
		}
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.AddDate(0, 0, 90)
	}
	if _, ok := key.(*rsa.PrivateKey); ok {
		// TLS 1.2 RSA key exchange needs it; harmless otherwise.
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}

	parent, signer := tmpl, key
	var chain [][]byte
	if ca != nil {
		parent, signer, chain = ca.Cert, ca.Key, ca.chain
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("smtptest: create leaf: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{
		Certificate: append([][]byte{der}, chain...),
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// Root returns the self-signed root of ca's hierarchy (ca itself for a root).
func (ca *CA) Root() *CA {
	for ca.parent != nil {
		ca = ca.parent
	}
	return ca
}

// Pool returns a pool trusting the root of ca's hierarchy, so that
// verification through an intermediate exercises the served chain.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Root().Cert)
	return p
}

// WriteCAFile writes the PEM of the root of ca's hierarchy to path.
func (ca *CA) WriteCAFile(path string) error {
	if path == "" {
		return errors.New("smtptest: empty CA file path")
	}
	return os.WriteFile(path, ca.Root().CertPEM, 0o644)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func serial() *big.Int {
	// 127 random bits: positive and within RFC 5280's 20-octet limit.
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+).
		return big.NewInt(time.Now().UnixNano())
	}
	return n.Add(n, big.NewInt(1))
}
