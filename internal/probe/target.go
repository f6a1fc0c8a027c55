package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
)

// TLSMode says how the session gets encrypted.
type TLSMode int

// TLS modes.
const (
	TLSNone     TLSMode = iota
	TLSStartTLS         // STARTTLS after EHLO (25, 587)
	TLSImplicit         // TLS from the first byte (465)
)

// Target is what to connect to and how.
type Target struct {
	Host    string     // name or IP literal
	Port    int        // TCP port
	Addr    netip.Addr // if valid, dial this address and skip resolution (all-MX mode)
	Network string     // "ip", "ip4" or "ip6": the address family allowed

	TLS        TLSMode
	ServerName string // SNI; "" → Host when Host is a name
	VerifyName string // name checked against the certificate; "" → ServerName or Host
	Roots      *Roots // nil → the system roots
	Insecure   bool   // skip certificate verification entirely
	MinVersion uint16 // 0 → Go's default minimum
	MaxVersion uint16
	// CipherSuites overrides Go's default TLS 1.0–1.2 suites; a version scan
	// sets it to offer the legacy suites (RSA key exchange, 3DES) that Go no
	// longer offers by default, so that servers speaking only those are seen.
	CipherSuites []uint16

	HeloName string
	LMTP     bool // LHLO instead of EHLO
	Proxy    int  // PROXY protocol version to send first: 0 (none), 1 or 2

	Resolver *net.Resolver // nil → net.DefaultResolver
}

// Roots is a bundle of trusted CAs (--ca-file). A nil *Roots means the
// system's roots.
type Roots struct {
	done chan struct{}
	pool *x509.CertPool
	err  error
}

// LoadRoots reads a PEM bundle of trusted CAs. The file (a regular file of
// at most boundedfile.MaxCABundle) is read and its PEM blocks are decoded at
// once, so that a missing, empty or refused file is a usage error before
// anything is sent; the certificates are parsed in the background while
// the session connects (cold, x509 parsing costs a plugin about 0.35 ms),
// and Pool waits for them. ctx names the read for the watchdog.
func LoadRoots(ctx context.Context, path string) (*Roots, error) {
	data, err := boundedfile.Read(ctx, "--ca-file", path, boundedfile.MaxCABundle, nil)
	if err != nil {
		return nil, err
	}
	ders := decodeBundle(data)
	if len(ders) == 0 {
		return nil, fmt.Errorf("no PEM certificates in %s", path)
	}
	r := &Roots{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.pool = x509.NewCertPool()
		var bad error
		good := 0
		for _, der := range ders {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				bad = err
				continue
			}
			r.pool.AddCert(c)
			good++
		}
		// As x509.CertPool.AppendCertsFromPEM: one good certificate will do.
		if good == 0 {
			r.err = fmt.Errorf("--ca-file %s: no certificate could be parsed: %v", path, bad)
		}
	}()
	return r, nil
}

// Pool waits for the bundle's certificates: nil for the system roots.
func (r *Roots) Pool() (*x509.CertPool, error) {
	if r == nil {
		return nil, nil
	}
	<-r.done
	return r.pool, r.err
}

// verify checks a server's chain against the target's roots and name.
func (t Target) verify(certs []*x509.Certificate) error {
	pool, err := t.Roots.Pool()
	if err != nil {
		return err
	}
	return VerifyChain(certs, t.CheckedName(), pool)
}

func (t Target) serverName() string {
	if t.ServerName != "" {
		return t.ServerName
	}
	if _, err := netip.ParseAddr(t.Host); err == nil {
		return "" // no SNI for IP literals (RFC 6066 §3)
	}
	return t.Host
}

// CheckedName is the name the certificate is verified for.
func (t Target) CheckedName() string {
	switch {
	case t.VerifyName != "":
		return t.VerifyName
	case t.ServerName != "":
		return t.ServerName
	}
	return t.Host
}

// tlsConfig verifies the peer itself rather than letting the handshake fail:
// a check must be able to report an untrusted certificate and go on, and the
// caller decides whether that matters. The verdict lands in *verifyErr.
func (t Target) tlsConfig(verifyErr *error) *tls.Config {
	return &tls.Config{
		ServerName:             t.serverName(),
		InsecureSkipVerify:     true, // verified below, by VerifyConnection
		SessionTicketsDisabled: true,
		MinVersion:             t.MinVersion,
		MaxVersion:             t.MaxVersion,
		CipherSuites:           t.CipherSuites,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if !t.Insecure {
				*verifyErr = t.verify(cs.PeerCertificates)
			}
			return nil
		},
	}
}

// VerifyChain checks the certificates a server sent against roots (nil → the
// system's) and name, using the intermediates it sent.
func VerifyChain(certs []*x509.Certificate, name string, roots *x509.CertPool) error {
	if len(certs) == 0 {
		return fmt.Errorf("server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if roots == nil {
		var err error
		if roots, err = SystemRootsFor(certs); err != nil {
			return err
		}
	}
	_, err := certs[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
	return err
}
