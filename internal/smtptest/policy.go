package smtptest

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Policy is a scripted SMTP server configured to refuse, or to fail to
// refuse, what check_smtp_security asks: each field is one misbehaviour.
// The zero Policy (with TLS set) is a hardened server. It records every
// command it got, so that tests can prove that no DATA was ever sent.
type Policy struct {
	Banner      string        // the greeting's text after "220 "; default "policy.test ESMTP"
	TLS         *tls.Config   // offered with STARTTLS when set
	Implicit    bool          // TLS from the first byte (port 465)
	AuthInClear bool          // AUTH PLAIN LOGIN offered before STARTTLS
	TLSRequired bool          // MAIL refused in clear text with 530 5.7.0 (a submission port)
	OpenRelay   bool          // RCPT to any outside domain taken
	PercentHack bool          // only user%outside@local taken (a sloppy rewrite)
	CatchAll    bool          // every recipient taken, local or not
	Greylist    bool          // every RCPT answered 450 (try again later)
	NoAuthRelay bool          // inside TLS, outside recipients taken without AUTH
	LoginFirst  bool          // inside TLS, every RCPT refused before AUTH (Postfix's permit_sasl_authenticated, reject)
	VRFY        string        // "enum": 250 for postmaster, 550 else; "252": 252 for all; "exim": 252 for postmaster, 501 else; "": 502
	Help        string        // HELP's 214 text; "": 502
	Injectable  bool          // commands pipelined after STARTTLS run inside TLS
	InjectDelay time.Duration // with Injectable: they are answered only after this pause (a slow server)
	Legacy      bool          // accept TLS 1.0 and 1.1 (else 1.2 and up)
	TakeData    bool          // DATA after a RCPT it took: 354 (else 554)
	BareLFEnd   bool          // a message also ends at LF.LF (the SMTP smuggling flaw)
	EndDelay    time.Duration // the reply to a message's end comes only after this pause (a slow content filter)

	mu        sync.Mutex
	cmds      []string
	completed int
}

// Completed is how many messages the server took to their end.
func (p *Policy) Completed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.completed
}

// Commands are the commands received so far, in order, from every session.
func (p *Policy) Commands() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.cmds...)
}

func (p *Policy) record(line string) {
	p.mu.Lock()
	p.cmds = append(p.cmds, line)
	p.mu.Unlock()
}

// tlsConfig is p.TLS with the versions p accepts.
func (p *Policy) tlsConfig() *tls.Config {
	cfg := p.TLS.Clone()
	cfg.MinVersion = tls.VersionTLS12
	if p.Legacy {
		cfg.MinVersion = tls.VersionTLS10
	}
	return cfg
}

