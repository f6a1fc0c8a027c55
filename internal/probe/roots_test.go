package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// testDER is a self-signed certificate for roots.test, and unparsableDER
// the same with a letter in its notBefore: its outer shape is intact, so
// only the full parse (in the background) refuses it.
var testDER, unparsableDER = func() ([]byte, []byte) {
	c, err := smtptest.SelfSigned(smtptest.LeafOptions{DNSNames: []string{"roots.test"}})
	if err != nil {
		panic(err)
	}
	der := c.Certificate[0]
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	when := []byte(parsed.NotBefore.UTC().Format("060102150405Z"))
	i := bytes.Index(der, when)
	if i < 0 {
		panic("notBefore not found in the DER")
	}
	bad := bytes.Clone(der)
	bad[i] = 'x'
	return der, bad
}()

// writeBundle writes a bundle made of parts (PEM blocks or raw text).
func writeBundle(t *testing.T, name string, parts ...any) string {
	t.Helper()
	var b bytes.Buffer
	for _, p := range parts {
		switch p := p.(type) {
		case *pem.Block:
			_ = pem.Encode(&b, p)
		case string:
			b.WriteString(p)
		}
	}
	path := t.TempDir() + "/" + name
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func certBlock(der []byte) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: der} }

// TestLoadRoots: the one acceptance rule of --ca-file. Text between blocks
// and blocks of other types are skipped; a block that cannot be decoded, a
// CERTIFICATE block that is no certificate, and a bundle without
// certificates are refused at once, naming the position; a certificate that
// only the full parse refuses is refused by Pool and Certs, again by
// position.
func TestLoadRoots(t *testing.T) {
	ctx := context.Background()
	good := certBlock(testDER)
	key := &pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}
	junk := certBlock([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	trailing := certBlock(append(bytes.Clone(testDER), 0))
	headered := &pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: testDER}
	goodLines := strings.Count(string(pem.EncodeToMemory(good)), "\n")
	cut := strings.Join(strings.Split(string(pem.EncodeToMemory(good)), "\n")[:3], "\n") + "\n"

	refused := []struct {
		name  string
		parts []any
		want  string // after the path
	}{
		{"no certificate", []any{"# nothing here\n", key}, ""},
		{"junk DER", []any{junk}, ": certificate 1 (line 1) is not an X.509 certificate"},
		{"a certificate's outer shape, but no subject", []any{certBlock([]byte{0x30, 0x04, 0x30, 0x02, 0x02, 0x00})}, ": certificate 1 (line 1) is not an X.509 certificate"},
		{"junk after a key and a good one", []any{"# roots\n", good, key, junk}, ": certificate 2 (line " + strconv.Itoa(2+goodLines+3) + ") is not an X.509 certificate"},
		{"trailing bytes", []any{good, trailing}, ": certificate 2 (line " + strconv.Itoa(1+goodLines) + ") is not an X.509 certificate"},
		{"PEM headers", []any{headered}, ": certificate 1 (line 1) is not an X.509 certificate"},
		{"cut short before a good one", []any{cut, good}, " line 1: a PEM block that cannot be decoded (cut short or edited?)"},
		{"cut short at the end", []any{good, cut}, " line " + strconv.Itoa(1+goodLines) + ": a PEM block that cannot be decoded (cut short or edited?)"},
	}
	for _, c := range refused {
		path := writeBundle(t, "ca.pem", c.parts...)
		want := path + c.want
		if c.want == "" {
			want = "no PEM certificates in " + path
		}
		if _, err := LoadRoots(ctx, "--ca-file", path); err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", c.name, err, want)
		}
	}
	absent := t.TempDir() + "/absent.pem"
	if _, err := LoadRoots(ctx, "--ca-file", absent); err == nil || err.Error() != absent+": no such file" {
		t.Errorf("absent: %v", err)
	}

	path := writeBundle(t, "ca.pem", "Subject: roots.test\n", good, key, "\n", certBlock(testDER))
	r, err := LoadRoots(ctx, "--ca-file", path)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := r.Pool()
	certs, cerr := r.Certs()
	if err != nil || cerr != nil || len(pool.Subjects()) != 1 || len(certs) != 2 || r.Label() != "--ca-file "+path {
		t.Errorf("good bundle: %v %v, %d certificates, label %q", err, cerr, len(certs), r.Label())
	}

	path = writeBundle(t, "ca.pem", good, certBlock(unparsableDER))
	if r, err = LoadRoots(ctx, "--ca-file", path); err != nil {
		t.Fatalf("a certificate only the full parse refuses is refused by Pool: %v", err)
	}
	want := path + ": certificate 2 (line " + strconv.Itoa(1+goodLines) + ") does not parse: x509: "
	if _, err := r.Pool(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Pool: got %v, want %s...", err, want)
	}
	if _, err := r.Certs(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Certs: got %v, want %s...", err, want)
	}

	var none *Roots
	if pool, err := none.Pool(); pool != nil || err != nil || none.Label() != "the system roots" {
		t.Errorf("nil Roots: %v %v %q", pool, err, none.Label())
	}
}

