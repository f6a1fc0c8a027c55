package probe

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRawSubjectMatchesParser walks every certificate of the system bundle
// and compares our DER walk with crypto/x509's full parse.
func TestRawSubjectMatchesParser(t *testing.T) {
	data := systemPEM(t)
	n := 0
	for len(data) > 0 {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		subj, ok := rawSubject(block.Bytes)
		if !ok || !bytes.Equal(subj, c.RawSubject) {
			t.Errorf("%s: raw subject mismatch", c.Subject)
		}
		n++
	}
	if n < 50 {
		t.Errorf("only %d certificates checked", n)
	}
	for _, junk := range [][]byte{nil, {0x30}, {0x30, 0x84, 1, 2, 3, 4}, {0x30, 0x05, 0x30}} {
		if _, ok := rawSubject(junk); ok {
			t.Errorf("rawSubject(%x) ok on junk", junk)
		}
	}
}

// TestSystemRootsForPicksIssuer: a chain's issuer from the bundle is found,
// and only roots named by the chain are loaded.
func TestSystemRootsForPicksIssuer(t *testing.T) {
	block, _ := pem.Decode(systemPEM(t))
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := SystemRootsFor(context.Background(), []*x509.Certificate{root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("root from the bundle does not verify against the picked pool: %v", err)
	}
	if got := len(pool.Subjects()); got == 0 || got > 3 {
		t.Errorf("picked %d roots for one subject", got)
	}
	// A device is refused, not handed on to crypto/x509 (which would read
	// /dev/zero without end); so is a missing file, never skipped for the
	// rest of the system's roots; an empty file is refused too.
	ctx := context.Background()
	t.Setenv("SSL_CERT_FILE", os.DevNull)
	want := "$SSL_CERT_FILE /dev/null: a device, not a regular file; give the path of a regular file"
	if _, err := SystemRootsFor(context.Background(), []*x509.Certificate{root}); err == nil || err.Error() != want {
		t.Errorf("SSL_CERT_FILE=/dev/null: %v, want %s", err, want)
	}
	// Verifying against them then says the roots, not the chain, failed.
	err = VerifyChain(context.Background(), []*x509.Certificate{root}, "", nil)
	if _, ok := errors.AsType[*RootsError](err); !ok || err.Error() != "cannot read the system roots: "+want {
		t.Errorf("VerifyChain with SSL_CERT_FILE=/dev/null: %v, want a RootsError", err)
	}
	dir := t.TempDir()
	t.Setenv("SSL_CERT_FILE", dir+"/absent.pem")
	if _, _, err := readSystemRoots(ctx); err == nil || err.Error() != "$SSL_CERT_FILE "+dir+"/absent.pem: no such file" {
		t.Errorf("SSL_CERT_FILE missing: %v", err)
	}
	empty := dir + "/empty.pem"
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", empty)
	if _, _, err := readSystemRoots(ctx); err == nil || err.Error() != "$SSL_CERT_FILE "+empty+" holds no PEM certificates" {
		t.Errorf("an empty SSL_CERT_FILE: %v, want an error (this host's CA store is broken, not every server)", err)
	}
}

// systemPEM is the system's bundle, for tests that need real roots.
func systemPEM(t testing.TB) []byte {
	for _, f := range bundleFiles {
		if data, err := os.ReadFile(f); err == nil {
			return data
		}
	}
	t.Skip("no system CA bundle on this machine")
	return nil
}

// Without a bundle file, the certificate directories are read as
// crypto/x509 reads them, but each file bounded: what is not a regular file
// (a FIFO, a link to /dev/zero) is skipped without being opened, c_rehash's
// links to a file beside them are skipped, and all of them together are
// capped; an explicit $SSL_CERT_DIR that cannot be read is an error.
func TestSystemRootsFromDirectory(t *testing.T) {
	block, _ := pem.Decode(systemPEM(t))
	defer func(old []string) { bundleFiles = old }(bundleFiles)
	bundleFiles = nil
	t.Setenv("SSL_CERT_FILE", "")
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/root.pem", pem.EncodeToMemory(block), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		syscall.Mkfifo(dir+"/fifo.pem", 0o644),
		os.Symlink("/dev/zero", dir+"/zero.pem"),
		os.Symlink("root.pem", dir+"/0a1b2c3d.0"),
		os.Mkdir(dir+"/sub", 0o755),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SSL_CERT_DIR", dir)
	done := make(chan struct{})
	var roots []rootPEM
	var err error
	go func() { roots, _, err = readSystemRoots(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("reading the directory hangs")
	}
	if err != nil || len(roots) != 1 || !bytes.Equal(roots[0].der(), block.Bytes) {
		t.Errorf("got %d certificates, %v", len(roots), err)
	}

	fifo := t.TempDir() + "/fifo"
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := dir + "/big.pem"
	if err := os.WriteFile(big, nil, 0o644); err != nil || os.Truncate(big, 9<<20) != nil {
		t.Fatal("cannot make a 9 MiB file")
	}
	for env, want := range map[string]string{
		dir + "/absent":   "$SSL_CERT_DIR " + dir + "/absent: no such directory",
		fifo:              fmt.Sprintf("$SSL_CERT_DIR %s: not a directory that can be read (running as uid %d)", fifo, os.Getuid()),
		dir:               "$SSL_CERT_DIR " + dir + ": over 8 MiB of certificates; is it the right directory?",
		t.TempDir() + ":": "no system CA certificates found (no CA bundle file, none in ",
	} {
		t.Setenv("SSL_CERT_DIR", env)
		if _, _, err := readSystemRoots(ctx); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("SSL_CERT_DIR=%s: %v\nwant %s", env, err, want)
		}
	}
}

func TestResolveFamilies(t *testing.T) {
	ctx := context.Background()
	cases := []struct{ network, host, want, err string }{
		{"ip", "127.0.0.1", "127.0.0.1", ""},
		{"ip4", "::ffff:127.0.0.1", "127.0.0.1", ""},
		{"ip6", "::1", "::1", ""},
		{"ip6", "127.0.0.1", "", "127.0.0.1 is not an IPv6 address"},
		{"ip4", "::1", "", "::1 is not an IPv4 address"},
	}
	for _, c := range cases {
		a, err := Resolve(ctx, nil, c.network, c.host)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s %s: err %v, want %q", c.network, c.host, err, c.err)
			}
			continue
		}
		if err != nil || a.String() != c.want {
			t.Errorf("%s %s: %v %v", c.network, c.host, a, err)
		}
	}
}