// Serve is the fault-server script of the policy.
func (p *Policy) Serve(c *FaultConn) {
	inTLS := false
	if p.Implicit {
		if err := c.StartTLS(p.tlsConfig()); err != nil {
			return
		}
		inTLS = true
	}
	banner := p.Banner
	if banner == "" {
		banner = "policy.test ESMTP"
	}
	if c.Send("220 "+banner) != nil {
		return
	}
	var queued []string // commands read in clear text, run inside TLS (Injectable)
	mailed := false
	for {
		var line string
		if len(queued) > 0 {
			line, queued = queued[0], queued[1:]
		} else {
			var err error
			if line, err = c.ReadLine(); err != nil {
				return
			}
		}
		p.record(line)
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		var reply string
		switch verb {
		case "EHLO":
			exts := []string{"policy.test", "PIPELINING", "ENHANCEDSTATUSCODES"}
			if p.TLS != nil && !inTLS {
				exts = append(exts, "STARTTLS")
			}
			if inTLS || p.AuthInClear {
				exts = append(exts, "AUTH PLAIN LOGIN")
			}
			var b []string
			for i, e := range exts {
				sep := "-"
				if i == len(exts)-1 {
					sep = " "
				}
				b = append(b, "250"+sep+e)
			}
			reply = strings.Join(b, "\r\n")
		case "HELO":
			reply = "250 policy.test"
		case "STARTTLS":
			if p.TLS == nil || inTLS {
				reply = "502 5.5.1 not now"
				break
			}
			for c.r.Buffered() > 0 { // pipelined after STARTTLS
				l, err := c.ReadLine()
				if err != nil {
					return
				}
				if p.Injectable {
					queued = append(queued, l)
				}
			}
			if c.Send("220 2.0.0 Ready to start TLS") != nil || c.StartTLS(p.tlsConfig()) != nil {
				return
			}
			inTLS, mailed = true, false
			if len(queued) > 0 {
				time.Sleep(p.InjectDelay)
			}
			continue
		case "MAIL":
			switch {
			case !inTLS && p.TLSRequired:
				reply = "530 5.7.0 Must issue a STARTTLS command first"
			default:
				reply, mailed = "250 2.1.0 Ok", true
			}
		case "RCPT":
			reply = p.rcpt(arg, inTLS, mailed)
		case "RSET":
			reply, mailed = "250 2.0.0 Ok", false
		case "NOOP":
			reply = "250 2.0.0 Ok"
		case "VRFY", "EXPN":
			reply = p.vrfy(arg)
		case "HELP":
			reply = "502 5.5.1 HELP not available"
			if p.Help != "" {
				reply = "214 " + p.Help
			}
		case "DATA":
			reply = "554 5.5.1 this test server takes no DATA"
			if p.TakeData && mailed {
				if c.Send("354 End data with <CR><LF>.<CR><LF>") != nil || !p.readMessage(c) {
					return
				}
				p.mu.Lock()
				p.completed++
				p.mu.Unlock()
				time.Sleep(p.EndDelay)
				reply, mailed = "250 2.0.0 Ok: queued", false
			}
		case "QUIT":
			_ = c.Send("221 2.0.0 Bye")
			return
		default:
			reply = "500 5.5.2 command not recognized"
		}
		if c.Send(reply) != nil {
			return
		}
	}
}

// readMessage reads a message to its end: CRLF.CRLF, or with BareLFEnd
// also LF.LF. false when the connection ended first.
func (p *Policy) readMessage(c *FaultConn) bool {
	var tail []byte
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return false
		}
		tail = append(tail, b)
		if len(tail) > 5 {
			tail = tail[1:]
		}
		t := string(tail)
		if strings.HasSuffix(t, "\r\n.\r\n") || p.BareLFEnd && strings.HasSuffix(t, "\n.\n") && !strings.HasSuffix(t, "\r\n.\n") {
			return true
		}
	}
}

// rcpt answers RCPT TO:<addr>; the local domain is policy.test.
func (p *Policy) rcpt(arg string, inTLS, mailed bool) string {
	if !mailed {
		return "503 5.5.1 need MAIL first"
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(arg, "TO:"), "<"), ">")
	local := strings.HasSuffix(addr, "@policy.test") && strings.Count(addr, "@") == 1 && !strings.ContainsAny(addr, "%!:\"")
	switch {
	case p.Greylist:
		return "450 4.2.0 <" + addr + ">: Recipient address rejected: Greylisted"
	case inTLS && p.LoginFirst && !p.NoAuthRelay:
		return fmt.Sprintf("554 5.7.1 <%s>: Recipient address rejected: Access denied", addr)
	case p.CatchAll:
		return "250 2.1.5 Ok"
	case local && strings.HasPrefix(addr, "postmaster@"):
		return "250 2.1.5 Ok"
	case local:
		return fmt.Sprintf("550 5.1.1 <%s>: Recipient address rejected: User unknown", addr)
	case p.OpenRelay, inTLS && p.NoAuthRelay:
		return "250 2.1.5 Ok"
	case p.PercentHack && strings.Contains(addr, "%") && strings.HasSuffix(addr, "@policy.test"):
		return "250 2.1.5 Ok"
	}
	return fmt.Sprintf("554 5.7.1 <%s>: Relay access denied", addr)
}

func (p *Policy) vrfy(arg string) string {
	switch p.VRFY {
	case "enum":
		if arg == "postmaster" {
			return "250 2.1.5 Postmaster <postmaster@policy.test>"
		}
		return "550 5.1.1 <" + arg + ">: User unknown"
	case "252":
		return "252 2.0.0 Cannot VRFY user, but will accept message"
	case "exim": // Exim's default: no acl_smtp_vrfy
		if arg == "postmaster" {
			return "252 Administrative prohibition"
		}
		return "501 " + arg + ": recipient address must contain a domain"
	}
	return "502 5.5.1 VRFY command is disabled"
}