// TestBadBundleEndsHandshake: a --ca-file certificate that fails the full
// parse ends the handshake as a usage error of its phase, with or without
// verification, before anything is sent inside TLS.
func TestBadBundleEndsHandshake(t *testing.T) {
	cert, err := smtptest.SelfSigned(smtptest.LeafOptions{DNSNames: []string{"roots.test"}})
	if err != nil {
		t.Fatal(err)
	}
	path := writeBundle(t, "ca.pem", certBlock(unparsableDER))
	roots, err := LoadRoots(context.Background(), "--ca-file", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode     TLSMode
		insecure bool
		phase    Phase
	}{{TLSImplicit, false, PhaseTLS}, {TLSStartTLS, false, PhaseStartTLS}, {TLSImplicit, true, PhaseTLS}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if server, err := ln.Accept(); err == nil {
				_ = server.SetDeadline(time.Now().Add(5 * time.Second))
				_ = tls.Server(server, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
				server.Close()
			}
		}()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = client.SetDeadline(time.Now().Add(5 * time.Second))
		var verifyErr error
		tgt := Target{Host: "roots.test", TLS: c.mode, Roots: roots, Insecure: c.insecure}
		err = tls.Client(client, tgt.tlsConfig(context.Background(), &verifyErr)).Handshake()
		client.Close()
		<-done
		ln.Close()
		var pe *Error
		want := c.phase.String() + ": --ca-file: " + path + ": certificate 1 (line 1) does not parse: x509: "
		if !errors.As(err, &pe) || pe.Kind != KindUsage || pe.Phase != c.phase || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: got %v, want a usage error %s...", c, err, want)
		}
	}
}

