package smtptest

import (
	"bufio"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var localhostLeaf = LeafOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}

func serverTLS(t *testing.T) (*CA, *tls.Config) {
	t.Helper()
	ca := MustNewCA(t, "smtptest root")
	cert := ca.MustIssue(t, localhostLeaf)
	return ca, &tls.Config{Certificates: []tls.Certificate{cert}}
}

func clientTLS(ca *CA) *tls.Config {
	return &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
}

// dialText opens a raw textproto connection and consumes the greeting.
func dialText(t *testing.T, addr string) *textproto.Conn {
	t.Helper()
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return c
}

func cmd(t *testing.T, c *textproto.Conn, want int, format string, args ...any) string {
	t.Helper()
	id, err := c.Cmd(format, args...)
	if err != nil {
		t.Fatal(err)
	}
	c.StartResponse(id)
	defer c.EndResponse(id)
	code, msg, err := c.ReadResponse(want)
	if err != nil {
		t.Fatalf("%s: got %d %q, want %d (%v)", format, code, msg, want, err)
	}
	return msg
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestStartTLSAuthAndDelivery(t *testing.T) {
	ca, srvTLS := serverTLS(t)
	s := MustStart(t, Config{TLS: srvTLS, AuthRequiresTLS: true, RequireAuth: true, Users: map[string]string{"alice": "s3cret"}})

	c, err := smtp.DialStartTLS(s.Addr, clientTLS(ca))
	if err != nil {
		t.Fatalf("STARTTLS with CA pool: %v", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS still offered inside TLS")
	}
	if !c.SupportsAuth("PLAIN") || !c.SupportsAuth("LOGIN") {
		t.Error("AUTH PLAIN/LOGIN not offered after TLS")
	}
	if err := c.Mail("a@x.test", nil); smtpCode(err) != 530 {
		t.Fatalf("MAIL before AUTH: %v, want 530", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "alice", "s3cret")); err != nil {
		t.Fatalf("AUTH PLAIN: %v", err)
	}
	if err := c.SendMail("a@x.test", []string{"b@y.test"}, strings.NewReader("Subject: hi\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "a@x.test" || len(m.To) != 1 || m.To[0] != "b@y.test" || !m.TLS || m.User != "alice" ||
		!strings.Contains(string(m.Data), "body") {
		t.Errorf("unexpected message %+v", m)
	}
}

func TestStartTLSUntrusted(t *testing.T) {
	_, srvTLS := serverTLS(t)
	s := MustStart(t, Config{TLS: srvTLS})
	other := MustNewCA(t, "other root")
	c, err := smtp.DialStartTLS(s.Addr, clientTLS(other))
	if err == nil {
		// go-smtp's client handshakes lazily, on the next command.
		err = c.Noop()
		c.Close()
	}
	var ue x509.UnknownAuthorityError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want x509.UnknownAuthorityError", err)
	}
}

func TestAuthRequiresTLS(t *testing.T) {
	_, srvTLS := serverTLS(t)
	s := MustStart(t, Config{TLS: srvTLS, AuthRequiresTLS: true, Users: map[string]string{"u": "p"}})
	c := dialText(t, s.Addr)
	ehlo := cmd(t, c, 250, "EHLO client.test")
	if !strings.Contains(ehlo, "STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Errorf("EHLO before TLS = %q", ehlo)
	}
	// go-smtp answers 523 (not RFC 3207's 530/538) when AUTH needs TLS.
	cmd(t, c, 523, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00u\x00p")))
}

func TestAuthCodes(t *testing.T) {
	s := MustStart(t, Config{Users: map[string]string{"u": "p"}})
	auth := func(a sasl.Client) error {
		c, err := smtp.Dial(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Auth(a)
	}
	if err := auth(sasl.NewPlainClient("", "u", "p")); err != nil {
		t.Errorf("PLAIN good: %v", err)
	}
	if err := auth(sasl.NewPlainClient("", "u", "wrong")); smtpCode(err) != 535 {
		t.Errorf("PLAIN bad password: %v, want 535", err)
	}
	if err := auth(sasl.NewPlainClient("", "nobody", "p")); smtpCode(err) != 535 {
		t.Errorf("PLAIN unknown user: %v, want 535", err)
	}
	if err := auth(sasl.NewLoginClient("u", "p")); err != nil {
		t.Errorf("LOGIN good: %v", err)
	}
	if err := auth(sasl.NewLoginClient("u", "wrong")); smtpCode(err) != 535 {
		t.Errorf("LOGIN bad password: %v, want 535", err)
	}

	// LOGIN without an initial response must prompt for the username.
	c := dialText(t, s.Addr)
	cmd(t, c, 250, "EHLO client.test")
	if got := cmd(t, c, 334, "AUTH LOGIN"); got != base64.StdEncoding.EncodeToString([]byte("Username:")) {
		t.Errorf("LOGIN first challenge %q", got)
	}
	cmd(t, c, 334, "%s", base64.StdEncoding.EncodeToString([]byte("u")))
	cmd(t, c, 235, "%s", base64.StdEncoding.EncodeToString([]byte("p")))
}

func TestNoUsersNoAuth(t *testing.T) {
	s := MustStart(t, Config{})
	c := dialText(t, s.Addr)
	if ehlo := cmd(t, c, 250, "EHLO client.test"); strings.Contains(ehlo, "AUTH") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO = %q", ehlo)
	}
}

func TestRejections(t *testing.T) {
	s := MustStart(t, Config{
		RejectRcpt: map[string]*smtp.SMTPError{
			"nobody@y.test": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"},
		},
		MaxMessageBytes: 64,
	})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@x.test", nil); err != nil {
		t.Fatal(err)
	}
	err = c.Rcpt("Nobody@y.test", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("RCPT: %v, want 550 5.1.1", err)
	}
	if err := c.Rcpt("ok@y.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, strings.Repeat("x", 200)+"\r\n")
	if err := w.Close(); smtpCode(err) != 552 {
		t.Fatalf("oversized DATA: %v, want 552", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages stored", n)
	}

	rm := MustStart(t, Config{RejectMail: &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "go away"}})
	c2, err := smtp.Dial(rm.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Mail("a@x.test", nil); smtpCode(err) != 421 {
		t.Fatalf("MAIL: %v, want 421", err)
	}
}

func TestImplicitTLS(t *testing.T) {
	ca, srvTLS := serverTLS(t)
	if _, err := Start(Config{Implicit: true}); err == nil {
		t.Fatal("Implicit without TLS accepted")
	}
	s := MustStart(t, Config{TLS: srvTLS, Implicit: true, AuthRequiresTLS: true, Users: map[string]string{"u": "p"}})
	c, err := smtp.DialTLS(s.Addr, clientTLS(ca))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered on implicit TLS")
	}
	if err := c.Auth(sasl.NewPlainClient("", "u", "p")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@x.test", []string{"b@y.test"}, strings.NewReader("hi\r\n")); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(); len(m) != 1 || !m[0].TLS || m[0].User != "u" {
		t.Errorf("messages %+v", m)
	}
}

func TestLMTP(t *testing.T) {
	s := MustStart(t, Config{LMTP: true})
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.SendMail("a@x.test", []string{"b@y.test", "c@y.test"}, strings.NewReader("hi\r\n")); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(); len(m) != 1 || len(m[0].To) != 2 {
		t.Errorf("messages %+v", m)
	}
}

func TestServerCloseDropsIdleConnections(t *testing.T) {
	_, srvTLS := serverTLS(t)
	s, err := Start(Config{TLS: srvTLS})
	if err != nil {
		t.Fatal(err)
	}
	c := dialText(t, s.Addr)
	cmd(t, c, 250, "EHLO client.test")
	// A second client stalls before the TLS handshake on an implicit server.
	imp := MustStart(t, Config{TLS: srvTLS, Implicit: true})
	raw, err := net.Dial("tcp", imp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	done := make(chan error, 2)
	go func() { done <- s.Close() }()
	go func() { done <- imp.Close() }()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not return with idle connections open")
		}
	}
	if _, err := c.ReadLine(); err == nil {
		t.Error("connection still open after Close")
	}
	if s.Close() != nil {
		t.Error("second Close errored")
	}
}

func TestCertificateChain(t *testing.T) {
	root := MustNewCA(t, "root")
	inter, err := root.NewIntermediate("inter", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	inter2, err := inter.NewIntermediate("inter2", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cert := inter2.MustIssue(t, localhostLeaf)
	if len(cert.Certificate) != 3 {
		t.Fatalf("chain length %d, want 3", len(cert.Certificate))
	}
	for i, want := range []*x509.Certificate{cert.Leaf, inter2.Cert, inter.Cert} {
		if string(cert.Certificate[i]) != string(want.Raw) {
			t.Errorf("chain[%d] is not %s", i, want.Subject.CommonName)
		}
	}
	if cert.Leaf.IsCA || !inter2.Cert.IsCA || inter2.Root() != root {
		t.Error("unexpected CA flags or root")
	}

	// The pool trusts only the root, so a handshake succeeds only if the
	// intermediates are really served.
	s := MustStart(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	c, err := smtp.DialStartTLS(s.Addr, clientTLS(inter2))
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("handshake through intermediates: %v", err)
	}
	state, _ := c.TLSConnectionState()
	if n := len(state.VerifiedChains[0]); n != 4 {
		t.Errorf("verified chain length %d, want 4", n)
	}
	c.Close()

	noInter := x509.VerifyOptions{Roots: root.Pool(), DNSName: "localhost"}
	if _, err := cert.Leaf.Verify(noInter); err == nil {
		t.Error("leaf verified without intermediates")
	}

	expired, err := root.NewIntermediate("expired", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ec := expired.MustIssue(t, localhostLeaf)
	inters := x509.NewCertPool()
	inters.AddCert(expired.Cert)
	var ie x509.CertificateInvalidError
	if _, err := ec.Leaf.Verify(x509.VerifyOptions{Roots: root.Pool(), Intermediates: inters, DNSName: "localhost"}); !errors.As(err, &ie) || ie.Reason != x509.Expired {
		t.Errorf("expired intermediate: %v", err)
	}
}

func TestLeafOptions(t *testing.T) {
	ca := MustNewCA(t, "root")
	notAfter := time.Now().Add(-time.Minute).Truncate(time.Second)
	c := ca.MustIssue(t, LeafOptions{CommonName: "cn.test", NotAfter: notAfter})
	if c.Leaf.Subject.CommonName != "cn.test" || !c.Leaf.NotAfter.Equal(notAfter) {
		t.Errorf("leaf %v %v", c.Leaf.Subject, c.Leaf.NotAfter)
	}

	weak := ca.MustIssue(t, LeafOptions{DNSNames: []string{"weak.test"}, RSABits: 1024})
	if k, ok := weak.Leaf.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 1024 {
		t.Errorf("RSA-1024 leaf key %T", weak.Leaf.PublicKey)
	}

	if _, err := ca.Issue(LeafOptions{RSABits: 2048, SignatureAlgorithm: x509.SHA1WithRSA}); err == nil {
		t.Error("SHA1WithRSA from an ECDSA CA should fail")
	}
	rsaCA, err := NewRSACA("rsa root", 2048)
	if err != nil {
		t.Fatal(err)
	}
	sha1Leaf, err := rsaCA.Issue(LeafOptions{DNSNames: []string{"localhost"}, SignatureAlgorithm: x509.SHA1WithRSA})
	if err != nil {
		t.Fatalf("SHA-1 leaf: %v", err)
	}
	if sha1Leaf.Leaf.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Errorf("signature algorithm %v", sha1Leaf.Leaf.SignatureAlgorithm)
	}
	// Go creates SHA-1 certificates but refuses to verify them: directly
	// as InsecureAlgorithmError, but Verify reports UnknownAuthorityError.
	var ia x509.InsecureAlgorithmError
	if err := sha1Leaf.Leaf.CheckSignatureFrom(rsaCA.Cert); !errors.As(err, &ia) {
		t.Errorf("SHA-1 CheckSignatureFrom: %v, want InsecureAlgorithmError", err)
	}
	var ua x509.UnknownAuthorityError
	if _, err := sha1Leaf.Leaf.Verify(x509.VerifyOptions{Roots: rsaCA.Pool(), DNSName: "localhost"}); !errors.As(err, &ua) ||
		!strings.Contains(err.Error(), "insecure algorithm") {
		t.Errorf("SHA-1 Verify: %v, want UnknownAuthorityError mentioning insecure algorithm", err)
	}

	self, err := SelfSigned(LeafOptions{DNSNames: []string{"self.test"}, RSABits: 2048, SignatureAlgorithm: x509.SHA1WithRSA})
	if err != nil {
		t.Fatal(err)
	}
	if len(self.Certificate) != 1 || self.Leaf.Issuer.CommonName != "self.test" || self.Leaf.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Errorf("self-signed %v %v", self.Leaf.Issuer, self.Leaf.SignatureAlgorithm)
	}
}

func TestWriteCAFile(t *testing.T) {
	root := MustNewCA(t, "root")
	inter, err := root.NewIntermediate("inter", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := inter.WriteCAFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" || string(blk.Bytes) != string(root.Cert.Raw) {
		t.Error("CA file does not hold the root certificate")
	}
}

func TestFaultEHLOAndStartTLS(t *testing.T) {
	ca, srvTLS := serverTLS(t)
	scriptErr := make(chan error, 1)
	fs := MustStartFault(t, func(c *FaultConn) {
		scriptErr <- func() error {
			c.Greet()
			if err := c.EHLO("SIZE 1000", "STARTTLS"); err != nil {
				return err
			}
			if _, err := c.Expect("starttls"); err != nil {
				return err
			}
			c.Send("220 2.0.0 go ahead")
			if err := c.StartTLS(srvTLS); err != nil {
				return err
			}
			if err := c.EHLO("AUTH PLAIN"); err != nil {
				return err
			}
			if _, err := c.Expect("QUIT"); err != nil {
				return err
			}
			return c.Send("221 bye")
		}()
	})
	c, err := smtp.DialStartTLS(fs.Addr, clientTLS(ca))
	if err != nil {
		t.Fatal(err)
	}
	if !c.SupportsAuth("PLAIN") {
		t.Error("AUTH PLAIN not parsed from second EHLO")
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if err := <-scriptErr; err != nil {
		t.Fatal(err)
	}
}

func TestFaultDribble(t *testing.T) {
	const greeting = "220 slow\r\n"
	fs := MustStartFault(t, func(c *FaultConn) {
		c.Dribble(greeting, 10*time.Millisecond)
		c.Hang()
	})
	conn, err := net.Dial("tcp", fs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	var reads int
	buf := make([]byte, 64)
	var got []byte
	for len(got) < len(greeting) {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		reads++
		got = append(got, buf[:n]...)
	}
	if string(got) != greeting || reads < 5 {
		t.Errorf("got %q in %d reads", got, reads)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("dribble took only %v", d)
	}
}

func TestFaultCloseReleasesBlockedScripts(t *testing.T) {
	_, srvTLS := serverTLS(t)
	var mu sync.Mutex
	var results []string
	entered := make(chan struct{}, 4)
	scripts := []func(c *FaultConn){
		func(c *FaultConn) { entered <- struct{}{}; c.Hang() },
		func(c *FaultConn) {
			entered <- struct{}{}
			_, err := c.ReadLine()
			mu.Lock()
			results = append(results, "read:"+errString(err))
			mu.Unlock()
		},
		func(c *FaultConn) {
			entered <- struct{}{}
			err := c.Pause(time.Hour)
			mu.Lock()
			results = append(results, "pause:"+errString(err))
			mu.Unlock()
		},
		func(c *FaultConn) {
			entered <- struct{}{}
			c.StartTLS(srvTLS) // client never starts the handshake
		},
	}
	var servers []*FaultServer
	for _, sc := range scripts {
		fs, err := StartFault(sc)
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, fs)
		conn, err := net.Dial("tcp", fs.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		<-entered
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, fs := range servers {
			if err := fs.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release blocked scripts")
	}
	if len(results) != 2 || !strings.HasPrefix(results[1], "pause:"+ErrFaultClosed.Error()) {
		t.Errorf("results %q", results)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestFaultHangReturnsOnPeerClose(t *testing.T) {
	returned := make(chan struct{})
	fs := MustStartFault(t, func(c *FaultConn) { c.Hang(); close(returned) })
	conn, err := net.Dial("tcp", fs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("EHLO x\r\n"))
	conn.Close()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Hang did not return after the peer closed")
	}
}

func TestFaultResetAndGreeting(t *testing.T) {
	fs := MustStartFault(t, func(c *FaultConn) {
		c.Send("554 5.3.2 nope")
		c.Expect("QUIT")
		c.Reset()
	})
	conn, err := net.Dial("tcp", fs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || line != "554 5.3.2 nope\r\n" {
		t.Fatalf("greeting %q %v", line, err)
	}
	conn.Write([]byte("QUIT\r\n"))
	_, err = r.ReadByte()
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after Reset: %v, want ECONNRESET", err)
	}
}

func TestFaultReadLineEndings(t *testing.T) {
	lines := make(chan string, 3)
	fs := MustStartFault(t, func(c *FaultConn) {
		for range 3 {
			l, err := c.ReadLine()
			if err != nil {
				lines <- "error: " + err.Error()
				return
			}
			lines <- l
		}
	})
	conn, err := net.Dial("tcp", fs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("EHLO a\r\nNOOP\nRSET\r\n"))
	for _, want := range []string{"EHLO a", "NOOP", "RSET"} {
		if got := <-lines; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestFaultScriptPanicReported(t *testing.T) {
	entered := make(chan struct{})
	fs, err := StartFault(func(c *FaultConn) { close(entered); panic("boom") })
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", fs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	<-entered
	if err := fs.Close(); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Close = %v, want script panic", err)
	}
}

func TestFaultIPv6(t *testing.T) {
	fs, err := StartFaultAddr("tcp6", "[::1]:0", func(c *FaultConn) { c.Greet() })
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer fs.Close()
	c, err := textproto.Dial("tcp6", fs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
}

// Weak certificates must still be servable so checks can inspect and flag
// them; only verification rejects SHA-1.
func TestServeWeakCertificates(t *testing.T) {
	rsaCA, err := NewRSACA("rsa root", 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := rsaCA.Issue(LeafOptions{DNSNames: []string{"localhost"}, RSABits: 1024, SignatureAlgorithm: x509.SHA1WithRSA})
	if err != nil {
		t.Fatal(err)
	}
	s := MustStart(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})

	c, err := smtp.DialStartTLS(s.Addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("handshake with RSA-1024/SHA-1 leaf: %v", err)
	}
	state, _ := c.TLSConnectionState()
	peer := state.PeerCertificates[0]
	if peer.SignatureAlgorithm != x509.SHA1WithRSA || peer.PublicKey.(*rsa.PublicKey).N.BitLen() != 1024 {
		t.Errorf("peer cert %v", peer.SignatureAlgorithm)
	}
	c.Close()

	c, err = smtp.DialStartTLS(s.Addr, clientTLS(rsaCA))
	if err == nil {
		err = c.Noop()
		c.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "insecure algorithm") {
		t.Errorf("verified SHA-1 leaf: %v", err)
	}
}
