package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
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

	Resolver HostResolver // nil → net.DefaultResolver
}

// HostResolver finds a host's addresses: a *net.Resolver, or one that asks
// the DNS alone (hostdns: --dns-server skips /etc/hosts).
type HostResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// verify checks a server's chain against the target's roots and name; ctx
// names a read of the system roots.
func (t Target) verify(ctx context.Context, certs []*x509.Certificate) error {
	pool, err := t.Roots.Pool()
	if err != nil {
		return err
	}
	return VerifyChain(ctx, certs, t.CheckedName(), pool)
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
func (t Target) tlsConfig(ctx context.Context, verifyErr *error) *tls.Config {
	return &tls.Config{
		ServerName:             t.serverName(),
		InsecureSkipVerify:     true, // verified below, by VerifyConnection
		SessionTicketsDisabled: true,
		MinVersion:             t.MinVersion,
		MaxVersion:             t.MaxVersion,
		CipherSuites:           t.CipherSuites,
		VerifyConnection: func(cs tls.ConnectionState) error {
			// A --ca-file certificate that does not parse is the command
			// line's fault, whatever is verified: it ends the handshake
			// before anything is sent inside it, as a usage error.
			if _, err := t.Roots.Pool(); err != nil {
				return &Error{Phase: t.handshakePhase(), Kind: KindUsage, Err: fmt.Errorf("%s: %w", t.Roots.what, err)}
			}
			if !t.Insecure {
				*verifyErr = t.verify(ctx, cs.PeerCertificates)
			}
			return nil
		},
	}
}

// handshakePhase is the phase the target's TLS handshake belongs to.
func (t Target) handshakePhase() Phase {
	if t.TLS == TLSImplicit {
		return PhaseTLS
	}
	return PhaseStartTLS
}

// VerifyChain checks the certificates a server sent against roots (nil → the
// system's) and name, using the intermediates it sent.
func VerifyChain(ctx context.Context, certs []*x509.Certificate, name string, roots *x509.CertPool) error {
	if len(certs) == 0 {
		return fmt.Errorf("server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if roots == nil {
		var err error
		if roots, err = SystemRootsFor(ctx, certs); err != nil {
			return &RootsError{Err: err}
		}
	}
	_, err := certs[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
	return err
}
