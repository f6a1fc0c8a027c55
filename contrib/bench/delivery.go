package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Targets of issue 12, as fractions of check_email_delivery's medians.
const (
	deliveryWallTarget = 0.05
	deliveryRSSTarget  = 0.5
)

// deliveryBench is what -mode delivery needs: a real submission server
// (STARTTLS + AUTH) and the IMAPS server where its mail for user lands.
type deliveryBench struct {
	ours, ref, swaks string
	target, imap     string // HOST:PORT
	ca, name         string
	user, pwFile     string
	sink             string // an address the server accepts and discards
}

// runDelivery compares a full round trip (submit on target, find over
// IMAPS, clean up) by check_smtp_delivery with check_email_delivery doing
// the same, interleaved; then counts the SMTP round trips of our submission
// and of `swaks --pipeline` sending the same message.
func runDelivery(b deliveryBench, n, warmup int, maxTime time.Duration) error {
	host, port, err := net.SplitHostPort(b.target)
	if err != nil {
		return fmt.Errorf("-target %q: %v", b.target, err)
	}
	imapHost, imapPort, err := net.SplitHostPort(b.imap)
	if err != nil {
		return fmt.Errorf("-imap %q: %v", b.imap, err)
	}
	if b.ca == "" || b.user == "" || b.pwFile == "" {
		return errors.New("-mode delivery needs -ca FILE, -user NAME and -password-file FILE")
	}
	if b.name == "" {
		b.name = host
	}
	pw, err := os.ReadFile(b.pwFile)
	if err != nil {
		return err
	}
	pass := strings.TrimSpace(string(pw))
	stateDir, err := os.MkdirTemp("", "smtpcheck-bench-state-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stateDir)
	// check_email_delivery verifies TLS against the default roots, which
	// IO::Socket::SSL takes from SSL_CERT_FILE; it must connect by name.
	os.Setenv("SSL_CERT_FILE", b.ca)
	cs := []*contender{
		{name: "check_smtp_delivery", bin: b.ours, args: append(b.submitArgs(host, port, stateDir, b.user),
			"--imap-host", imapHost, "--imap-port", imapPort, "--imap-user", b.user, "--imap-password-ref", "file:"+b.pwFile)},
		// --wait 1 and a 1 s poll are its fastest (0 means its default, 5).
		{name: "check_email_delivery", bin: b.ref, args: []string{"-H", b.name, "--smtp-port", port, "--smtptls",
			"--imap-port", imapPort, "--imapssl", "--username", b.user, "--password", pass,
			"--mailto", b.user, "--mailfrom", b.user, "--wait", "1", "--imap-check-interval", "1", "-t", "30"}},
	}
	rounds := compete(cs, n, warmup, maxTime)
	fmt.Printf("delivery round trip: submit at %s (STARTTLS + AUTH), find at %s (IMAPS), %d interleaved rounds\n", b.target, b.imap, rounds)
	table(cs, cs[1], rounds)
	if len(cs[0].s.wall) == 0 || cs[0].s.fails > 0 {
		return errors.New("check_smtp_delivery failed")
	}
	if ref := cs[1].s; len(ref.wall) > 0 {
		wr := pct(cs[0].s.wall, 50) / pct(ref.wall, 50)
		rr := pct(cs[0].s.rss, 50) / pct(ref.rss, 50)
		fmt.Printf("\ntargets: median wall ≤ %.2f× check_email_delivery's: %s (%.3f×); peak RSS ≤ %.1f×: %s (%.2f×)\n",
			deliveryWallTarget, verdict(wr <= deliveryWallTarget), wr, deliveryRSSTarget, verdict(rr <= deliveryRSSTarget), rr)
	} else {
		fmt.Println("\ntargets: n/a (check_email_delivery never succeeded)")
	}
	return b.roundTrips(host, port, stateDir, pass)
}

// submitArgs are check_smtp_delivery's SMTP side; the IMAP flags follow.
func (b deliveryBench) submitArgs(host, port, stateDir, to string) []string {
	return []string{"-H", host, "-p", port, "--ca-file", b.ca, "--verify-name", b.name,
		// PLAIN, as swaks and check_email_delivery log in (plain text inside
		// TLS): auto would pick SCRAM, whose extra round trips and key
		// derivation are not what is compared here.
		"--mech", "PLAIN",
		"--user", b.user, "--password-ref", "file:" + b.pwFile, "--from", b.user, "--to", to,
		"--state-dir", stateDir, "-t", "10"}
}

// roundTrips sends the same message, to an address the server discards,
// through a counting proxy: by check_smtp_delivery --send-only and by
// swaks --pipeline, each a few times, and prints the median count.
func (b deliveryBench) roundTrips(host, port, stateDir, pass string) error {
	p, err := startTurnProxy(net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	defer p.Close()
	pport := strconv.Itoa(p.port())
	ours := append(b.submitArgs(host, pport, stateDir, b.sink), "--send-only")
	swaks := []string{"--server", net.JoinHostPort(host, pport), "--tls", "--auth", "PLAIN", "--auth-user", b.user,
		"--auth-password", pass, "--from", b.user, "--to", b.sink, "--pipeline", "--silent", "2",
		"--header", "Subject: smtpcheck bench probe"}
	const runs = 5
	count := func(bin string, args []string) (float64, error) {
		var ts []float64
		for range runs {
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
				return 0, fmt.Errorf("%s: %v: %s", bin, err, first)
			}
			ts = append(ts, float64(p.take()))
		}
		return pct(ts, 50), nil
	}
	fmt.Printf("\nSMTP round trips of one submission at %s (STARTTLS + AUTH, TLS handshake included), median of %d:\n", b.target, runs)
	o, err := count(b.ours, ours)
	if err != nil {
		return err
	}
	fmt.Printf("  %-26s %2.0f\n", "check_smtp_delivery", o)
	if _, err := exec.LookPath(b.swaks); err != nil {
		fmt.Printf("  %-26s n/a (%v)\n", "swaks --pipeline", err)
		return nil
	}
	s, err := count(b.swaks, swaks)
	if err != nil {
		fmt.Printf("  %-26s failed: %v\n", "swaks --pipeline", err)
		return nil
	}
	fmt.Printf("  %-26s %2.0f\n", "swaks --pipeline", s)
	fmt.Printf("\ntarget: round trips ≤ swaks --pipeline's: %s (%.0f vs %.0f)\n", verdict(o <= s), o, s)
	return nil
}

// turnProxy relays TCP connections to a server and counts round trips:
// every time the server speaks after the client did. The greeting, spoken
// first, is not one; TLS records count like any other bytes.
type turnProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	turns  int
	wg     sync.WaitGroup
	target string
}

