// Command floor is the least a Go SMTP check can do: the start-up floor the
// plugins are measured against (make bench). It links what every plugin
// must (net, crypto/tls, crypto/x509) and nothing else: no flag parsing
// library, no fmt, no output formatting. It dials, reads the banner, sends
// EHLO, optionally STARTTLS with the chain and name verified, optionally
// AUTH LOGIN, then QUIT, and prints one line. Linux only (TCP_QUICKACK). Build it like the plugins
// (CGO_ENABLED=0 go build -trimpath -ldflags "-s -w").
//
//	floor -H HOST -p PORT [-S] [-ca FILE] [-name NAME] [-auth USER PASSFILE] [-t SECONDS]
//	floor -V
//
// Any failure prints the step and exits 2; it judges nothing else.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	host, port, ca, name, user, passFile, timeout := "127.0.0.1", "25", "", "", "", "", 10
	starttls := false
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		next := func() string {
			if i+1 >= len(args) {
				die("usage", errors.New(args[i]+" needs a value"))
			}
			i++
			return args[i]
		}
		switch args[i] {
		case "-V":
			os.Stdout.WriteString("floor 1\n")
			return
		case "-H":
			host = next()
		case "-p":
			port = next()
		case "-S":
			starttls = true
		case "-ca":
			ca = next()
		case "-name":
			name = next()
		case "-auth":
			user, passFile = next(), next()
		case "-t":
			n, err := strconv.Atoi(next())
			if err != nil {
				die("usage", err)
			}
			timeout = n
		default:
			die("usage", errors.New("unknown argument "+args[i]))
		}
	}
	start := time.Now()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), time.Duration(timeout)*time.Second)
	if err != nil {
		die("connect", err)
	}
	conn.SetDeadline(start.Add(time.Duration(timeout) * time.Second))
	c := &client{conn: conn, r: bufio.NewReader(quickAck{conn.(*net.TCPConn)})}
	c.expect("banner", "", 220)
	c.expect("ehlo", "EHLO floor.invalid", 250)
	if starttls {
		c.expect("starttls", "STARTTLS", 220)
		cfg := &tls.Config{ServerName: host}
		if name != "" {
			cfg.ServerName = name
		}
		if ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				die("ca", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				die("ca", errors.New("no certificate in "+ca))
			}
		} else {
			cfg.InsecureSkipVerify = true
		}
		tc := tls.Client(quickAck{conn.(*net.TCPConn)}, cfg)
		if err := tc.Handshake(); err != nil {
			die("tls", err)
		}
		c.conn, c.r = tc, bufio.NewReader(tc)
		c.expect("ehlo", "EHLO floor.invalid", 250)
	}
	if user != "" {
		pw, err := os.ReadFile(passFile)
		if err != nil {
			die("password", err)
		}
		b64 := base64.StdEncoding.EncodeToString
		c.expect("auth", "AUTH LOGIN", 334)
		c.expect("auth", b64([]byte(user)), 334)
		c.expect("auth", b64([]byte(strings.TrimSpace(string(pw)))), 235)
	}
	c.expect("quit", "QUIT", 221)
	ms := strconv.FormatFloat(time.Since(start).Seconds(), 'f', 3, 64)
	os.Stdout.WriteString("FLOOR OK - " + ms + " s|time=" + ms + "s\n")
}

// quickAck acknowledges every segment at once, as the plugins' probe does:
// Postfix sends its TLS 1.3 session ticket and its EHLO reply as two writes
// with Nagle on, and a delayed ACK would hold the second for 40 ms.
type quickAck struct{ *net.TCPConn }

func (c quickAck) Read(b []byte) (int, error) {
	if raw, err := c.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1) })
	}
	return c.TCPConn.Read(b)
}

type client struct {
	conn net.Conn
	r    *bufio.Reader
}

// expect sends cmd (none for the banner) and reads a reply, its last line
// the one without a dash after the code.
func (c *client) expect(step, cmd string, code int) {
	if cmd != "" {
		if _, err := c.conn.Write([]byte(cmd + "\r\n")); err != nil {
			die(step, err)
		}
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			die(step, err)
		}
		if len(line) < 4 || line[3] == '-' {
			continue
		}
		if line[:3] != strconv.Itoa(code) {
			die(step, errors.New(strings.TrimSpace(line)))
		}
		return
	}
}

func die(step string, err error) {
	os.Stdout.WriteString("FLOOR CRITICAL - " + step + ": " + err.Error() + "\n")
	os.Exit(2)
}
