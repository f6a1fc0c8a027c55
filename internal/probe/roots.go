package probe

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
)

// Parsing the whole system trust store costs a Go process about 25 ms and
// 4 MB (some 150 certificates), several times what the rest of a check
// costs. A chain only ever needs the roots named by the certificates the
// server sent, so we scan the bundle's raw DER for matching subjects and
// parse just those.

// bundleFiles are where Linux distributions keep the PEM bundle (the list
// crypto/x509 uses).
var bundleFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// bundleDER reads and decodes the system bundle once: the costly part of
// finding roots, which PreloadRoots moves off the critical path.
var bundleDER = sync.OnceValues(func() ([][]byte, error) {
	data, err := readBundle()
	return decodeBundle(data), err
})

// decodeBundle returns the DER of each certificate in a PEM bundle: the
// system's, or a --ca-file (LoadRoots).
func decodeBundle(data []byte) [][]byte {
	var ders [][]byte
	for len(data) > 0 {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			break
		}
		// As x509.CertPool.AppendCertsFromPEM: headered blocks are skipped.
		if block.Type == "CERTIFICATE" && len(block.Headers) == 0 {
			ders = append(ders, block.Bytes)
		}
	}
	return ders
}

// PreloadRoots starts decoding the system bundle in the background, so that
// it is ready by the time a handshake needs it (the network wait of connect,
// banner and EHLO pays for it).
func PreloadRoots() { go func() { _, _ = bundleDER() }() }

// SystemRootsFor returns the system roots whose subject is the subject or
// issuer of one of certs. Without a bundle file it falls back to the full
// system pool (crypto/x509 then looks in the certificate directories).
func SystemRootsFor(certs []*x509.Certificate) (*x509.CertPool, error) {
	ders, err := bundleDER()
	if errors.Is(err, errNoBundle) {
		return x509.SystemCertPool()
	}
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, der := range ders {
		if !namedBy(der, certs) {
			continue
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

var errNoBundle = errors.New("no CA bundle")

// readBundle reads the first bundle file that we may read. One refused by
// boundedfile is an error, not a reason to fall back to crypto/x509: that
// would read a FIFO or /dev/zero as $SSL_CERT_FILE without a bound.
func readBundle() ([]byte, error) {
	files, what := bundleFiles, "the system CA bundle"
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files, what = []string{f}, "$SSL_CERT_FILE"
	}
	for _, f := range files {
		data, err := boundedfile.Read(what, f, boundedfile.MaxCABundle, nil)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s %w", what, err)
		}
		return data, nil
	}
	return nil, errNoBundle
}

func namedBy(der []byte, certs []*x509.Certificate) bool {
	subj, ok := rawSubject(der)
	if !ok {
		return true // let the real parser decide
	}
	for _, c := range certs {
		if bytes.Equal(subj, c.RawIssuer) || bytes.Equal(subj, c.RawSubject) {
			return true
		}
	}
	return false
}

// rawSubject walks Certificate → TBSCertificate → [version] serial sigAlg
// issuer validity subject, returning the subject's full DER.
func rawSubject(der []byte) ([]byte, bool) {
	cert, _, ok := derElem(der)
	if !ok {
		return nil, false
	}
	tbs, _, ok := derElem(derContent(cert))
	if !ok {
		return nil, false
	}
	rest := derContent(tbs)
	if len(rest) > 0 && rest[0] == 0xa0 { // explicit [0] version
		if _, rest, ok = derElem(rest); !ok {
			return nil, false
		}
	}
	for range 4 { // serial, signature algorithm, issuer, validity
		if _, rest, ok = derElem(rest); !ok {
			return nil, false
		}
	}
	subj, _, ok := derElem(rest)
	return subj, ok
}

// derElem splits the first DER element (tag, length, content) off b.
func derElem(b []byte) (elem, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n, hdr := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return nil, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if len(b) < hdr+n {
		return nil, nil, false
	}
	return b[:hdr+n], b[hdr+n:], true
}

// derContent strips an element's tag and length.
func derContent(elem []byte) []byte {
	if elem[1]&0x80 == 0 {
		return elem[2:]
	}
	return elem[2+int(elem[1]&0x7f):]
}