func startTurnProxy(target string) (*turnProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &turnProxy{ln: ln, target: target}
	go p.serve()
	return p, nil
}

func (p *turnProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *turnProxy) Close() error { return p.ln.Close() }

// take returns the round trips counted since the last take, once the
// connections counted have closed.
func (p *turnProxy) take() int {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.turns
	p.turns = 0
	return t
}

func (p *turnProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.relay(c, s)
	}
}

// relay copies both ways until both sides are done, counting turns.
func (p *turnProxy) relay(c, s net.Conn) {
	defer p.wg.Done()
	clientSpoke := false // under p.mu
	var both sync.WaitGroup
	copyCounting := func(dst, src net.Conn, fromServer bool) {
		defer both.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				if fromServer && clientSpoke {
					p.turns++
				}
				clientSpoke = !fromServer
				p.mu.Unlock()
				_, err = dst.Write(buf[:n])
			}
			if err != nil {
				dst.(*net.TCPConn).CloseWrite() // the other side sees the end too
				return
			}
		}
	}
	both.Add(2)
	go copyCounting(s, c, false)
	go copyCounting(c, s, true)
	both.Wait()
	c.Close()
	s.Close()
}

// deliveryDefaults: fewer, slower rounds than the other modes unless asked.
func deliveryDefaults(set map[string]bool, n, warmup *int, maxTime *time.Duration, plugin, ref, target *string) {
	if !set["n"] {
		*n = 15 // check_email_delivery takes about 1.4 s a run
	}
	if !set["warmup"] {
		*warmup = 1
	}
	if !set["max-time"] {
		*maxTime = 90 * time.Second
	}
	if !set["plugin"] {
		*plugin = "bin/check_smtp_delivery"
	}
	if !set["ref"] {
		*ref = "/usr/lib/nagios/plugins/check_email_delivery"
	}
	if !set["target"] {
		*target = "127.0.0.1:587"
	}
}