func TestProxyHeadersIPv6(t *testing.T) {
	src := netip.MustParseAddrPort("[2001:db8::1]:40000")
	dst := netip.MustParseAddrPort("[2001:db8::2]:25")
	if got := string(ProxyV1(src, dst)); got != "PROXY TCP6 2001:db8::1 2001:db8::2 40000 25\r\n" {
		t.Errorf("v1: %q", got)
	}
	v2 := ProxyV2(src, dst)
	if len(v2) != 16+36 || v2[12] != 0x21 || v2[13] != 0x21 || v2[14] != 0 || v2[15] != 36 ||
		!bytes.Equal(v2[16:32], net.ParseIP("2001:db8::1")) || v2[48] != 0x9c || v2[49] != 0x40 || v2[51] != 25 {
		t.Errorf("v2: %x", v2)
	}
}

func TestDNSServerAddr(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.2": "127.0.0.2:53", "127.0.0.2:5353": "127.0.0.2:5353", "::1": "[::1]:53", "[::1]:54": "[::1]:54"} {
		if got, err := DNSServerAddr(in); err != nil || got != want {
			t.Errorf("DNSServerAddr(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := DNSServerAddr("dns.example"); err == nil || err.Error() != "want an IP address with an optional port" {
		t.Errorf("a name: %v", err)
	}
}
