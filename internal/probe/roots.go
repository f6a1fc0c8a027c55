package probe

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
)

// Parsing the whole system trust store costs a Go process about 25 ms and
// 4 MB (some 150 certificates), several times what the rest of a check
// costs. A chain only ever needs the roots named by the certificates the
// server sent, so we scan the bundle's raw DER for matching subjects and
// parse just those.

// bundleFiles are where Linux distributions keep the PEM bundle, and
// certDirs where they keep certificates one per file: the lists crypto/x509
// uses.
var (
	bundleFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	}
	certDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// system caches the system roots, found but not decoded: reading them is
// what PreloadRoots moves off the critical path. They are read again when
// $SSL_CERT_FILE or $SSL_CERT_DIR changed, or after an error. mu is held
// during the read, so that a caller waits for a read in progress instead of
// starting another.
var system struct {
	mu       sync.Mutex
	env      string               // the variables the cached roots were read under
	roots    []rootPEM            // the bundle's, or the directories' when there is none
	fromDirs bool                 // roots are the directories': nothing to look up there
	looked   map[string][]rootPEM // by raw issuer: the directories' roots found by lookupRoots
}

// systemCache empties the cache if the variables changed; mu is held.
func systemCache() {
	if env := os.Getenv("SSL_CERT_FILE") + "\x00" + os.Getenv("SSL_CERT_DIR"); system.env != env {
		system.env, system.roots, system.fromDirs, system.looked = env, nil, false, nil
	}
}

// systemRoots returns every system root of the bundle, or of the
// certificate directories (fromDirs) when there is no bundle file, reading
// them under ctx (which names the read for the watchdog) unless they are
// cached.
func systemRoots(ctx context.Context) (roots []rootPEM, fromDirs bool, err error) {
	system.mu.Lock()
	defer system.mu.Unlock()
	systemCache()
	if system.roots == nil {
		if system.roots, system.fromDirs, err = readSystemRoots(ctx); err != nil {
			return nil, false, err
		}
	}
	return system.roots, system.fromDirs, nil
}

// rootPEM is one CERTIFICATE block of the system's roots, kept as PEM
// text beside its certificate's subject: a chain needs the one or two roots
// that issued it, and decoding all of Debian's 144 took 0.74 ms (warm),
// most of what STARTTLS added to check_smtp_conn beyond the floor's
// handshake. The subject is read from the block's first lines, in the
// background (PreloadRoots); der decodes the roots a chain names.
type rootPEM struct {
	block   []byte
	subject []byte // nil where the first lines do not hold it
}

var (
	beginCert = []byte("-----BEGIN CERTIFICATE-----")
	endCert   = []byte("-----END CERTIFICATE-----")
)

// splitRoots finds the CERTIFICATE blocks of a system bundle (a --ca-file
// is held to more: bundleCerts). What a block holds is left to der.
func splitRoots(data []byte) []rootPEM {
	var roots []rootPEM
	for {
		i := bytes.Index(data, beginCert)
		if i < 0 {
			return roots
		}
		data = data[i:]
		j := bytes.Index(data, endCert)
		if j < 0 {
			return roots
		}
		block := data[:j+len(endCert)]
		roots = append(roots, rootPEM{block, firstSubject(block)})
		data = data[j+len(endCert):]
	}
}

// subjectChars is how much base64 firstSubject decodes: 528 bytes of DER.
// The subject of every root Debian ships ends by byte 489 (half by 257).
const subjectChars = 704

// firstSubject reads the raw subject of a block's certificate from its
// first lines: nil where they do not hold it (a long issuer, PEM headers,
// bad base64), which leaves it to der and namedBy.
func firstSubject(block []byte) []byte {
	var b64 [subjectChars]byte
	n := 0
	for _, c := range block[len(beginCert) : len(block)-len(endCert)] {
		if n == len(b64) {
			break
		}
		switch c {
		case '\n', '\r', ' ', '\t':
		case ':':
			return nil // a header line: pem.Decode's to judge
		default:
			b64[n] = c
			n++
		}
	}
	var der [subjectChars / 4 * 3]byte
	m, err := base64.StdEncoding.Decode(der[:], b64[:n-n%4])
	if err != nil {
		return nil
	}
	if subj, ok := subjectOf(der[:m], true); ok {
		return bytes.Clone(subj)
	}
	return nil
}

// names reports whether the root is the subject or issuer of one of certs;
// known is false where its subject is not known before der.
func (r rootPEM) names(certs []*x509.Certificate) (yes, known bool) {
	return r.subject != nil && named(r.subject, certs), r.subject != nil
}

