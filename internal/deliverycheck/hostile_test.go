package deliverycheck

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/imapbox"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// imapScript answers like a mailbox holding the probe as UID 1 (its token
// taken from the search), and hands each command that contains a key of
// the script to its function, which returns false to end the session.
type imapScript map[string]func(c *smtptest.FaultConn, tag, cmd string) bool

func (s imapScript) match(cmd string) func(c *smtptest.FaultConn, tag, cmd string) bool {
	for k, f := range s {
		if strings.Contains(cmd, k) {
			return f
		}
	}
	return nil
}

var searchToken = regexp.MustCompile(`HEADER "?X-Smtpcheck-Probe"? "?([^" ]+)"?`)

func startHostileIMAP(t *testing.T, override imapScript) string {
	t.Helper()
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		c.Send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR UIDPLUS] ready")
		token := ""
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			tag, cmd, _ := strings.Cut(line, " ")
			verb, _, _ := strings.Cut(strings.TrimPrefix(cmd, "UID "), " ")
			if f := override.match(cmd); f != nil {
				if !f(c, tag, cmd) {
					return
				}
				continue
			}
			switch verb {
			case "AUTHENTICATE":
				c.Send(tag + " OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in")
			case "LIST":
				c.Send(`* LIST () "/" INBOX`, tag+" OK done")
			case "SELECT", "EXAMINE":
				c.Send("* 1 EXISTS", "* OK [UIDVALIDITY 1] ok", tag+" OK [READ-WRITE] done")
			case "SEARCH":
				m := searchToken.FindStringSubmatch(cmd)
				switch {
				case m == nil:
					c.Send(tag + " BAD what?")
				case strings.Count(m[1], ".") == 1 && !strings.HasSuffix(m[1], "."): // our probe
					token = m[1]
					c.Send("* SEARCH 1", tag+" OK done")
				default: // the sweep's: nothing stale
					c.Send("* SEARCH", tag+" OK done")
				}
			case "FETCH":
				hdr := "X-Smtpcheck-Probe: " + token + "\r\n\r\n"
				c.Send(fmt.Sprintf("* 1 FETCH (UID 1 BODY[HEADER.FIELDS (X-Smtpcheck-Probe)] {%d}", len(hdr)))
				c.SendRaw([]byte(hdr + ")\r\n"))
				c.Send(tag + " OK done")
			case "STORE", "EXPUNGE", "NOOP", "CLOSE", "UNSELECT":
				c.Send(tag + " OK done")
			case "LOGOUT":
				c.Send("* BYE bye", tag+" OK done")
				return
			default:
				c.Send(tag + " BAD unknown")
			}
		}
	})
	_, port, _ := strings.Cut(srv.Addr, ":")
	return port
}

// hostileArgs are the lab's arguments with the IMAP side on port, in the clear.
func (l *lab) hostileArgs(port string, extra ...string) []string {
	args := l.args(append([]string{"--imap-no-tls", "--imap-allow-plaintext"}, extra...)...)
	args[slices.Index(args, "--imap-port")+1] = port
	return args
}

func hang(c *smtptest.FaultConn, tag, cmd string) bool { c.Hang(); return false }

// The script works: found, fetched, deleted.
func TestHostileBaseline(t *testing.T) {
	l := newLab(t, labOpts{})
	l.setFolder("")
	out := run(t, l.hostileArgs(startHostileIMAP(t, nil))...)
	out.Expect(t, 0, "SMTP DELIVERY OK - probe delivered to INBOX in T s (submitted in T s), queue id none")
	out.Contains(t, "cleanup: UID 1 deleted from INBOX (UID EXPUNGE)")
}

