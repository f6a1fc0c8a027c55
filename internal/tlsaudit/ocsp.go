package tlsaudit

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPStatus is what a stapled OCSP response says about the leaf.
type OCSPStatus int

// OCSP statuses.
const (
	OCSPGood OCSPStatus = iota
	OCSPRevoked
	OCSPUnknown
)

func (s OCSPStatus) String() string {
	switch s {
	case OCSPGood:
		return "good"
	case OCSPRevoked:
		return "revoked"
	}
	return "unknown"
}

// OCSP is the content of a stapled OCSP response.
type OCSP struct {
	Status           OCSPStatus
	ThisUpdate       time.Time
	NextUpdate       time.Time // zero: the responder gives none
	ProducedAt       time.Time
	RevokedAt        time.Time
	RevocationReason int
	Stale            bool // NextUpdate has passed
	Verified         bool // the signature was checked against the leaf's issuer
}

// ParseStaple reads a stapled OCSP response for the leaf of certs. The
// signature is checked against the leaf's issuer, looked for among the sent
// certificates and then the extra ones (the trusted roots); without an
// issuer it is parsed unverified (Verified false).
func ParseStaple(staple []byte, certs []*x509.Certificate, extra []*x509.Certificate, now time.Time) (OCSP, error) {
	if len(certs) == 0 {
		return OCSP{}, fmt.Errorf("no certificate to match the response against")
	}
	leaf := certs[0]
	var issuer *x509.Certificate
	for _, c := range append(append([]*x509.Certificate{}, certs[1:]...), extra...) {
		if string(c.RawSubject) == string(leaf.RawIssuer) && leaf.CheckSignatureFrom(c) == nil {
			issuer = c
			break
		}
	}
	resp, err := ocsp.ParseResponseForCert(staple, leaf, issuer)
	var re ocsp.ResponseError
	switch {
	case errors.As(err, &re):
		return OCSP{}, fmt.Errorf("the responder answered %q instead of a status", re.Status.String())
	case err != nil && strings.Contains(err.Error(), "asn1:"):
		return OCSP{}, errors.New("it is not a DER-encoded OCSP response")
	case err != nil:
		return OCSP{}, err
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		return OCSP{}, fmt.Errorf("the response is for serial %x, not for the server's certificate (%x)", resp.SerialNumber, leaf.SerialNumber)
	}
	o := OCSP{
		ThisUpdate: resp.ThisUpdate, NextUpdate: resp.NextUpdate, ProducedAt: resp.ProducedAt,
		RevokedAt: resp.RevokedAt, RevocationReason: resp.RevocationReason, Verified: issuer != nil,
	}
	switch resp.Status {
	case ocsp.Good:
		o.Status = OCSPGood
	case ocsp.Revoked:
		o.Status = OCSPRevoked
	default:
		o.Status = OCSPUnknown
	}
	o.Stale = !o.NextUpdate.IsZero() && now.After(o.NextUpdate)
	return o, nil
}

// ReasonName names an RFC 5280 CRLReason.
func ReasonName(r int) string {
	names := map[int]string{
		ocsp.Unspecified: "unspecified", ocsp.KeyCompromise: "key compromise", ocsp.CACompromise: "CA compromise",
		ocsp.AffiliationChanged: "affiliation changed", ocsp.Superseded: "superseded",
		ocsp.CessationOfOperation: "cessation of operation", ocsp.CertificateHold: "certificate hold",
		ocsp.RemoveFromCRL: "remove from CRL", ocsp.PrivilegeWithdrawn: "privilege withdrawn",
		ocsp.AACompromise: "AA compromise",
	}
	if n, ok := names[r]; ok {
		return n
	}
	return fmt.Sprintf("reason %d", r)
}