// der decodes the block: nil for one that does not decode or has PEM
// headers (skipped, as x509.CertPool.AppendCertsFromPEM skips them).
func (r rootPEM) der() []byte {
	block, _ := pem.Decode(r.block)
	if block == nil || block.Type != "CERTIFICATE" || len(block.Headers) > 0 {
		return nil
	}
	return block.Bytes
}

// Roots is a bundle of trusted CAs (--ca-file). A nil *Roots means the
// system's roots.
type Roots struct {
	what  string // the flag that named the bundle, for messages
	label string // what and the path: "--ca-file /etc/ssl/mx-ca.pem"
	done  chan struct{}
	pool  *x509.CertPool
	certs []*x509.Certificate
	err   error
}

// LoadRoots reads a PEM bundle of trusted CAs, given with the flag what.
// Every plugin accepts the same bundles: text between the blocks and blocks
// of other types (keys, CRLs, OpenSSL's TRUSTED CERTIFICATE) are skipped,
// but a block that cannot be decoded, or a CERTIFICATE block that holds no
// certificate, is an error naming its position, as is a bundle without
// certificates. The file (a regular file of at most
// boundedfile.MaxCABundle) is read and checked so far at once, a usage
// error before anything is sent; the certificates are parsed in the
// background while the session connects (cold, x509 parsing costs a plugin
// about 0.35 ms), and Pool waits for them. One that still fails to parse
// then ends the handshake (Target.tlsConfig). ctx names the read for the
// watchdog.
func LoadRoots(ctx context.Context, what, path string) (*Roots, error) {
	data, err := boundedfile.Read(ctx, what, path, boundedfile.MaxCABundle, nil)
	if err != nil {
		return nil, err
	}
	certs, err := bundleCerts(path, data)
	if err != nil {
		return nil, err
	}
	r := &Roots{what: what, label: what + " " + path, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		pool := x509.NewCertPool()
		for _, b := range certs {
			c, err := x509.ParseCertificate(b.der)
			if err != nil {
				r.err = fmt.Errorf("%s: certificate %d (line %d) does not parse: %v", path, b.n, b.line, err)
				return
			}
			pool.AddCert(c)
			r.certs = append(r.certs, c)
		}
		r.pool = pool
	}()
	return r, nil
}

// bundleCert is one CERTIFICATE block of a bundle: its DER, its number
// among the certificates and the line it starts on.
type bundleCert struct {
	der     []byte
	n, line int
}

// bundleCerts finds the CERTIFICATE blocks of a --ca-file. pem.Decode
// alone would skip a block it cannot decode and go on with the next.
func bundleCerts(path string, data []byte) ([]bundleCert, error) {
	begin := []byte("-----BEGIN ")
	var certs []bundleCert
	for off := bytes.Index(data, begin); off >= 0; {
		end, next := len(data), -1 // the block runs to the next one
		if i := bytes.Index(data[off+len(begin):], begin); i >= 0 {
			end, next = off+len(begin)+i, off+len(begin)+i
		}
		line := 1 + bytes.Count(data[:off], []byte("\n"))
		block, _ := pem.Decode(data[off:end])
		switch {
		case block == nil:
			return nil, fmt.Errorf("%s line %d: a PEM block that cannot be decoded (cut short or edited?)", path, line)
		case block.Type != "CERTIFICATE":
		case len(block.Headers) > 0 || !certShape(block.Bytes):
			return nil, fmt.Errorf("%s: certificate %d (line %d) is not an X.509 certificate", path, len(certs)+1, line)
		default:
			certs = append(certs, bundleCert{block.Bytes, len(certs) + 1, line})
		}
		off = next
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no PEM certificates in %s", path)
	}
	return certs, nil
}

// certShape reports whether der has a certificate's outer shape, as far as
// its subject, and nothing after it: a cheap check, made at once, of what
// the background parse would refuse most often (a cut or garbled block).
func certShape(der []byte) bool {
	cert, rest, ok := derElem(der)
	if !ok || len(rest) > 0 || cert[0] != 0x30 {
		return false
	}
	content, _ := derEnter(cert, false)
	tbs, _, ok := derElem(content)
	if !ok || tbs[0] != 0x30 {
		return false
	}
	_, ok = rawSubject(der)
	return ok
}

// Pool waits for the bundle's certificates: nil for the system roots.
func (r *Roots) Pool() (*x509.CertPool, error) {
	if r == nil {
		return nil, nil
	}
	<-r.done
	return r.pool, r.err
}

