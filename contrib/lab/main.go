// Command lab runs local SMTP servers for demonstrating smtpcheck: plain
// with STARTTLS, submission, implicit TLS and an always-failing server; and
// the lab user's IMAP mailbox (IMAPS and IMAP+STARTTLS), where every message
// the SMTP side accepts for the lab user's address lands: in Junk when sent
// to user+junk@lab.test or marked as junk (see imap.go).
// It writes DIR/lab.env once every listener is up and runs until signalled.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/smtpcheck/smtpcheck/internal/secret/store"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

func main() {
	dir := flag.String("dir", "", "directory for ca.pem, password and lab.env (required)")
	base := flag.Int("base-port", 0, "first of six consecutive ports (SMTP plain, submission, SMTPS, fault; IMAPS, IMAP); 0 picks random ports")
	user := flag.String("user", "demo", "AUTH user name")
	pass := flag.String("password", "demo-password", "AUTH password")
	flag.Parse()
	if *dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *base, *user, *pass); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

func run(dir string, base int, user, pass string) (err error) {
	if dir, err = filepath.Abs(dir); err != nil { // lab.env paths must work from any cwd
		return err
	}
	ca, err := smtptest.NewCA("smtpcheck lab CA")
	if err != nil {
		return err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := ca.WriteCAFile(caFile); err != nil {
		return err
	}
	cert, err := ca.Issue(smtptest.LeafOptions{DNSNames: []string{"mx.lab.test", "localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		return err
	}

	addr := func(i int) string {
		if base == 0 {
			return "127.0.0.1:0"
		}
		return fmt.Sprintf("127.0.0.1:%d", base+i)
	}
	var closers []func() error
	defer func() {
		for _, c := range closers {
			err = errors.Join(err, c())
		}
	}()
	cfg := smtptest.Config{Domain: "mx.lab.test", TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		AuthRequiresTLS: true, Users: map[string]string{user: pass}, ErrorLog: log.New(os.Stderr, "lab: ", log.LstdFlags)}
	var ports []int
	var servers []*smtptest.Server
	for i, mode := range []string{"plain", "submission", "smtps"} {
		c := cfg
		c.Addr, c.RequireAuth, c.Implicit = addr(i), mode != "plain", mode == "smtps"
		s, err := smtptest.Start(c)
		if err != nil {
			return fmt.Errorf("%s server: %w", mode, err)
		}
		closers, ports, servers = append(closers, s.Close), append(ports, s.Port), append(servers, s)
	}
	fault, err := smtptest.StartFaultAddr("tcp", addr(3), refuseService)
	if err != nil {
		return fmt.Errorf("fault server: %w", err)
	}
	closers = append(closers, fault.Close)
	address := user + "@lab.test"
	box, err := startMailbox(user, pass, address, cfg.Domain, cert, addr(4), addr(5))
	if err != nil {
		return fmt.Errorf("IMAP server: %w", err)
	}
	stopFeed := make(chan struct{})
	for _, s := range servers {
		go box.feed(s, stopFeed)
	}
	// Close the mailbox after the feeds stop (closers run in order).
	closers = append([]func() error{func() error { close(stopFeed); return nil }}, append(closers, box.Close)...)

	env, pwFile := filepath.Join(dir, "lab.env"), filepath.Join(dir, "password")
	if err := writeAtomic(pwFile, pass, 0o600); err != nil {
		return err
	}
	// The same password in a keyring (file backend) as keyring:lab/relay,
	// for the demo of a reference read by the helper smtpcheck-secret.
	krDir, krPassFile := filepath.Join(dir, "keyring"), filepath.Join(dir, "keyring.pass")
	if err := writeAtomic(krPassFile, "lab-keyring-passphrase", 0o600); err != nil {
		return err
	}
	if err := store.StoreFileKeyring(krDir, "lab-keyring-passphrase", "relay", pass); err != nil {
		return err
	}
	err = writeAtomic(env, fmt.Sprintf("LAB_PLAIN_PORT=%d\nLAB_SUBMISSION_PORT=%d\nLAB_SMTPS_PORT=%d\nLAB_FAULT_PORT=%d\nLAB_IMAPS_PORT=%d\nLAB_IMAP_PORT=%d\nLAB_ADDRESS=%s\nLAB_CA=%s\nLAB_USER=%s\nLAB_PASSWORD_FILE=%s\nLAB_KEYRING_DIR=%s\nLAB_KEYRING_PASSPHRASE_FILE=%s\n",
		ports[0], ports[1], ports[2], fault.Port, box.imaps, box.imap, address, caFile, user, pwFile, krDir, krPassFile), 0o644)
	if err != nil {
		return err
	}
	// Removed on shutdown so a stale file never advertises dead ports.
	closers = append([]func() error{func() error { return os.Remove(env) }}, closers...)
	fmt.Fprintln(os.Stderr, "lab ready")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// refuseService behaves like RFC 5321 §3.1's 554 greeter: it keeps
// answering 503 until QUIT.
func refuseService(c *smtptest.FaultConn) {
	c.Send("554 5.3.2 lab: service unavailable")
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		if strings.EqualFold(strings.TrimSpace(line), "QUIT") {
			c.Send("221 2.0.0 bye")
			return
		}
		c.Send("503 5.5.1 lab: no service")
	}
}

// writeAtomic writes via a temp file and rename so readers never see a
// partial file.
func writeAtomic(path, data string, perm os.FileMode) error {
	tmp := path + ".tmp"
	os.Remove(tmp) // WriteFile applies perm only when it creates the file
	if err := os.WriteFile(tmp, []byte(data), perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