// A FETCH of the header section that stalls is the fetch's failure, at
// -t, not the cleanup's; the probe is found, and said left.
func TestFetchStall(t *testing.T) {
	l := newLab(t, labOpts{})
	l.setFolder("")
	port := startHostileIMAP(t, imapScript{"BODY.PEEK[HEADER]<": hang})
	out := run(t, l.hostileArgs(port, "-t", "2")...)
	out.Within(t, 2*time.Second)
	out.Expect(t, 1, "SMTP DELIVERY WARNING - imap_fetch: no answer within the 2 s timeout (IMAP 127.0.0.1:"+port+") - the server did not send the probe's header section: look at its log, or raise -t; the probe was left in the mailbox: a later run removes it once older than --stale-age 1h0m0s")
	out.Contains(t, "found: INBOX UID 1 after 1 search", "probe delivered to INBOX in ")
	if strings.Contains(out.Out, "imap_cleanup") || strings.Contains(out.Out, "cleanup:") {
		t.Errorf("the stall blamed on the cleanup:\n%s", out.Out)
	}
}

// An UID EXPUNGE never answered is no deletion: no "deleted" line, and
// the warning names the cleanup.
func TestExpungeUnanswered(t *testing.T) {
	l := newLab(t, labOpts{})
	l.setFolder("")
	port := startHostileIMAP(t, imapScript{"EXPUNGE": hang})
	out := run(t, l.hostileArgs(port, "-t", "2")...)
	out.Within(t, 2*time.Second)
	out.Expect(t, 1, "SMTP DELIVERY WARNING - imap_cleanup: no answer within the 2 s timeout (IMAP 127.0.0.1:"+port+") - the server did not confirm the deletion: look at its log; probes may be left in the mailbox")
	if strings.Contains(out.Out, "deleted from") {
		t.Errorf("a deletion said done:\n%s", out.Out)
	}
}

// floodSearch answers a search with untagged responses, never its end:
// fast, as fast as the socket takes them; else 50 lines every 5 ms.
func floodSearch(fast bool) func(c *smtptest.FaultConn, tag, cmd string) bool {
	return func(c *smtptest.FaultConn, tag, cmd string) bool {
		lines := []byte(strings.Repeat("* OK [ALERT] the flood goes on\r\n", 50))
		for c.SendRaw(lines) == nil && (fast || c.Pause(5*time.Millisecond) == nil) {
		}
		return false
	}
}

// An untagged flood ends the run with the IMAP phase named, never the
// watchdog's "stuck": at once when it is fast (the step's read budget),
// at -t when it is slow, counted.
func TestUntaggedFlood(t *testing.T) {
	l := newLab(t, labOpts{})
	l.setFolder("")
	port := startHostileIMAP(t, imapScript{"SEARCH HEADER": floodSearch(true)})
	out := run(t, l.hostileArgs(port, "-t", "3")...)
	out.Expect(t, 2, "SMTP DELIVERY CRITICAL - imap_search: the server sent more than 2048 KiB in this phase, far more than a search or a header section takes (a flood of responses, or an oversized literal): session ended (IMAP 127.0.0.1:"+port+") - look at the IMAP server's log, or at what listens on this port")
	out.Contains(t, "stays pending: a later run reports it as late")

	port = startHostileIMAP(t, imapScript{"SEARCH HEADER": floodSearch(false)})
	out = run(t, l.hostileArgs(port, "-t", "2", "-vv")...)
	out.Within(t, 2*time.Second)
	if out.Code != 2 || !regexp.MustCompile(`^SMTP DELIVERY CRITICAL - imap_search: no end to the command within the 2 s timeout: the server sent \d+ lines in this phase without finishing it \(a flood of untagged responses\) \(IMAP 127.0.0.1:`+port+`\) - look at the IMAP server's log$`).MatchString(out.Status()) {
		t.Errorf("got %d:\n%s", out.Code, out.Out)
	}
	if n := strings.Count(out.Out, "* imap: "); n > imapbox.MaxTranscript+10 {
		t.Errorf("%d IMAP transcript lines", n)
	}
}

