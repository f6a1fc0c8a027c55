package smtptest

import (
	"strings"
	"time"
)

// Exim 4.96's replies as Debian's exim4-daemon-light sends them with its
// default configuration, for scripts that play Exim.
const (
	EximBanner       = "220 mail.example.test ESMTP Exim 4.96 Fri, 04 Dec 2026 11:00:00 +0000"
	EximUnrecognized = "500 unrecognized command"
	EximBye          = "221 mail.example.test closing connection"
)

// EximAnswer is Exim's reply to one command line, as lines for Send.
func EximAnswer(line string) []string {
	verb, _, _ := strings.Cut(line, " ")
	switch strings.ToUpper(verb) {
	case "EHLO":
		return []string{"250-mail.example.test Hello localhost [127.0.0.1]", "250-SIZE 52428800", "250-8BITMIME",
			"250-PIPELINING", "250-PIPECONNECT", "250-CHUNKING", "250-STARTTLS", "250 HELP"}
	case "HELO":
		return []string{"250 mail.example.test Hello localhost [127.0.0.1]"}
	case "MAIL", "NOOP":
		return []string{"250 OK"}
	case "RCPT":
		return []string{"250 Accepted"}
	case "RSET":
		return []string{"250 Reset OK"}
	case "QUIT":
		return []string{EximBye}
	}
	return []string{EximUnrecognized}
}

// Segments says how a server's replies are cut into writes, which decides
// what a client finds waiting when it reads one.
type Segments int

// How EximNoProxy writes its replies.
const (
	// SegGreetLate: the server reads the PROXY line before it greets and
	// writes the greeting and the answer to the line at once.
	SegGreetLate Segments = iota
	// SegBehind: every answer is held until the next line comes, so each
	// read of the client finds exactly one reply, one command late; the
	// last (QUIT's) follows a moment later.
	SegBehind
	// SegPaired: as SegBehind, but the answers to EHLO and HELO go out in
	// one write: the client finds more than it asked for.
	SegPaired
	// SegPairedEHLO: as SegBehind, but the answers to the PROXY line and
	// to EHLO go out in one write, once EHLO came.
	SegPairedEHLO
	// SegAtOnce: every answer is written as soon as its line came, as Exim
	// does; what the client finds waiting depends on timing.
	SegAtOnce
)

// EximNoProxy plays Exim on a port that does not expect the PROXY protocol
// (no hosts_proxy): it reads the client's PROXY v1 header as a command line
// and answers it "500 unrecognized command", then answers every line in
// order. A client that does not notice reads each reply one command late.
func EximNoProxy(seg Segments) func(*FaultConn) {
	return func(c *FaultConn) {
		var held []string
		if seg == SegGreetLate {
			line, err := c.ReadLine()
			if err != nil || c.Send(EximBanner, EximAnswer(line)[0]) != nil {
				return
			}
		} else if c.Send(EximBanner) != nil {
			return
		}
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			answer := EximAnswer(line)
			verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
			switch {
			case seg == SegGreetLate || seg == SegAtOnce:
				err = c.Send(answer...)
			case seg == SegPaired && verb == "HELO", seg == SegPairedEHLO && verb == "EHLO":
				err = c.Send(append(held, answer...)...)
				held = nil
			case held == nil:
				held = answer
				continue
			default:
				err = c.Send(held...)
				held = answer
			}
			if err != nil {
				return
			}
			if strings.EqualFold(line, "QUIT") {
				if held != nil && c.Pause(100*time.Millisecond) == nil {
					_ = c.Send(held...)
				}
				return
			}
		}
	}
}
