package deliverycheck

import (
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestIMAPBesideSMTP: the IMAP login runs beside the submission, but a
// probe that was not sent makes it no fact of the run: a stalled IMAP
// server neither delays the SMTP verdict to -t nor shows in the output.
func TestIMAPBesideSMTP(t *testing.T) {
	l := newLab(t, labOpts{smtp: smtptest.Config{RejectMail: &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Sender not owned by user"}}})
	stall, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	go func() { // accept, say nothing
		for {
			c, err := stall.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	args := l.args("-vvv")
	args[slices.Index(args, "--imap-port")+1] = strconv.Itoa(stall.Addr().(*net.TCPAddr).Port)
	out := run(t, args...)
	out.Expect(t, 2, `SMTP DELIVERY CRITICAL - mail: "553 5.7.1 Sender not owned by user" (127.0.0.1:`+strconv.Itoa(l.smtp.Port)+`) - the sender address is not allowed for this client or login`)
	if out.Elapsed > 2*time.Second {
		t.Errorf("the SMTP verdict waited %v for the stalled IMAP login (-t 5)", out.Elapsed)
	}
	if strings.Contains(strings.ToLower(out.Out), "imap") {
		t.Errorf("an IMAP session shows although no probe was sent:\n%s", out.Out)
	}
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