// STARTTLS refused, and IMAPS against a plain IMAP port: each says what
// to give instead.
func TestIMAPTLSMismatch(t *testing.T) {
	l := newLab(t, labOpts{})
	refuse := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		c.Send("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready")
		if line, err := c.ReadLine(); err == nil {
			tag, _, _ := strings.Cut(line, " ")
			c.Send(tag + " NO STARTTLS is not available here")
		}
		c.Hang()
	})
	_, port, _ := strings.Cut(refuse.Addr, ":")
	args := l.args("--imap-starttls")
	args[slices.Index(args, "--imap-port")+1] = port
	out := run(t, args...)
	out.Expect(t, 2, "SMTP DELIVERY CRITICAL - imap_starttls: NO STARTTLS is not available here (IMAP 127.0.0.1:"+port+") - the IMAP server refused STARTTLS: use IMAPS (--imap-port 993 without --imap-starttls), or enable TLS on port "+port)

	closer := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {}) // as Dovecot's IMAPS port does to a plain greeting wait
	_, port, _ = strings.Cut(closer.Addr, ":")
	args = l.args("--imap-starttls")
	args[slices.Index(args, "--imap-port")+1] = port
	out = run(t, args...)
	out.Expect(t, 2, "SMTP DELIVERY CRITICAL - imap_starttls: the server closed the connection (IMAP 127.0.0.1:"+port+") - if this port speaks IMAPS (993), use it without --imap-starttls or --imap-no-tls; else look at the server's log")

	smtp := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { c.Send("220 mx.example.test ESMTP"); c.Hang() })
	_, port, _ = strings.Cut(smtp.Addr, ":")
	out = run(t, l.hostileArgs(port)...)
	if out.Code != 2 || !strings.HasPrefix(out.Status(), "SMTP DELIVERY CRITICAL - imap_greeting: got error before greeting: ") || !strings.HasSuffix(out.Status(), "(IMAP 127.0.0.1:"+port+") - this is not a well-behaved IMAP server on this port (--imap-port, --imap-starttls)") {
		t.Errorf("an SMTP server as IMAP: %d\n%s", out.Code, out.Out)
	}

	plain := startHostileIMAP(t, nil)
	args = l.args()
	args[slices.Index(args, "--imap-port")+1] = plain
	out = run(t, args...)
	out.Expect(t, 2, "SMTP DELIVERY CRITICAL - imap_tls: TLS handshake failed: the port speaks plain IMAP, not IMAPS (IMAP 127.0.0.1:"+plain+") - give --imap-starttls (or --imap-port 143), or the IMAPS port (993)")
	if n := len(l.smtp.Messages()); n != 0 {
		t.Errorf("%d probes sent", n)
	}
}

// A certificate that does not carry the name checked points at
// --imap-verify-name, the IMAP side's flag.
func TestIMAPCertName(t *testing.T) {
	l := newLab(t, labOpts{})
	out := run(t, l.args("--imap-verify-name", "other.example.test")...)
	if out.Code != 2 || !strings.Contains(out.Status(), "give --imap-verify-name with a name the certificate carries") {
		t.Errorf("got %d:\n%s", out.Code, out.Out)
	}
}

// The IMAP transcript is kept only when -v shows it.
func TestIMAPTranscriptOnlyWhenShown(t *testing.T) {
	l := newLab(t, labOpts{})
	t.Setenv("DL_SMTP_PASS", smtpPass)
	t.Setenv("DL_IMAP_PASS", imapPass)
	for _, v := range []string{"", "-v"} {
		args := l.args()
		if v != "" {
			args = append(args, v)
		}
		o := &Options{}
		if _, _, err := plugin.Parse(t.Context(), Name, args, o); err != nil {
			t.Fatal(err)
		}
		if err := o.Validate(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		f := Gather(ctx, o)
		cancel()
		kept := slices.ContainsFunc(f.Tr.Lines(), func(s string) bool { return strings.HasPrefix(s, "* imap: ") })
		if kept != (v != "") || f.Sighting == nil || !f.Sighting.Found {
			t.Errorf("%q: IMAP lines kept %v, sighting %+v", v, kept, f.Sighting)
		}
	}
}
