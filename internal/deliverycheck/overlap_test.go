package deliverycheck

import (
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stalledIMAP is a port that accepts and never says a word.
func stalledIMAP(t *testing.T) string {
	stall, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stall.Close() })
	go func() {
		for {
			c, err := stall.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return strconv.Itoa(stall.Addr().(*net.TCPAddr).Port)
}

// TestIMAPBesideSMTP: the IMAP login runs beside the SMTP session, but a
// probe that is not sent (here the SMTP login is refused) makes it no
// fact of the run: a stalled IMAP server neither delays the SMTP verdict
// to -t nor shows in the output.
func TestIMAPBesideSMTP(t *testing.T) {
	l := newLab(t, labOpts{})
	args := l.args("-vvv")
	args[slices.Index(args, "--imap-port")+1] = stalledIMAP(t)
	t.Setenv("DL_SMTP_PASS", "wrong")
	t.Setenv("DL_IMAP_PASS", imapPass)
	out := runEnv(t, args...)
	out.Expect(t, 2, `SMTP DELIVERY CRITICAL - auth: PLAIN as `+smtpUser+` refused: "535 5.7.8 Authentication failed" (127.0.0.1:`+strconv.Itoa(l.smtp.Port)+`) - wrong user name or password`)
	if out.Elapsed > 2*time.Second {
		t.Errorf("the SMTP verdict waited %v for the stalled IMAP login (-t 5)", out.Elapsed)
	}
	if strings.Contains(strings.ToLower(out.Out), "imap") {
		t.Errorf("an IMAP session shows although no probe was sent:\n%s", out.Out)
	}
}

// TestNoProbeWithoutIMAP: the probe goes out only once the IMAP login
// beside the SMTP session has succeeded: a probe that cannot be looked for
// would stay in the mailbox, unseen and never deleted. A refused IMAP
// login, or a stalled IMAP server, ends the run with nothing sent (QUIT
// after AUTH) and no state kept.
func TestNoProbeWithoutIMAP(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		l := newLab(t, labOpts{})
		out := run(t, l.args("--imap-user", "nobody@example.test")...)
		out.Expect(t, 2, `SMTP DELIVERY CRITICAL - imap_login: NO [AUTHENTICATIONFAILED] Authentication failed (IMAP 127.0.0.1:`+strconv.Itoa(l.imap.Port)+`) - check the IMAP user and password (--imap-user, --imap-password-ref, or --user and --password-ref for both)`)
		out.Contains(t, "probe not sent: the IMAP session failed, and a probe that cannot be looked for would stay in the mailbox")
		if n := len(l.smtp.Messages()); n != 0 {
			t.Errorf("%d messages sent", n)
		}
		if strings.Contains(out.Out, "stays pending") {
			t.Errorf("a probe said pending:\n%s", out.Out)
		}
	})
	t.Run("stalled", func(t *testing.T) {
		l := newLab(t, labOpts{})
		args := l.args("-t", "1")
		port := stalledIMAP(t)
		args[slices.Index(args, "--imap-port")+1] = port
		out := run(t, args...)
		out.Within(t, time.Second)
		if out.Code != 2 || !strings.HasPrefix(out.Status(), "SMTP DELIVERY CRITICAL - imap_tls: no answer within the 1 s timeout (IMAP 127.0.0.1:"+port+") - the TLS handshake stalled: is this an IMAPS port? For a plain IMAP port (143) give --imap-starttls") {
			t.Errorf("got %d:\n%s", out.Code, out.Out)
		}
		out.Contains(t, "imap: IMAP 127.0.0.1:"+port+", TLS not established")
		if n := len(l.smtp.Messages()); n != 0 {
			t.Errorf("%d messages sent", n)
		}
	})
}

// TestIMAPLinesAfterSMTP: the IMAP side's transcript lines, though it
// logged in while a slow SMTP server was still greeting, follow the SMTP
// session's.
func TestIMAPLinesAfterSMTP(t *testing.T) {
	l := newLab(t, labOpts{})
	slow, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	go func() { // relays to the lab's SMTP server, its greeting late
		c, err := slow.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(l.smtp.Port))
		if err != nil {
			return
		}
		defer s.Close()
		time.Sleep(300 * time.Millisecond) // the IMAP login is done by then
		go func() { _, _ = io.Copy(s, c) }()
		_, _ = io.Copy(c, s)
	}()
	out := run(t, l.args("-vvv", "-p", strconv.Itoa(slow.Addr().(*net.TCPAddr).Port))...)
	if out.Code != 0 {
		t.Fatalf("exit %d:\n%s", out.Code, out.Out)
	}
	lines := strings.Split(out.Out, "\n")
	quit := slices.IndexFunc(lines, func(s string) bool { return strings.Contains(s, "S: 221") })
	imap := slices.IndexFunc(lines, func(s string) bool { return strings.Contains(s, " * imap: ") })
	if quit < 0 || imap < 0 || imap < quit {
		t.Errorf("the first IMAP line (%d) should follow the SMTP QUIT's 221 (line %d):\n%s", imap, quit, out.Out)
	}
}
