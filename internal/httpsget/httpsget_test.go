package httpsget

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestRequest: the request line and Host header, the port named only when
// it is not 443, the address dialled and ALPN http/1.1 alone.
func TestRequest(t *testing.T) {
	ca := smtptest.MustNewCA(t, "Test CA")
	cert := ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mta-sts.example.test"}})
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	heads := make(chan string, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			var head strings.Builder
			for line := ""; line != "\r\n"; {
				if line, err = br.ReadString('\n'); err != nil {
					break
				}
				head.WriteString(line)
			}
			heads <- c.(*tls.Conn).ConnectionState().NegotiatedProtocol + "\n" + head.String()
			_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
			c.Close()
		}
	}()
	for _, c := range []struct{ url, addr, host, target string }{
		{"https://mta-sts.example.test/.well-known/mta-sts.txt", "mta-sts.example.test:443", "mta-sts.example.test", "/.well-known/mta-sts.txt"},
		{"https://mta-sts.example.test:443/p?a=1&b=%20", "mta-sts.example.test:443", "mta-sts.example.test", "/p?a=1&b=%20"},
		{"https://mta-sts.example.test:8443", "mta-sts.example.test:8443", "mta-sts.example.test:8443", "/"},
		{"https://[::1]:443/x%2Fy", "[::1]:443", "[::1]", "/x%2Fy"},
		{"https://[::1]:8443/", "[::1]:8443", "[::1]:8443", "/"},
		// A space in the query, which url.Parse keeps, must not split the request line.
		{"https://mta-sts.example.test/p?a=b c\u00e9", "mta-sts.example.test:443", "mta-sts.example.test", "/p?a=b%20c%C3%A9"},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		var dialled string
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialled = network + " " + addr
			var d net.Dialer
			return d.DialContext(ctx, "tcp", l.Addr().String())
		}
		pool := ca.Pool()
		r, err := Get(context.Background(), Request{URL: u, Dial: dial, UserAgent: "ua/1",
			TLS: &tls.Config{ServerName: "mta-sts.example.test", RootCAs: pool}})
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		r.Close()
		want := "http/1.1\nGET " + c.target + " HTTP/1.1\r\nHost: " + c.host + "\r\nUser-Agent: ua/1\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
		if h := <-heads; h != want || dialled != "tcp "+c.addr || r.Status != "204 No Content" || r.Proto != "HTTP/1.1" {
			t.Errorf("%s: dialled %q, status %q %q, sent\n%q\nwant\n%q", c.url, dialled, r.Proto, r.Status, h, want)
		}
	}
	if _, err := Get(context.Background(), Request{URL: &url.URL{Scheme: "http", Host: "a.test"}}); err == nil || err.Error() != `unsupported protocol scheme "http"` {
		t.Errorf("http: %v", err)
	}
}

// TestFromCtx: a read that hits the connection's deadline is the context's
// timeout even before the context's own timer has fired.
func TestFromCtx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	if err := fromCtx(ctx, fmt.Errorf("x: %w", opErr)); err != context.DeadlineExceeded {
		t.Errorf("with a deadline: %v", err)
	}
	if err := fromCtx(context.Background(), opErr); err != opErr {
		t.Errorf("without a deadline: %v", err)
	}
	other := errors.New("other")
	if err := fromCtx(ctx, other); err != other {
		t.Errorf("other: %v", err)
	}
	cancel()
	if err := fromCtx(ctx, other); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}

func TestParseHex(t *testing.T) {
	for s, want := range map[string]string{
		"0": "0", "a": "10", "FF": "255", "7fffffffffffffff": "9223372036854775807", "0000000000000000001": "1",
		"8000000000000000": "out of range", "ffffffffffffffffff": "out of range", "": "no hex digits", "1g": "'g' is not a hex digit", "-1": "'-' is not a hex digit",
	} {
		n, err := parseHex(s)
		got := fmt.Sprint(n)
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("parseHex(%q) = %s, want %s", s, got, want)
		}
	}
}
