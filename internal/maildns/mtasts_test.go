package maildns

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

const (
	stsPath = "/.well-known/mta-sts.txt"
	policy  = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n"
)

// stsCA issues the policy servers' certificates; roots trusts it.
func stsCA(t *testing.T) (*smtptest.CA, *probe.Roots) {
	t.Helper()
	ca := smtptest.MustNewCA(t, "MTA-STS Test CA")
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCAFile(file); err != nil {
		t.Fatal(err)
	}
	roots, err := probe.LoadRoots(context.Background(), "--ca-file", file)
	if err != nil {
		t.Fatal(err)
	}
	return ca, roots
}

// rawServer is a TLS listener with a certificate for certName that reads
// each request's head and lets respond write whatever it likes; it returns
// the base URL and a channel that gets each request head and the ALPN
// protocol agreed.
func rawServer(t *testing.T, ca *smtptest.CA, certName string, respond func(c net.Conn)) (string, chan string) {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{certName}})},
		NextProtos: []string{"h2", "http/1.1"}}
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	heads := make(chan string, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				var head strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					head.WriteString(line)
					if line == "\r\n" {
						break
					}
				}
				heads <- c.(*tls.Conn).ConnectionState().NegotiatedProtocol + "\n" + head.String()
				respond(c)
			}()
		}
	}()
	return "https://" + l.Addr().String(), heads
}

// reply writes a hand-made response and closes the connection.
func reply(s string) func(net.Conn) {
	return func(c net.Conn) { _, _ = io.WriteString(c, s) }
}

func fetch(t *testing.T, roots *probe.Roots, base string, timeout time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return Client{}.FetchSTSPolicy(ctx, "example.test", base+stsPath, roots)
}

const ok200 = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"