// TestRootNamesFromFirstLines: names reads a system root's subject from the
// first lines of its PEM block and agrees with the full parse on every root
// of this machine's bundle; a root whose subject lies further in, or a block
// with PEM headers, is left to the full decode, and SystemRootsFor picks
// exactly the roots a chain names either way.
func TestRootNamesFromFirstLines(t *testing.T) {
	other, err := x509.ParseCertificate(testDER)
	if err != nil {
		t.Fatal(err)
	}
	roots := splitRoots(systemPEM(t))
	if len(roots) < 50 {
		t.Fatalf("only %d roots in the system bundle", len(roots))
	}
	for i, r := range roots {
		c, err := x509.ParseCertificate(r.der())
		if err != nil {
			continue
		}
		if yes, known := r.names([]*x509.Certificate{c}); !yes || !known {
			t.Errorf("root %d (%s): names its own certificate: %v, known %v; want true from the first lines", i, c.Subject, yes, known)
		}
		if yes, known := r.names([]*x509.Certificate{other}); yes || !known {
			t.Errorf("root %d (%s): names roots.test: %v, known %v; want false from the first lines", i, c.Subject, yes, known)
		}
	}

	long, err := smtptest.SelfSigned(smtptest.LeafOptions{CommonName: strings.Repeat("a long name ", 30)})
	if err != nil {
		t.Fatal(err)
	}
	longCert := long.Leaf
	if longCert == nil {
		if longCert, err = x509.ParseCertificate(long.Certificate[0]); err != nil {
			t.Fatal(err)
		}
	}
	// Another certificate for roots.test: picked too if headers were let by.
	twin, err := smtptest.SelfSigned(smtptest.LeafOptions{DNSNames: []string{"roots.test"}})
	if err != nil {
		t.Fatal(err)
	}
	headered := certBlock(twin.Certificate[0])
	headered.Headers = map[string]string{"Proc-Type": "4,ENCRYPTED"}
	bundle := writeBundle(t, "roots.pem", certBlock(long.Certificate[0]), headered, certBlock(testDER))
	t.Setenv("SSL_CERT_FILE", bundle)
	got, _, err := readSystemRoots(context.Background())
	if err != nil || len(got) != 3 {
		t.Fatalf("read %d roots, %v; want 3", len(got), err)
	}
	if _, known := got[0].names([]*x509.Certificate{longCert}); known {
		t.Error("a root whose subject ends past the first lines was judged from them")
	}
	if _, known := got[1].names([]*x509.Certificate{other}); known {
		t.Error("a block with PEM headers was judged from its first lines")
	}
	for _, c := range []struct {
		chain *x509.Certificate
		want  string
	}{{longCert, string(longCert.RawSubject)}, {other, string(other.RawSubject)}} {
		pool, err := SystemRootsFor(context.Background(), []*x509.Certificate{c.chain})
		if err != nil {
			t.Fatal(err)
		}
		if subjects := pool.Subjects(); len(subjects) != 1 || string(subjects[0]) != c.want {
			t.Errorf("roots picked for %s: %d, want exactly its own (once: the headered copy is skipped)", c.chain.Subject.CommonName[:12], len(subjects))
		}
	}
}

