package tlsaudit

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ProblemKind classifies why a chain is not acceptable.
type ProblemKind int

// Problem kinds.
const (
	Expired       ProblemKind = iota + 1 // an element's NotAfter has passed
	NotYetValid                          // an element's NotBefore is in the future
	SelfSigned                           // the leaf is self-signed and not trusted
	UnknownIssuer                        // the chain does not lead to a trusted root
	NameMismatch                         // the leaf is not valid for the name
	WeakSignature                        // a signature Go cannot check (MD5, or SHA-1 without the issuer)
	Invalid                              // anything else x509 refuses (usage, constraints, ...)
	NoCertificate                        // the server sent none
)

// Problem is one reason the chain fails, naming the element concerned.
type Problem struct {
	Kind ProblemKind
	Cert *Cert // nil when no single element is concerned
	Text string
	Err  error
}

// Roots are the trust anchors: a pool, plus the certificates themselves
// when known (--ca-file, loaded by probe.LoadRoots), needed to check SHA-1
// signatures by hand.
type Roots struct {
	Pool  *x509.CertPool
	Certs []*x509.Certificate
	Label string // how to name them in messages: "system roots", "--ca-file x.pem"
}

// Verify checks the sent chain at time now: each element's validity
// period, the leaf's name, and the path to a trusted root. Trust is judged
// apart from time (at a moment when every sent element was valid, or link
// by link when there is none), so an expired element is reported once, as
// expired, and not again as untrusted; trust is never left unjudged.
// SHA-1 signed elements are checked by hand, since Go refuses them: the
// caller judges the algorithm itself. name may be a DNS name or an IP.
func Verify(certs []*x509.Certificate, name string, roots Roots, now time.Time) []Problem {
	if len(certs) == 0 {
		return []Problem{{Kind: NoCertificate, Text: "the server sent no certificate"}}
	}
	chain := Chain(certs, now)
	var probs []Problem
	for i := range chain {
		c := &chain[i]
		switch {
		case now.After(c.NotAfter):
			probs = append(probs, Problem{Kind: Expired, Cert: c,
				Text: fmt.Sprintf("%s %q expired on %s", role(c), c.Name, Date(c.NotAfter))})
		case now.Before(c.NotBefore):
			probs = append(probs, Problem{Kind: NotYetValid, Cert: c,
				Text: fmt.Sprintf("%s %q is not valid before %s", role(c), c.Name, Date(c.NotBefore))})
		}
	}
	if name != "" {
		if err := certs[0].VerifyHostname(name); err != nil {
			probs = append(probs, Problem{Kind: NameMismatch, Cert: &chain[0], Err: err,
				Text: fmt.Sprintf("certificate %q is not valid for %s (%s): check the name, or give the one the server should be known by with --sni-name or --verify-name",
					chain[0].Name, name, validFor(&chain[0]))})
		}
	}
	at := now
	if len(probs) > 0 && probs[0].Kind != NameMismatch {
		var ok bool
		if at, ok = validMoment(certs, now); !ok {
			// No moment when all were valid (a leaf that expired before
			// its root began): x509 cannot verify the path at any time,
			// so trust is judged without it.
			if p := trustApart(certs, chain, roots, now); p != nil {
				probs = append(probs, *p)
			}
			return probs
		}
	}
	if p := trust(certs, chain, roots, at, !at.Equal(now)); p != nil {
		probs = append(probs, *p)
	}
	return probs
}

// role names a chain element for messages.
func role(c *Cert) string {
	if c.Index == 0 {
		return "certificate"
	}
	if c.SelfSigned {
		return "root"
	}
	return "intermediate"
}

// Role is "certificate" for the leaf, "intermediate" or "root" for the rest.
func Role(c *Cert) string { return role(c) }

// Date renders a time for status lines.
func Date(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }

func validFor(c *Cert) string {
	names := append(append([]string{}, c.DNSNames...), c.IPs...)
	if len(names) == 0 {
		return "it names no host in its SAN"
	}
	if len(names) > 4 {
		names = append(names[:4], fmt.Sprintf("and %d more", len(names)-4))
	}
	return "valid for " + strings.Join(names, ", ")
}