// Certs waits for the bundle's certificates, for the checks crypto/x509
// does not make (a SHA-1 signature checked by hand, an OCSP response's
// issuer): nil for the system roots.
func (r *Roots) Certs() ([]*x509.Certificate, error) {
	if r == nil {
		return nil, nil
	}
	<-r.done
	return r.certs, r.err
}

// Label names the roots in messages: "--ca-file /etc/ssl/mx-ca.pem", or
// "the system roots".
func (r *Roots) Label() string {
	if r == nil {
		return "the system roots"
	}
	return r.label
}

// PreloadRoots starts reading and decoding the system roots in the
// background, under ctx, so that they are ready by the time a handshake
// needs them (the network wait of connect, banner and EHLO pays for it).
func PreloadRoots(ctx context.Context) { go func() { _, _, _ = systemRoots(ctx) }() }

// RootsError is a chain left unverified because the system roots could
// not be read: a fault of this host, not of the server.
type RootsError struct{ Err error }

func (e *RootsError) Error() string { return "cannot read the system roots: " + e.Err.Error() }
func (e *RootsError) Unwrap() error { return e.Err }

// SystemRootsFor returns the system roots whose subject is the subject or
// issuer of one of certs. It never leaves the choice to crypto/x509 (a nil
// pool), which would read $SSL_CERT_FILE or a FIFO in the certificate
// directory without a bound: what cannot be read safely is an error. The
// roots are read by PreloadRoots under the run's context, which names the
// read should it hang; without one they are read here, under ctx, as is
// the lookup below.
//
// crypto/x509 and OpenSSL trust the certificate directories beside the
// bundle: a private CA put in $SSL_CERT_DIR, or in /etc/ssl/certs, with
// its hash link. For a chain that names no root of the bundle, its issuers
// are looked up there as OpenSSL's CApath does (lookupRoots): reading all
// of some 150 files would cost every such run several milliseconds.
func SystemRootsFor(ctx context.Context, certs []*x509.Certificate) (*x509.CertPool, error) {
	roots, fromDirs, err := systemRoots(ctx)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if addNamed(pool, roots, certs) > 0 || fromDirs {
		return pool, nil
	}
	if roots, err = lookupRoots(ctx, certs); err != nil {
		return nil, err
	}
	addNamed(pool, roots, certs)
	return pool, nil
}

// addNamed adds to pool the roots whose subject is the subject or issuer of
// one of certs, returning how many.
func addNamed(pool *x509.CertPool, roots []rootPEM, certs []*x509.Certificate) int {
	n := 0
	for _, r := range roots {
		if yes, known := r.names(certs); known && !yes {
			continue
		}
		der := r.der()
		if der == nil || !namedBy(der, certs) {
			continue
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			pool.AddCert(c)
			n++
		}
	}
	return n
}

// readSystemRoots reads the system roots where crypto/x509 looks for them,
// but each file through boundedfile: $SSL_CERT_FILE, or else the first
// bundle file there is, or else (fromDirs) the files of $SSL_CERT_DIR or the
// certificate directories. A file that is there but refused is an error,
// not a reason to look elsewhere, and so is a variable naming what cannot
// be read: both would widen or change what is trusted without a word.
func readSystemRoots(ctx context.Context) (roots []rootPEM, fromDirs bool, err error) {
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		data, err := boundedfile.Read(ctx, "$SSL_CERT_FILE", f, boundedfile.MaxCABundle, nil)
		if err != nil {
			return nil, false, fmt.Errorf("$SSL_CERT_FILE %w", err)
		}
		roots, err = nonEmpty(splitRoots(data), "$SSL_CERT_FILE "+f)
		return roots, false, err
	}
	for _, f := range bundleFiles {
		data, err := boundedfile.Read(ctx, "the system CA bundle", f, boundedfile.MaxCABundle, nil)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("the system CA bundle %w", err)
		}
		roots, err = nonEmpty(splitRoots(data), "the system CA bundle "+f)
		return roots, false, err
	}
	if roots, err = readCertDirs(ctx); err != nil {
		return nil, false, err
	}
	if !anyCert(roots) {
		dirs, _ := certDirsToRead()
		return nil, false, fmt.Errorf("no system CA certificates found (no CA bundle file, none in %s)", strings.Join(dirs, ", "))
	}
	return roots, true, nil
}