// TestSystemRootsCertDir: as OpenSSL does (CApath), a root that is in the
// certificate directories ($SSL_CERT_DIR, or else the default ones) under
// its subject's hash link (<hash>.0, .1 ...), but not in the bundle, is
// trusted; one in a file of another name is not found, as OpenSSL does not
// find it (crypto/x509 would: it reads every file). The directories are
// looked in only for a chain whose root the bundle does not hold, and what
// was found is kept. A default directory that is not there is no error; a
// $SSL_CERT_DIR that is not there is.
func TestSystemRootsCertDir(t *testing.T) {
	private := smtptest.MustNewCA(t, "private CA")
	leaf, err := x509.ParseCertificate(private.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.test"}}).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	h, ok := nameHash(private.Cert.RawSubject)
	if !ok {
		t.Fatal("no hash for the private CA")
	}
	link := fmt.Sprintf("%08x.", h)
	// Another CA of the same name (a renewed key) takes .0: the lookup
	// goes on to .1.
	other := smtptest.MustNewCA(t, "private CA")
	if !bytes.Equal(other.Cert.RawSubject, private.Cert.RawSubject) {
		t.Fatal("the two CAs have different names")
	}
	unrelated := writeBundle(t, "unrelated.pem", certBlock(smtptest.MustNewCA(t, "unrelated CA").Cert.Raw))
	bundled := writeBundle(t, "private.pem", certBlock(private.Cert.Raw))
	linked, unlinked, absent := t.TempDir(), t.TempDir(), t.TempDir()+"/absent"
	placeRoots := func() {
		t.Helper()
		for _, err := range []error{
			private.WriteCAFile(linked + "/private.pem"),
			other.WriteCAFile(linked + "/other.pem"),
			os.Symlink("other.pem", linked+"/"+link+"0"),
			os.Symlink("private.pem", linked+"/"+link+"1"),
			private.WriteCAFile(unlinked + "/private.pem"),
		} {
			if err != nil && !errors.Is(err, fs.ErrExist) {
				t.Fatal(err)
			}
		}
	}
	defer func(old []string) { certDirs = old }(certDirs)
	const unknown = "x509: certificate signed by unknown authority"
	for _, c := range []struct {
		name, bundle, env string
		defaults          []string
		want              string // the error; "" for verified
	}{
		{"linked in $SSL_CERT_DIR", unrelated, linked, nil, ""},
		{"linked in the second directory of $SSL_CERT_DIR", unrelated, unlinked + "::" + linked, nil, ""},
		{"in $SSL_CERT_DIR without its link", unrelated, unlinked, []string{linked}, unknown},
		{"in no directory", unrelated, t.TempDir(), []string{linked}, unknown},
		{"linked in a default directory, another missing", unrelated, "", []string{absent, linked}, ""},
		{"in no default directory, none there", unrelated, "", []string{absent}, unknown},
		{"not found, $SSL_CERT_DIR not there", unrelated, absent, nil, "cannot read the system roots: $SSL_CERT_DIR " + absent + ": no such directory"},
		// The directories would be an error to look in: the bundle's
		// root is enough.
		{"in the bundle", bundled, absent, []string{absent}, ""},
	} {
		placeRoots()
		forgetSystemRoots()
		t.Setenv("SSL_CERT_FILE", c.bundle)
		t.Setenv("SSL_CERT_DIR", c.env)
		certDirs = c.defaults
		err := VerifyChain(context.Background(), []*x509.Certificate{leaf}, "mx.test", nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || err.Error() != c.want) {
			t.Errorf("the root %s: %v, want %q", c.name, err, c.want)
		}
	}

	// Looked up once: the root is still trusted when its file is gone.
	placeRoots()
	forgetSystemRoots()
	t.Setenv("SSL_CERT_FILE", unrelated)
	t.Setenv("SSL_CERT_DIR", linked)
	if _, err := SystemRootsFor(context.Background(), []*x509.Certificate{leaf}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(linked + "/private.pem"); err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(context.Background(), []*x509.Certificate{leaf}, "mx.test", nil); err != nil {
		t.Errorf("the directories looked in again: %v", err)
	}

	// A $SSL_CERT_DIR that cannot be searched is an error, as one that
	// cannot be read was.
	if os.Getuid() == 0 {
		t.Log("running as root: an unsearchable $SSL_CERT_DIR not tried")
		return
	}
	locked := t.TempDir() + "/locked"
	if err := os.Mkdir(locked, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(locked, 0o700)
	forgetSystemRoots()
	t.Setenv("SSL_CERT_DIR", locked)
	want := fmt.Sprintf("cannot read the system roots: $SSL_CERT_DIR %s: not a directory that can be read (running as uid %d)", locked, os.Getuid())
	if err := VerifyChain(context.Background(), []*x509.Certificate{leaf}, "mx.test", nil); err == nil || err.Error() != want {
		t.Errorf("an unsearchable $SSL_CERT_DIR: %v\nwant %s", err, want)
	}
}

// TestSystemRootsLookupOpens: the fallback is a lookup, not a scan: beside
// many other certificates, it opens only the files of the issuer's hash, up
// to the first missing one, and nothing for an issuer looked up before.
func TestSystemRootsLookupOpens(t *testing.T) {
	private := smtptest.MustNewCA(t, "private CA")
	leaf, err := x509.ParseCertificate(private.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.test"}}).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := x509.ParseCertificate(smtptest.MustNewCA(t, "stranger CA").MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.test"}}).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range 30 {
		if err := smtptest.MustNewCA(t, fmt.Sprintf("CA %d", i)).WriteCAFile(fmt.Sprintf("%s/ca%d.pem", dir, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := private.WriteCAFile(dir + "/private.pem"); err != nil {
		t.Fatal(err)
	}
	h, _ := nameHash(private.Cert.RawSubject)
	hs, _ := nameHash(stranger.RawIssuer)
	if err := os.Symlink("private.pem", fmt.Sprintf("%s/%08x.0", dir, h)); err != nil {
		t.Fatal(err)
	}
	var tried []string
	defer func(old func(context.Context, string, string, int64, func(fs.FileInfo) error) ([]byte, error)) {
		readHashFile = old
	}(readHashFile)
	readHashFile = func(ctx context.Context, what, path string, limit int64, vet func(fs.FileInfo) error) ([]byte, error) {
		tried = append(tried, strings.TrimPrefix(path, dir+"/"))
		return boundedfile.Read(ctx, what, path, limit, vet)
	}
	forgetSystemRoots()
	t.Setenv("SSL_CERT_FILE", writeBundle(t, "unrelated.pem", certBlock(smtptest.MustNewCA(t, "unrelated CA").Cert.Raw)))
	t.Setenv("SSL_CERT_DIR", dir)
	for _, c := range []struct {
		cert  *x509.Certificate
		want  string
		tried []string
	}{
		{leaf, "", []string{fmt.Sprintf("%08x.0", h), fmt.Sprintf("%08x.1", h)}},
		{stranger, "x509: certificate signed by unknown authority", []string{fmt.Sprintf("%08x.0", hs)}},
		{leaf, "", nil},
		{stranger, "x509: certificate signed by unknown authority", nil},
	} {
		tried = nil
		err := VerifyChain(context.Background(), []*x509.Certificate{c.cert}, "mx.test", nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || err.Error() != c.want) {
			t.Errorf("issuer %s: %v, want %q", c.cert.Issuer, err, c.want)
		}
		if !slices.Equal(tried, c.tried) {
			t.Errorf("issuer %s: tried %q, want %q", c.cert.Issuer, tried, c.tried)
		}
	}
}

// forgetSystemRoots empties the cache of the system roots, whose key does
// not cover certDirs.
func forgetSystemRoots() {
	system.mu.Lock()
	defer system.mu.Unlock()
	system.env, system.roots, system.fromDirs, system.looked = "", nil, false, nil
}

// TestSystemRootsLookupRules: in the certificate directory, only a
// self-issued certificate anchors a chain (an intermediate put there does
// not make a server that leaves it out verify, as OpenSSL says); a hash
// file that is there but cannot be used is this host's fault, named; more
// than maxHashFiles files for one hash are refused; the reads are under
// the run's context (the watchdog names them).
func TestSystemRootsLookupRules(t *testing.T) {
	root := smtptest.MustNewCA(t, "private root")
	mid, err := root.NewIntermediate("private intermediate", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(mid.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.test"}}).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	hMid, _ := nameHash(mid.Cert.RawSubject)
	hRoot, _ := nameHash(root.Cert.RawSubject)
	link := func(dir, target string, h uint32, k int) {
		t.Helper()
		if err := os.Symlink(target, fmt.Sprintf("%s/%08x.%d", dir, h, k)); err != nil {
			t.Fatal(err)
		}
	}
	setup := func() string {
		t.Helper()
		forgetSystemRoots()
		dir := t.TempDir()
		t.Setenv("SSL_CERT_FILE", writeBundle(t, "unrelated.pem", certBlock(smtptest.MustNewCA(t, "unrelated CA").Cert.Raw)))
		t.Setenv("SSL_CERT_DIR", dir)
		return dir
	}
	verify := func(certs ...*x509.Certificate) string {
		err := VerifyChain(context.Background(), certs, "mx.test", nil)
		if err == nil {
			return "verified"
		}
		return err.Error()
	}

	// The intermediate alone, under its hash: no anchor.
	dir := setup()
	if err := os.WriteFile(dir+"/mid.pem", pemBytes(mid.Cert.Raw), 0o644); err != nil { // WriteCAFile writes the root
		t.Fatal(err)
	}
	link(dir, "mid.pem", hMid, 0)
	if got := verify(leaf); got != "x509: certificate signed by unknown authority" {
		t.Errorf("intermediate in the directory: %s", got)
	}
	// With the root under its own hash, a server sending its chain verifies.
	if err := root.WriteCAFile(dir + "/root.pem"); err != nil {
		t.Fatal(err)
	}
	link(dir, "root.pem", hRoot, 0)
	forgetSystemRoots()
	if got := verify(leaf, mid.Cert); got != "verified" {
		t.Errorf("root in the directory: %s", got)
	}

	// Hash files that cannot be used.
	for _, c := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("not a certificate\n"), 0o644) },
			"holds no PEM certificates"},
		{"FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "not a regular file"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "not a regular file"},
		{"PEM that is no certificate", func(p string) error { return os.WriteFile(p, pemBytes([]byte("\x30\x03\x02\x01\x00")), 0o644) },
			"a certificate that does not parse"},
	} {
		dir := setup()
		path := fmt.Sprintf("%s/%08x.0", dir, hRoot)
		if err := c.make(path); err != nil {
			t.Fatal(err)
		}
		got := verify(leaf, mid.Cert)
		if !strings.HasPrefix(got, "cannot read the system roots: $SSL_CERT_DIR ") || !strings.Contains(got, path) || !strings.Contains(got, c.want) {
			t.Errorf("%s: %s; want the file %s named, %q", c.name, got, path, c.want)
		}
	}

	// As many files as allowed: the root is found in the last.
	dir = setup()
	for k := range maxHashFiles - 1 {
		if err := os.WriteFile(fmt.Sprintf("%s/%08x.%d", dir, hRoot, k), pemBytes(smtptest.MustNewCA(t, "private root").Cert.Raw), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(fmt.Sprintf("%s/%08x.%d", dir, hRoot, maxHashFiles-1), pemBytes(root.Cert.Raw), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := verify(leaf, mid.Cert); got != "verified" {
		t.Errorf("%d files: %s", maxHashFiles, got)
	}

	// Too many files for one hash.
	dir = setup()
	for k := range maxHashFiles + 1 {
		if err := os.WriteFile(fmt.Sprintf("%s/%08x.%d", dir, hRoot, k), pemBytes(root.Cert.Raw), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := fmt.Sprintf("cannot read the system roots: $SSL_CERT_DIR %s: over %d files for one subject hash (%08x.*); is it the right directory?", dir, maxHashFiles, hRoot)
	if got := verify(leaf, mid.Cert); got != want {
		t.Errorf("too many: %s\nwant %s", got, want)
	}

	// The run's context reaches the reads.
	dir = setup()
	link(dir, "root.pem", hRoot, 0)
	type key struct{}
	var seen []any
	defer func(old func(context.Context, string, string, int64, func(fs.FileInfo) error) ([]byte, error)) {
		readHashFile = old
	}(readHashFile)
	readHashFile = func(ctx context.Context, what, path string, limit int64, vet func(fs.FileInfo) error) ([]byte, error) {
		seen = append(seen, ctx.Value(key{}))
		return boundedfile.Read(ctx, what, path, limit, vet)
	}
	_ = VerifyChain(context.WithValue(context.Background(), key{}, "run"), []*x509.Certificate{leaf, mid.Cert}, "mx.test", nil)
	if len(seen) == 0 || slices.ContainsFunc(seen, func(v any) bool { return v != "run" }) {
		t.Errorf("contexts of the reads: %v, want the run's", seen)
	}
}

func pemBytes(der []byte) []byte { return pem.EncodeToMemory(certBlock(der)) }