// TestFetchSTSPolicyRaw: hand-made responses, each with the body or the
// exact error the check reports.
func TestFetchSTSPolicyRaw(t *testing.T) {
	ca, roots := stsCA(t)
	big := strings.Repeat("x", MaxPolicy+1)
	chunked := ok200 + "Transfer-Encoding: chunked\r\n\r\n"
	for _, c := range []struct {
		name, resp string
		respond    func(net.Conn)
		want, err  string
	}{
		{name: "Content-Length", resp: ok200 + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(policy)) + policy + "trailing junk", want: policy},
		{name: "chunked with extensions and trailer", resp: chunked + "12;name=value;x\r\n" + policy[:18] + "\r\n" +
			strings.ToUpper(fmt.Sprintf("%x", len(policy)-18)) + " ; q=\"a;b\"\r\n" + policy[18:] + "\r\n0;last\r\nExpires: never\r\nX-Check: 1\r\n\r\n",
			want: policy},
		{name: "close-delimited", resp: ok200 + "\r\n" + policy, want: policy},
		{name: "HTTP/1.0", resp: "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + policy, want: policy},
		{name: "100 and 103 interim", resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
			ok200 + "Content-Length: 5\r\n\r\nhello", want: "hello"},
		{name: "charset and case", resp: "HTTP/1.1 200 OK\r\ncontent-type:  Text/Plain ; charset=utf-8\r\n\r\n" + policy, want: policy},
		{name: "folded header", resp: "HTTP/1.1 200 OK\r\nContent-Type: text/plain;\r\n charset=utf-8\r\n\r\nok", want: "ok"},
		{name: "LF line ends", resp: "HTTP/1.1 200 OK\nContent-Type: text/plain\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n", want: "ok"},
		{name: "empty body", resp: ok200 + "Content-Length: 0\r\n\r\n", want: ""},
		{name: "body of exactly the cap", resp: ok200 + "\r\n" + big[1:], want: big[1:]},

		{name: "too many interim responses", resp: strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 9) + ok200 + "\r\nok",
			err: "more than 8 interim (1xx) responses"},
		{name: "301", resp: "HTTP/1.1 301 Moved Permanently\r\nLocation: https://mta-sts.elsewhere.test/x\r\nContent-Length: 0\r\n\r\n",
			err: "HTTP 301 Moved Permanently, a redirect to https://mta-sts.elsewhere.test/x (RFC 8461 §3.3: not followed)"},
		{name: "302", resp: "HTTP/1.1 302 Found\r\nLocation: /other\r\n\r\n",
			err: "HTTP 302 Found, a redirect to /other (RFC 8461 §3.3: not followed)"},
		{name: "404", resp: "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>gone</h1>", err: "HTTP 404 Not Found"},
		{name: "status text sanitised", resp: "HTTP/1.1 500 Bad\x1b[31m|x\r\n\r\n", err: "HTTP 500 Bad?[31m¦x"},
		{name: "text/html", resp: "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + policy,
			err: `Content-Type "text/html; charset=utf-8", not text/plain (RFC 8461 §3.2)`},
		{name: "Content-Type sanitised and capped", resp: "HTTP/1.1 200 OK\r\nContent-Type: text/html|\x1b" + strings.Repeat("x", 300) + "\r\n\r\n" + policy,
			err: `Content-Type "text/html¦?` + strings.Repeat("x", 189) + `...", not text/plain (RFC 8461 §3.2)`},
		{name: "no Content-Type", resp: "HTTP/1.1 200 OK\r\n\r\n" + policy, err: `Content-Type "", not text/plain (RFC 8461 §3.2)`},
		{name: "gzip", resp: ok200 + "Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00",
			err: `Content-Encoding "gzip" is not supported (identity was asked for)`},
		{name: "other transfer coding", resp: ok200 + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
			err: `Transfer-Encoding "gzip, chunked" is not supported (only chunked is)`},
		{name: "bad Content-Length", resp: ok200 + "Content-Length: -1\r\n\r\n", err: `malformed Content-Length "-1"`},
		{name: "conflicting Content-Length", resp: ok200 + "Content-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
			err: `conflicting Content-Length values "2, 3"`},
		{name: "Content-Length over the cap", resp: ok200 + fmt.Sprintf("Content-Length: %d\r\n\r\n", MaxPolicy+1) + big,
			err: "the policy is larger than 64 KiB"},
		{name: "close-delimited over the cap", resp: ok200 + "\r\n" + big, err: "the policy is larger than 64 KiB"},
		{name: "chunked over the cap", resp: chunked + "8000\r\n" + big[:0x8000] + "\r\n8000\r\n" + big[:0x8000] + "\r\n1\r\nx\r\n0\r\n\r\n",
			err: "the policy is larger than 64 KiB"},
		{name: "chunk size overflow", resp: chunked + "ffffffffffffffffff\r\nx\r\n0\r\n\r\n",
			err: `malformed chunk size "ffffffffffffffffff": out of range`},
		{name: "chunk size not hex", resp: chunked + "zz\r\n", err: `malformed chunk size "zz": 'z' is not a hex digit`},
		{name: "chunk size missing", resp: chunked + ";ext\r\n", err: `malformed chunk size ";ext": no hex digits`},
		{name: "chunk longer than its size", resp: chunked + "2\r\nokay\r\n0\r\n\r\n", err: "a chunk is longer than its size"},
		{name: "chunk one byte longer", resp: chunked + "2\r\noka\n0\r\n\r\n", err: "a chunk is longer than its size"},
		{name: "endless chunk-size line", resp: chunked + "1;" + strings.Repeat("e", 5000), err: "a chunk-size line is longer than 4096 bytes"},
		{name: "trailer of 10,000 lines", resp: chunked + "2\r\nok\r\n0\r\n" + strings.Repeat("X: y\r\n", 10000) + "\r\n",
			err: "the chunked trailer has more than 100 lines"},
		{name: "chunked cut short", resp: chunked + "10\r\nabc", err: "reading the body: the server closed the connection before the end of the body: look at the web server's log"},
		{name: "chunked without its last chunk", resp: chunked + "2\r\nok\r\n", err: "reading the body: the server closed the connection before the end of the body: look at the web server's log"},
		{name: "Content-Length cut short", resp: ok200 + "Content-Length: 100\r\n\r\nabc", err: "reading the body: the server closed the connection before the end of the body: look at the web server's log"},
		{name: "10,000 header lines", resp: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: 1\r\n", 10000) + "\r\n",
			err: "the response header has more than 100 lines"},
		{name: "never-ending header", respond: func(c net.Conn) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Pad: ")
			for {
				if _, err := io.WriteString(c, strings.Repeat("a", 1024)); err != nil {
					return
				}
			}
		}, err: "the response header is larger than 64 KiB"},
		{name: "never-ending header lines", respond: func(c net.Conn) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			for i := 0; ; i++ {
				if _, err := fmt.Fprintf(c, "X-%d: %s\r\n", i, strings.Repeat("a", 1000)); err != nil {
					return
				}
			}
		}, err: "the response header is larger than 64 KiB"},
		{name: "closed before the status line", resp: "", err: "the server closed the connection without a response"},
		{name: "closed within the header", resp: "HTTP/1.1 200 OK\r\nContent-Ty", err: "the server closed the connection within the response header"},
		{name: "closed within the status line", resp: "HTTP/1.1 20", err: "the server closed the connection within the response header"},
		{name: "garbage status line", resp: "220 mx.example.test ESMTP ready\r\n", err: `malformed HTTP status line "220 mx.example.test ESMTP ready"`},
		{name: "HTTP/2 status line", resp: "HTTP/2.0 200 OK\r\n\r\n", err: `malformed HTTP status line "HTTP/2.0 200 OK"`},
		{name: "status code out of range", resp: "HTTP/1.1 999 Odd\r\n\r\n", err: `malformed HTTP status line "HTTP/1.1 999 Odd"`},
		{name: "malformed header line", resp: "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", err: `malformed response header line "no colon here"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			respond := c.respond
			if respond == nil {
				respond = reply(c.resp)
			}
			base, heads := rawServer(t, ca, "mta-sts.example.test", respond)
			got, err := fetch(t, roots, base, 5*time.Second)
			switch {
			case c.err != "" && (err == nil || err.Error() != c.err):
				t.Errorf("got %q, %v\nwant error %s", got, err, c.err)
			case c.err == "" && (err != nil || got != c.want):
				t.Errorf("got %.80q, %v\nwant %.80q", got, err, c.want)
			}
			if c.name == "Content-Length" {
				port := strings.TrimPrefix(base, "https://127.0.0.1:")
				want := "http/1.1\nGET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUser-Agent: smtpcheck/dev (MTA-STS policy fetch)\r\n" +
					"Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
				if h := <-heads; h != want {
					t.Errorf("request:\n%q\nwant\n%q", h, want)
				}
			}
		})
	}
}

// TestFetchSTSPolicyTLS: the certificate must be valid for mta-sts.DOMAIN
// and trusted; a server that speaks no TLS is named as such.
func TestFetchSTSPolicyTLS(t *testing.T) {
	ca, roots := stsCA(t)
	base, _ := rawServer(t, ca, "www.example.test", reply(ok200+"\r\n"+policy))
	if _, err := fetch(t, roots, base, 5*time.Second); err == nil ||
		err.Error() != "tls: failed to verify certificate: x509: certificate is valid for www.example.test, not mta-sts.example.test" {
		t.Errorf("wrong name: %v", err)
	}
	other, _ := stsCA(t)
	base, _ = rawServer(t, other, "mta-sts.example.test", reply(ok200+"\r\n"+policy))
	if _, err := fetch(t, roots, base, 5*time.Second); err == nil ||
		!strings.HasPrefix(err.Error(), "tls: failed to verify certificate: x509: certificate signed by unknown authority") {
		t.Errorf("untrusted: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
			time.Sleep(100 * time.Millisecond)
			c.Close()
		}
	}()
	if _, err := fetch(t, roots, "https://"+l.Addr().String(), 5*time.Second); err == nil ||
		err.Error() != "tls: first record does not look like a TLS handshake" {
		t.Errorf("plain TCP: %v", err)
	}
	l.Close()
	if _, err := fetch(t, roots, "https://"+l.Addr().String(), 5*time.Second); err == nil || err.Error() != "connection refused" {
		t.Errorf("nobody listening: %v", err)
	}
}

// TestFetchSTSPolicyHTTPTest: net/http's own server, through the same
// client: sized and chunked bodies, its redirects and errors.
func TestFetchSTSPolicyHTTPTest(t *testing.T) {
	ca, roots := stsCA(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "identity" || !strings.HasPrefix(r.UserAgent(), "smtpcheck/") || r.Proto != "HTTP/1.1" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		switch r.URL.Query().Get("case") {
		case "sized":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, policy)
		case "chunked":
			w.Header().Set("Content-Type", "text/plain")
			for _, part := range strings.SplitAfter(policy, "\n") {
				_, _ = io.WriteString(w, part)
				w.(http.Flusher).Flush()
			}
		case "huge":
			w.Header().Set("Content-Type", "text/plain")
			for range 100 {
				_, _ = io.WriteString(w, strings.Repeat("y", 1024))
				w.(http.Flusher).Flush()
			}
		case "redirect":
			http.Redirect(w, r, "https://mta-sts.example.test/moved", http.StatusMovedPermanently)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mta-sts.example.test"}})}}
	srv.StartTLS()
	defer srv.Close()
	for q, want := range map[string]string{
		"sized": policy, "chunked": policy,
		"huge":     "error: the policy is larger than 64 KiB",
		"redirect": "error: HTTP 301 Moved Permanently, a redirect to https://mta-sts.example.test/moved (RFC 8461 §3.3: not followed)",
		"none":     "error: HTTP 404 Not Found",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := Client{}.FetchSTSPolicy(ctx, "example.test", srv.URL+stsPath+"?case="+q, roots)
		cancel()
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", q, got, want)
		}
	}
}

// TestFetchSTSPolicyStalls: a server that stalls anywhere ends the fetch
// at the deadline, which LookupSTS reports as a timeout.
func TestFetchSTSPolicyStalls(t *testing.T) {
	ca, roots := stsCA(t)
	stall := func(first string) func(net.Conn) {
		return func(c net.Conn) {
			_, _ = io.WriteString(c, first)
			_, _ = c.Read(make([]byte, 1)) // until the client gives up
		}
	}
	dnsAddr := dnstest.Start(t, false, `_mta-sts.example.test. 60 IN TXT "v=STSv1; id=1"`)
	for name, first := range map[string]string{
		"before the status line": "",
		"mid-header":             "HTTP/1.1 200 OK\r\nContent-Type: te",
		"mid-body":               ok200 + "Content-Length: 500\r\n\r\n" + policy,
		"mid-chunk":              ok200 + "Transfer-Encoding: chunked\r\n\r\n100\r\nversion",
		"close-delimited":        ok200 + "\r\n" + policy,
	} {
		base, _ := rawServer(t, ca, "mta-sts.example.test", stall(first))
		began := time.Now()
		_, err := fetch(t, roots, base, 300*time.Millisecond)
		if took := time.Since(began); !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
			t.Errorf("%s: %v after %v", name, err, took)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		s := Client{Server: dnsAddr}.LookupSTS(ctx, "example.test", base, roots)
		cancel()
		if !s.Timeout || s.FetchErr != ErrTimeout {
			t.Errorf("%s: LookupSTS: timeout %v, %v", name, s.Timeout, s.FetchErr)
		}
	}

	// Cancelled (the watchdog's end of the run) without a deadline: the
	// connection is closed at once.
	base0, _ := rawServer(t, ca, "mta-sts.example.test", stall(ok200+"\r\nversion"))
	cctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	began := time.Now()
	if _, err := (Client{}).FetchSTSPolicy(cctx, "example.test", base0+stsPath, roots); !errors.Is(err, context.Canceled) || time.Since(began) > time.Second {
		t.Errorf("cancelled: %v after %v", err, time.Since(began))
	}

	// The connection's deadline may end a read a moment before the
	// context's timer says so: still a timeout.
	base, _ := rawServer(t, ca, "mta-sts.example.test", stall(ok200))
	ctx := lateContext{context.Background(), time.Now().Add(300 * time.Millisecond)}
	if s := (Client{Server: dnsAddr}).LookupSTS(ctx, "example.test", base, roots); !s.Timeout || s.FetchErr != ErrTimeout {
		t.Errorf("deadline before the context's end: timeout %v, %v", s.Timeout, s.FetchErr)
	}
}

// lateContext has a deadline but never ends.
type lateContext struct {
	context.Context
	dl time.Time
}

func (c lateContext) Deadline() (time.Time, bool) { return c.dl, true }