// nonEmpty refuses a bundle without certificates: a truncated or emptied
// CA store would otherwise make every server's chain "untrusted", the
// server's fault, when it is this host's.
func nonEmpty(roots []rootPEM, what string) ([]rootPEM, error) {
	if !anyCert(roots) {
		return nil, fmt.Errorf("%s holds no PEM certificates", what)
	}
	return roots, nil
}

// anyCert reports whether one of roots decodes (the first, as a rule).
func anyCert(roots []rootPEM) bool {
	return slices.ContainsFunc(roots, func(r rootPEM) bool { return r.der() != nil })
}

// certDirsToRead are $SSL_CERT_DIR's directories (separated by ":") or
// certDirs, and how messages name them.
func certDirsToRead() (dirs []string, what string) {
	if d := os.Getenv("SSL_CERT_DIR"); d != "" {
		return strings.Split(d, ":"), "$SSL_CERT_DIR"
	}
	return certDirs, "the system CA directory"
}

// readCertDirs reads the certificates of certDirsToRead, at most
// boundedfile.MaxCABundle in all; finding none is for the caller to judge.
// A directory that is there but cannot be read is an error, and so is a
// missing one of $SSL_CERT_DIR; a missing one of certDirs is skipped. As
// crypto/x509 does, it skips links to a file beside them (c_rehash's hash
// links) and what cannot be read; it also skips what is not a regular file,
// never opening it.
func readCertDirs(ctx context.Context) ([]rootPEM, error) {
	dirs, what, err := usableCertDirs()
	if err != nil {
		return nil, err
	}
	var roots []rootPEM
	var total int64
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, unreadableDir(what, dir)
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if link, err := os.Readlink(path); err == nil && !strings.Contains(link, "/") {
				continue
			}
			data, err := boundedfile.Read(ctx, what, path, boundedfile.MaxCABundle-total, nil)
			switch {
			case errors.Is(err, boundedfile.ErrTooBig):
				return nil, fmt.Errorf("%s %s: over %d MiB of certificates; is it the right directory?", what, dir, boundedfile.MaxCABundle>>20)
			case err != nil:
				continue
			}
			total += int64(len(data))
			roots = append(roots, splitRoots(data)...)
		}
	}
	return roots, nil
}

// usableCertDirs are certDirsToRead judged before anything in them is
// opened (opening a FIFO would wait for a writer): a missing one of
// certDirs is left out; a missing one of $SSL_CERT_DIR, or what is not a
// directory, is an error.
func usableCertDirs() (dirs []string, what string, err error) {
	all, what := certDirsToRead()
	for _, dir := range all {
		st, err := os.Stat(dir)
		switch {
		case dir == "", errors.Is(err, fs.ErrNotExist) && what != "$SSL_CERT_DIR":
			continue
		case errors.Is(err, fs.ErrNotExist):
			return nil, what, fmt.Errorf("%s %s: no such directory", what, dir)
		case err != nil || !st.IsDir():
			return nil, what, unreadableDir(what, dir)
		}
		dirs = append(dirs, dir)
	}
	return dirs, what, nil
}

func unreadableDir(what, dir string) error {
	return fmt.Errorf("%s %s: not a directory that can be read (running as uid %d)", what, dir, os.Getuid())
}

// lookupRoots finds in the certificate directories the roots that issued
// one of certs, as OpenSSL's CApath lookup (by_dir.c) does: for an issuer
// of hash h (nameHash), it opens only <dir>/h.0, h.1 ... up to the first
// missing one, in each directory, and keeps the certificates whose subject
// is the issuer. A file that is not named by its subject's hash (no
// c_rehash or update-ca-certificates run since it was put there) is not
// found, as OpenSSL does not find it. Only a self-issued certificate is
// kept, as OpenSSL anchors a chain only at one: an intermediate put there
// would otherwise hide a server that does not send it. The results are
// cached by issuer. The directories are judged as readCertDirs judges
// them; a hash file that is there but cannot be read, or holds no
// certificate, is this host's fault and an error naming it (a scan skips
// such files, but here it is the file this chain's root should be in).
func lookupRoots(ctx context.Context, certs []*x509.Certificate) ([]rootPEM, error) {
	system.mu.Lock()
	defer system.mu.Unlock()
	systemCache()
	var found []rootPEM
	for _, c := range certs {
		issuer := string(c.RawIssuer)
		roots, done := system.looked[issuer]
		if !done {
			var err error
			if roots, err = lookupIssuer(ctx, c.RawIssuer); err != nil {
				return nil, err
			}
			if system.looked == nil {
				system.looked = map[string][]rootPEM{}
			}
			system.looked[issuer] = roots
		}
		found = append(found, roots...)
	}
	return found, nil
}