// privateCA says what to do when the system roots do not trust a chain:
// a private CA is given with --ca-file.
// Only --ca-file roots carry their certificates.
func privateCA(roots Roots, prefix string) string {
	if roots.Certs != nil {
		return ""
	}
	return prefix + "a private CA: give it with --ca-file"
}

// cannotSign finds the certificate in the roots that would have issued c
// but cannot sign: a CA file holding a certificate without the CA basic
// constraint, which crypto/x509 passes over as "parent certificate cannot
// sign" and then calls the issuer unknown.
func cannotSign(c *x509.Certificate, roots Roots) *x509.Certificate {
	for _, r := range roots.Certs {
		if string(r.RawSubject) == string(c.RawIssuer) && !r.IsCA && r.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil {
			return r
		}
	}
	return nil
}

// validMoment is the moment closest to now at which every sent element
// was valid, if there is one; close to now so the roots are valid too.
func validMoment(certs []*x509.Certificate, now time.Time) (time.Time, bool) {
	from, to := certs[0].NotBefore, certs[0].NotAfter
	for _, c := range certs[1:] {
		if c.NotBefore.After(from) {
			from = c.NotBefore
		}
		if c.NotAfter.Before(to) {
			to = c.NotAfter
		}
	}
	if from.After(to) {
		return time.Time{}, false
	}
	switch {
	case now.Before(from):
		return from, true
	case now.After(to):
		return to, true
	}
	return now, true
}

// trust verifies the path at time at; shifted says at is not now but a
// moment when the sent elements were valid, which a root need not have been
// (a test CA younger than the expired leaf it signed): that root's validity
// is then no problem of the server's.
func trust(certs []*x509.Certificate, chain []Cert, roots Roots, at time.Time, shifted bool) *Problem {
	return trustProblem(verifyFrom(certs[0], certs, intermediates(certs), roots, at, 0), certs, chain, roots, shifted)
}

// trustApart judges trust where no moment saw every sent element valid:
// each link from the leaf up to the top of what was sent by its signature
// alone, and the top's own path to a trusted root at a moment when it was
// valid. Validity periods are Verify's to report.
func trustApart(certs []*x509.Certificate, chain []Cert, roots Roots, now time.Time) *Problem {
	path := chainPath(certs, chain)
	for i := 0; i+1 < len(path); i++ {
		c, parent := certs[path[i]], certs[path[i+1]]
		err := c.CheckSignatureFrom(parent)
		if weak(c.SignatureAlgorithm) { // refused by CheckSignatureFrom; its own finding
			err = parent.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
		}
		if err != nil {
			el := &chain[path[i]]
			return &Problem{Kind: Invalid, Cert: el, Err: err,
				Text: fmt.Sprintf("%s %q is not validly signed by %q, sent as its issuer: %v", role(el), el.Name, chain[path[i+1]].Name, err)}
		}
	}
	top := path[len(path)-1]
	at, _ := validMoment(certs[top:top+1], now)
	return trustProblem(verifyFrom(certs[top], certs, intermediates(certs), roots, at, min(top, 1)), certs, chain, roots, true)
}

// intermediates pools what the server sent after its leaf.
func intermediates(certs []*x509.Certificate) *x509.CertPool {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	return inter
}

