package smtp

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"
)

// selfSigned makes a certificate for name and a pool that trusts it.
func selfSigned(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// tlsServer answers one TLS handshake on nc and then one command with reply.
// It reports what it received, or its error, on the returned channel.
func tlsServer(nc net.Conn, cert tls.Certificate, reply string) <-chan string {
	done := make(chan string, 1)
	go func() {
		defer nc.Close()
		tc := tls.Server(nc, &tls.Config{
			Certificates: []tls.Certificate{cert},
			// TLS 1.3 tickets are written after the handshake; over the
			// unbuffered net.Pipe that write would block the client's first command.
			SessionTicketsDisabled: true,
		})
		if err := tc.Handshake(); err != nil {
			done <- "handshake: " + err.Error()
			return
		}
		line, err := bufio.NewReader(tc).ReadString('\n')
		if err != nil {
			done <- "read: " + err.Error()
			return
		}
		if _, err := tc.Write([]byte(reply)); err != nil {
			done <- "write: " + err.Error()
			return
		}
		done <- line
	}()
	return done
}

// pipe is an in-memory connection pair; a deadline turns a deadlock into a
// failure.
func pipe(t *testing.T) (client, server net.Conn) {
	t.Helper()
	client, server = net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	client.SetDeadline(deadline)
	server.SetDeadline(deadline)
	t.Cleanup(func() { client.Close() })
	return client, server
}

func TestUpgradeTLS(t *testing.T) {
	cert, pool := selfSigned(t, "mx.example.org")
	client, server := pipe(t)
	got := tlsServer(server, cert, "250 2.0.0 Ok\r\n")

	tr := NewTranscript()
	c := NewConn(client, tr)
	st, err := c.UpgradeTLS(context.Background(), &tls.Config{RootCAs: pool, ServerName: "mx.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLS() || !st.HandshakeComplete {
		t.Errorf("TLS() = %v, HandshakeComplete = %v", c.TLS(), st.HandshakeComplete)
	}
	if _, ok := c.NetConn().(*tls.Conn); !ok {
		t.Errorf("NetConn() is %T, want *tls.Conn", c.NetConn())
	}
	rep, err := c.Cmd("NOOP")
	checkErr(t, err, "")
	checkReply(t, rep, Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"2.0.0 Ok"}})
	if line := <-got; line != "NOOP\r\n" {
		t.Errorf("server got %q", line)
	}
	checkLines(t, tr, []string{
		fmt.Sprintf("* TLS established: %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)),
		"C: NOOP",
		"S: 250 2.0.0 Ok",
	})
}

func TestUpgradeTLSFailure(t *testing.T) {
	cert, _ := selfSigned(t, "mx.example.org")
	client, server := pipe(t)
	got := tlsServer(server, cert, "")

	tr := NewTranscript()
	c := NewConn(client, tr)
	_, err := c.UpgradeTLS(context.Background(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "mx.example.org"})
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Errorf("error = %v (%T), want a *tls.CertificateVerificationError", err, err)
	}
	if c.TLS() || c.NetConn() != client {
		t.Error("a failed handshake left the conn marked as TLS")
	}
	checkLines(t, tr, nil)
	client.Close()
	<-got
}

// Plaintext a server (or a man in the middle) pipelines after its STARTTLS
// 220 is buffered, and the handshake sees it and fails instead of the bytes
// vanishing.
func TestUpgradeTLSAfterPipelinedPlaintext(t *testing.T) {
	cert, pool := selfSigned(t, "mx.example.org")
	client, server := pipe(t)
	go func() {
		defer server.Close()
		if _, err := bufio.NewReader(server).ReadString('\n'); err != nil {
			return
		}
		if _, err := server.Write([]byte("220 2.0.0 Ready to start TLS\r\n250 injected\r\n")); err != nil {
			return
		}
		tls.Server(server, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
	}()

	tr := NewTranscript()
	c := NewConn(client, tr)
	rep, err := c.Cmd("STARTTLS")
	checkErr(t, err, `the server sent "250 injected" after its reply, before the next command`)
	checkReply(t, rep, Reply{Code: 220, Enhanced: "2.0.0", Lines: []string{"2.0.0 Ready to start TLS"}})
	if ue, ok := err.(*UnsolicitedError); !ok || ue.Bytes != len("250 injected\r\n") {
		t.Errorf("error %#v, want %d bytes unsolicited", err, len("250 injected\r\n"))
	}
	_, err = c.UpgradeTLS(context.Background(), &tls.Config{RootCAs: pool, ServerName: "mx.example.org"})
	var rhe tls.RecordHeaderError
	if !errors.As(err, &rhe) {
		t.Errorf("error = %v (%T), want a tls.RecordHeaderError", err, err)
	}
	if c.TLS() {
		t.Error("TLS() = true after a failed handshake")
	}
	checkLines(t, tr, []string{"C: STARTTLS", "S: 220 2.0.0 Ready to start TLS"})
}
