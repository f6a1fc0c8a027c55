package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// HandshakeOnly runs t up to its TLS handshake: implicit TLS is judged right
// after the handshake and the banner (no EHLO), STARTTLS needs the server
// to offer it. QUIT is not waited for: nothing after TLS is the caller's
// business, and the caller judges the chain itself.
func HandshakeOnly(ctx context.Context, t Target, start time.Time) Outcome {
	return Run(ctx, Plan{Target: t, Start: start, BannerOnly: t.TLS == TLSImplicit, RequireTLS: true, NoWaitQuit: true, OwnChainCheck: true})
}

// TLSFailure is the failure that ended a HandshakeOnly session before TLS
// was up: nil when there was none or when only the EHLO inside TLS failed,
// which leaves the handshake to judge.
func TLSFailure(e *Error) *Error {
	if e != nil && e.Phase == PhaseEHLOTLS {
		return nil
	}
	return e
}

// AllSuites is every suite crypto/tls implements, insecure ones included:
// a version scan asks "does the server speak this version at all", while
// ordinary sessions keep Go's safe defaults.
var AllSuites = func() []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	return ids
}()

// ScanVersion tries one TLS version alone against t, with suites (nil:
// AllSuites): the version scan of check_smtp_tls and check_smtp_security.
func ScanVersion(ctx context.Context, t Target, v uint16, suites []uint16) tlsaudit.ScanResult {
	t.MinVersion, t.MaxVersion = v, v
	t.CipherSuites = suites
	if suites == nil {
		t.CipherSuites = AllSuites
	}
	began := time.Now()
	out := HandshakeOnly(ctx, t, time.Time{})
	res := tlsaudit.ScanResult{Version: v, Duration: time.Since(began)}
	switch e := TLSFailure(out.Err); {
	case e == nil && out.S.TLS != nil:
		res.Accepted, res.Cipher = true, out.S.TLS.CipherSuite
	case e == nil:
		res.Err, res.Inconclusive = errors.New("no TLS session"), true
	default:
		res.Err, res.Negotiated = e, out.S.CertVersion == v
		// A refusal is an alert or a dropped handshake; anything
		// else (timeout, refused connection, 4xx) says nothing about
		// the version.
		inTLS := e.Phase == PhaseTLS || e.Phase == PhaseStartTLS
		res.Inconclusive = !inTLS || !(e.Kind == KindTLS || e.Kind == KindClosed || e.Kind == KindReset)
	}
	return res
}