// readHashFile reads a hash file for lookupIssuer: boundedfile.Read, which
// a test replaces to count the files opened.
var readHashFile = boundedfile.Read

// maxHashFiles bounds the files lookupIssuer tries for one hash in one
// directory: c_rehash numbers the certificates sharing a hash .0, .1 …, and
// more than a few share one only in a directory that is not a CA store.
const maxHashFiles = 64

// lookupIssuer is lookupRoots for one issuer.
func lookupIssuer(ctx context.Context, issuer []byte) ([]rootPEM, error) {
	h, ok := nameHash(issuer)
	if !ok {
		return nil, nil
	}
	dirs, what, err := usableCertDirs()
	if err != nil {
		return nil, err
	}
	var roots []rootPEM
	var total int64
	for _, dir := range dirs {
		for k := 0; ; k++ {
			path := filepath.Join(dir, fmt.Sprintf("%08x.%d", h, k))
			data, err := readHashFile(ctx, what, path, boundedfile.MaxCABundle-total, nil)
			if errors.Is(err, fs.ErrNotExist) {
				break // the last of this hash in dir
			}
			if k == maxHashFiles {
				return nil, fmt.Errorf("%s %s: over %d files for one subject hash (%08x.*); is it the right directory?", what, dir, maxHashFiles, h)
			}
			switch {
			case errors.Is(err, fs.ErrPermission):
				if _, lerr := os.Lstat(path); errors.Is(lerr, fs.ErrPermission) {
					return nil, unreadableDir(what, dir) // not searchable
				}
				return nil, fmt.Errorf("%s %w", what, err)
			case errors.Is(err, boundedfile.ErrTooBig):
				return nil, fmt.Errorf("%s %s: over %d MiB of certificates; is it the right directory?", what, dir, boundedfile.MaxCABundle>>20)
			case err != nil:
				return nil, fmt.Errorf("%s %w", what, err)
			}
			total += int64(len(data))
			found, err := nonEmpty(splitRoots(data), what+" "+path)
			if err != nil {
				return nil, err
			}
			for _, r := range found {
				c, err := x509.ParseCertificate(r.der())
				if err != nil {
					return nil, fmt.Errorf("%s %s: a certificate that does not parse: %v", what, path, err)
				}
				if bytes.Equal(c.RawSubject, issuer) && bytes.Equal(c.RawIssuer, issuer) {
					roots = append(roots, r)
				}
			}
		}
	}
	return roots, nil
}

// namedBy reports whether the certificate der is the subject or issuer of
// one of certs; one whose subject cannot be found is left to the parser.
func namedBy(der []byte, certs []*x509.Certificate) bool {
	subj, ok := rawSubject(der)
	return !ok || named(subj, certs)
}

// named reports whether subj is the subject or issuer of one of certs.
func named(subj []byte, certs []*x509.Certificate) bool {
	for _, c := range certs {
		if bytes.Equal(subj, c.RawIssuer) || bytes.Equal(subj, c.RawSubject) {
			return true
		}
	}
	return false
}

// rawSubject walks Certificate → TBSCertificate → [version] serial sigAlg
// issuer validity subject, returning the subject's full DER.
func rawSubject(der []byte) ([]byte, bool) { return subjectOf(der, false) }

// subjectOf is rawSubject; with cut, der may be the start of a certificate
// only, the two outer elements running past its end.
func subjectOf(der []byte, cut bool) ([]byte, bool) {
	cert, ok := derEnter(der, cut)
	if !ok {
		return nil, false
	}
	rest, ok := derEnter(cert, cut)
	if !ok {
		return nil, false
	}
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
	hdr, n, ok := derHeader(b)
	if !ok || len(b) < hdr+n {
		return nil, nil, false
	}
	return b[:hdr+n], b[hdr+n:], true
}

// derEnter is the content of the DER element b starts with; with cut, b may
// end before the content does (a certificate's first bytes).
func derEnter(b []byte, cut bool) ([]byte, bool) {
	hdr, n, ok := derHeader(b)
	if !ok || !cut && len(b) < hdr+n {
		return nil, false
	}
	return b[hdr:min(len(b), hdr+n)], true
}

// derHeader reads the tag and length b starts with: hdr bytes of them, and
// n of content (short form, or long form of 1 to 3 bytes).
func derHeader(b []byte) (hdr, n int, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	n, hdr = int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return 0, 0, false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	return hdr, n, true
}