// trustProblem words why the path does not verify (err), nil when it does.
func trustProblem(err error, certs []*x509.Certificate, chain []Cert, roots Roots, shifted bool) *Problem {
	if err == nil {
		return nil
	}
	leaf := &chain[0]
	var uae x509.UnknownAuthorityError
	var ciErr x509.CertificateInvalidError
	if shifted && errors.As(err, &ciErr) && ciErr.Reason == x509.Expired && !sent(certs, ciErr.Cert) {
		return nil
	}
	var weakErr x509.InsecureAlgorithmError
	switch {
	case errors.As(err, &weakErr):
		return &Problem{Kind: WeakSignature, Cert: leaf, Err: err,
			Text: fmt.Sprintf("the chain of %q cannot be verified: %v", leaf.Name, err)}
	case errors.As(err, &uae) && len(certs) == 1 && leaf.SelfSigned:
		return &Problem{Kind: SelfSigned, Cert: leaf, Err: err,
			Text: fmt.Sprintf("certificate %q is self-signed and not trusted by %s%s", leaf.Name, roots.Label, privateCA(roots, "; if it is "))}
	case errors.As(err, &uae):
		top := topOfChain(certs, chain)
		if top.SelfSigned {
			return &Problem{Kind: UnknownIssuer, Cert: top, Err: err,
				Text: fmt.Sprintf("root %q sent by the server is not trusted by %s%s", top.Name, roots.Label, privateCA(roots, "; if it is "))}
		}
		if ca := cannotSign(top.X509, roots); ca != nil {
			return &Problem{Kind: Invalid, Cert: top, Err: err,
				Text: fmt.Sprintf("%s %q is issued by %q, which is in %s but cannot sign (parent certificate cannot sign: it lacks basicConstraints CA:TRUE): give a CA certificate",
					role(top), top.Name, top.IssuerName, roots.Label)}
		}
		return &Problem{Kind: UnknownIssuer, Cert: top, Err: err,
			Text: fmt.Sprintf("%s %q is issued by %q, which the server did not send and which is not in %s (missing intermediate?%s)",
				role(top), top.Name, top.IssuerName, roots.Label, privateCA(roots, " or "))}
	case errors.As(err, &ciErr):
		return &Problem{Kind: Invalid, Cert: leaf, Err: err,
			Text: fmt.Sprintf("the chain of %q is invalid: %v", leaf.Name, err)}
	}
	return &Problem{Kind: Invalid, Cert: leaf, Err: err, Text: fmt.Sprintf("the chain of %q does not verify: %v", leaf.Name, err)}
}

func sent(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, s := range certs {
		if c != nil && s.Equal(c) {
			return true
		}
	}
	return false
}

// topOfChain follows issuers through the sent certificates, whatever their
// order, and returns the last one reached.
func topOfChain(certs []*x509.Certificate, chain []Cert) *Cert {
	path := chainPath(certs, chain)
	return &chain[path[len(path)-1]]
}

// chainPath is the indexes of the sent certificates from the leaf up,
// each followed by its issuer by name, whatever their order.
func chainPath(certs []*x509.Certificate, chain []Cert) []int {
	cur, path := 0, []int{0}
	for !chain[cur].SelfSigned {
		next := -1
		for j, c := range certs {
			if !slices.Contains(path, j) && string(c.RawSubject) == string(certs[cur].RawIssuer) {
				next = j
				break
			}
		}
		if next < 0 {
			break
		}
		path, cur = append(path, next), next
	}
	return path
}

// verifyFrom verifies c up to a root. Go refuses SHA-1 signatures outright,
// so a weakly signed element is checked here against an issuer found among
// the sent certificates or the known roots, and the walk goes on from there.
func verifyFrom(c *x509.Certificate, sent []*x509.Certificate, inter *x509.CertPool, roots Roots, at time.Time, depth int) error {
	if !weak(c.SignatureAlgorithm) {
		// Never a nil pool: crypto/x509 would then read the system's
		// roots itself, $SSL_CERT_FILE without a bound. Without roots,
		// nothing is trusted.
		pool := roots.Pool
		if pool == nil {
			pool = x509.NewCertPool()
		}
		_, err := c.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if err != nil && depth > 0 {
			// An issuer of a weakly signed element need not carry serverAuth.
			_, err = c.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: at,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		}
		return err
	}
	if depth > 8 {
		return x509.UnknownAuthorityError{Cert: c}
	}
	var sigErr error
	for _, r := range roots.Certs {
		if string(r.RawSubject) == string(c.RawIssuer) {
			if err := r.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err == nil {
				return nil
			} else {
				sigErr = err
			}
		}
	}
	for _, s := range sent {
		if s == c || string(s.RawSubject) != string(c.RawIssuer) {
			continue
		}
		if err := s.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
			sigErr = err
			continue
		}
		return verifyFrom(s, sent, inter, roots, at, depth+1)
	}
	if sigErr != nil {
		return sigErr
	}
	return x509.UnknownAuthorityError{Cert: c}
}
