package probe_test

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// mta is a scripted server for one transaction. With group > 0 it reads
// that many command lines before it answers any (a client that waits for a
// reply before the next command would hang): what PIPELINING allows.
type mta struct {
	exts    []string
	group   int
	replies map[string]string // by whole line, then by verb; "." is the end of the message
	stall   bool              // never answer the end of the message
	// quitWithDot reads the line after the message before it answers
	// either, and answers both at once: a client that waits for the 250
	// before its QUIT hangs.
	quitWithDot bool

	mu    sync.Mutex
	heard []string
	body  string // the message as received, dot-stuffing undone
}

func (m *mta) hear(s string) {
	m.mu.Lock()
	m.heard = append(m.heard, s)
	m.mu.Unlock()
}

func (m *mta) reply(line string) string {
	verb, _, _ := strings.Cut(line, " ")
	if r, ok := m.replies[line]; ok {
		return r
	}
	if r, ok := m.replies[verb]; ok {
		return r
	}
	return map[string]string{"MAIL": "250 2.1.0 Ok", "RCPT": "250 2.1.5 Ok", "DATA": "354 End data with <CR><LF>.<CR><LF>",
		".": "250 2.0.0 Ok: queued as 4XyZ1x2abcz", "BDAT": "250 2.0.0 Ok: queued as 4XyZ1x2abcz", "RSET": "250 2.0.0 Ok", "QUIT": "221 2.0.0 Bye"}[verb]
}

func (m *mta) serve(c *smtptest.FaultConn) {
	_ = c.Greet()
	if c.EHLO(m.exts...) != nil {
		return
	}
	for {
		var lines []string
		for n := max(m.group, 1); len(lines) < n; {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			m.hear(line)
			lines = append(lines, line)
			if line == "QUIT" || strings.HasPrefix(line, "BDAT") || line == "RSET" {
				break // not part of a pipelined group here
			}
		}
		var out []string
		for _, l := range lines {
			out = append(out, m.reply(l))
		}
		last := lines[len(lines)-1]
		switch {
		case strings.HasPrefix(last, "BDAT"):
			n, _ := strconv.Atoi(strings.Fields(last)[1])
			b, err := c.ReadFull(n)
			if err != nil {
				return
			}
			m.hear("<message>")
			m.mu.Lock()
			m.body = string(b)
			m.mu.Unlock()
		case last == "DATA" && strings.HasPrefix(out[len(out)-1], "354"):
			if c.Send(out...) != nil || !m.readMessage(c) {
				return
			}
			out = []string{m.reply(".")}
			if m.quitWithDot {
				line, err := c.ReadLine()
				if err != nil {
					return
				}
				m.hear(line)
				_ = c.Send(append(out, m.reply(line))...)
				return
			}
			if m.stall {
				c.Hang()
				return
			}
		}
		if c.Send(out...) != nil || last == "QUIT" || strings.HasPrefix(out[len(out)-1], "421") {
			return
		}
	}
}

func (m *mta) readMessage(c *smtptest.FaultConn) bool {
	var b strings.Builder
	for {
		line, err := c.ReadLine()
		if err != nil {
			return false
		}
		if line == "." {
			m.hear("<message>")
			m.mu.Lock()
			m.body = b.String()
			m.mu.Unlock()
			return true
		}
		b.WriteString(strings.TrimPrefix(line, ".") + "\r\n")
	}
}

func (m *mta) heardAll() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.heard, "|")
}

// submit runs one plan whose step is Submit against m.
func submit(t *testing.T, m *mta, env probe.Envelope, msg string, o probe.SubmitOptions, timeout time.Duration) (probe.Outcome, *probe.Submission) {
	t.Helper()
	done := make(chan struct{}, 1)
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { m.serve(c); done <- struct{}{} })
	ap := netip.MustParseAddrPort(srv.Addr)
	var sub *probe.Submission
	p := probe.Plan{Target: probe.Target{Host: "127.0.0.1", Port: int(ap.Port()), HeloName: "probe.test"},
		Steps: func(ctx context.Context, s *probe.Session) error {
			var err error
			sub, err = s.Submit(ctx, env, []byte(msg), o)
			return err
		}}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out := probe.Run(ctx, p)
	select { // the script ends when the client closes: heard is complete
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("the server script did not end")
	}
	srv.Close()
	return out, sub
}

const testMsg = "Subject: probe\r\n\r\n.a line with a dot\r\nbye\r\n"

func exchanges(sub *probe.Submission) string {
	var s []string
	for _, ex := range sub.Exchanges {
		s = append(s, string(ex.Phase)+" "+ex.Command+" → "+ex.Reply.String())
	}
	return strings.Join(s, "; ")
}

// TestSubmit runs transactions against scripted servers, pipelined and
// not, and compares what the server heard, the exchanges recorded, the
// round trips and the error.
func TestSubmit(t *testing.T) {
	two := probe.Envelope{From: "a@x.test", To: []string{"b@x.test", "c@x.test"}}
	one := probe.Envelope{From: "a@x.test", To: []string{"b@x.test"}}
	size := strconv.Itoa(len(testMsg))
	refuseC := map[string]string{"RCPT TO:<c@x.test>": "550 5.1.1 <c@x.test>: Recipient address rejected"}
	refuseAll := map[string]string{"RCPT": "550 5.1.1 Recipient address rejected"}
	cases := []struct {
		name       string
		m          *mta
		env        probe.Envelope
		opt        probe.SubmitOptions
		heard      string
		exchanges  string
		roundTrips int
		err        string
		withheld   string
		sent       bool
	}{
		{
			name: "pipelined: MAIL, RCPT and DATA in one write, the message in a second",
			m:    &mta{exts: []string{"PIPELINING", "SIZE 10240000"}, group: 4}, env: two,
			heard:      "MAIL FROM:<a@x.test> SIZE=" + size + "|RCPT TO:<b@x.test>|RCPT TO:<c@x.test>|DATA|<message>|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> SIZE=" + size + " → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; rcpt RCPT TO:<c@x.test> → 250 2.1.5 Ok; data DATA → 354 End data with <CR><LF>.<CR><LF>; message . → 250 2.0.0 Ok: queued as 4XyZ1x2abcz",
			roundTrips: 2, sent: true,
		},
		{
			name: "lockstep without PIPELINING",
			m:    &mta{}, env: two,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|RCPT TO:<c@x.test>|DATA|<message>|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; rcpt RCPT TO:<c@x.test> → 250 2.1.5 Ok; data DATA → 354 End data with <CR><LF>.<CR><LF>; message . → 250 2.0.0 Ok: queued as 4XyZ1x2abcz",
			roundTrips: 5, sent: true,
		},
		{
			name: "NoPipelining although offered",
			m:    &mta{exts: []string{"PIPELINING"}}, env: one, opt: probe.SubmitOptions{NoPipelining: true},
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA|<message>|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; data DATA → 354 End data with <CR><LF>.<CR><LF>; message . → 250 2.0.0 Ok: queued as 4XyZ1x2abcz",
			roundTrips: 4, sent: true,
		},
		{
			name: "pipelined, one of two refused: the 354 is followed by closing, not by the message",
			m:    &mta{exts: []string{"PIPELINING"}, group: 4, replies: refuseC}, env: two,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|RCPT TO:<c@x.test>|DATA",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; rcpt RCPT TO:<c@x.test> → 550 5.1.1 <c@x.test>: Recipient address rejected; data DATA → 354 End data with <CR><LF>.<CR><LF>",
			roundTrips: 1, err: "rcpt: 550 5.1.1 <c@x.test>: Recipient address rejected",
			withheld: "1 of 2 recipients were refused: the connection was closed without sending the message",
		},
		{
			name: "lockstep, one of two refused: RSET instead of DATA",
			m:    &mta{replies: refuseC}, env: two,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|RCPT TO:<c@x.test>|RSET|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; rcpt RCPT TO:<c@x.test> → 550 5.1.1 <c@x.test>: Recipient address rejected; rset RSET → 250 2.0.0 Ok",
			roundTrips: 4, err: "rcpt: 550 5.1.1 <c@x.test>: Recipient address rejected",
			withheld: "1 of 2 recipients were refused: the message was not sent",
		},
		{
			name: "Partial: one of two refused, sent to the other",
			m:    &mta{exts: []string{"PIPELINING"}, group: 4, replies: refuseC}, env: two, opt: probe.SubmitOptions{Partial: true},
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|RCPT TO:<c@x.test>|DATA|<message>|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; rcpt RCPT TO:<c@x.test> → 550 5.1.1 <c@x.test>: Recipient address rejected; data DATA → 354 End data with <CR><LF>.<CR><LF>; message . → 250 2.0.0 Ok: queued as 4XyZ1x2abcz",
			roundTrips: 2, err: "rcpt: 550 5.1.1 <c@x.test>: Recipient address rejected", sent: true,
		},
		{
			name: "pipelined, all refused, DATA refused as RFC 2920 wants: RSET",
			m:    &mta{exts: []string{"PIPELINING"}, group: 3, replies: map[string]string{"RCPT": "550 5.1.1 Recipient address rejected", "DATA": "554 5.5.1 Error: no valid recipients"}}, env: one,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA|RSET|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 550 5.1.1 Recipient address rejected; data DATA → 554 5.5.1 Error: no valid recipients; rset RSET → 250 2.0.0 Ok",
			roundTrips: 2, err: "rcpt: 550 5.1.1 Recipient address rejected",
			withheld: "no recipient was accepted: the message was not sent",
		},
		{
			name: "pipelined, all refused, yet DATA answered 354: closed, never the message",
			m:    &mta{exts: []string{"PIPELINING"}, group: 3, replies: refuseAll}, env: one,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 550 5.1.1 Recipient address rejected; data DATA → 354 End data with <CR><LF>.<CR><LF>",
			roundTrips: 1, err: "rcpt: 550 5.1.1 Recipient address rejected",
			withheld: "no recipient was accepted, yet the server answered DATA with 354 (RFC 2920 wants 503 or 554): the connection was closed without sending the message",
		},
		{
			name: "pipelined, MAIL refused: no RSET",
			m:    &mta{exts: []string{"PIPELINING"}, group: 3, replies: map[string]string{"MAIL": "553 5.7.1 <a@x.test>: Sender address rejected", "RCPT": "503 5.5.1 Error: need MAIL command", "DATA": "503 5.5.1 Error: need RCPT command"}}, env: one,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 553 5.7.1 <a@x.test>: Sender address rejected; rcpt RCPT TO:<b@x.test> → 503 5.5.1 Error: need MAIL command; data DATA → 503 5.5.1 Error: need RCPT command",
			roundTrips: 1, err: "mail: 553 5.7.1 <a@x.test>: Sender address rejected",
			withheld: "MAIL FROM was refused: the message was not sent",
		},
		{
			name: "lockstep, MAIL refused: no RCPT",
			m:    &mta{replies: map[string]string{"MAIL": "553 5.7.1 <a@x.test>: Sender address rejected"}}, env: one,
			heard:      "MAIL FROM:<a@x.test>|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 553 5.7.1 <a@x.test>: Sender address rejected",
			roundTrips: 1, err: "mail: 553 5.7.1 <a@x.test>: Sender address rejected",
			withheld: "MAIL FROM was refused: the message was not sent",
		},
		{
			name: "452 at RCPT",
			m:    &mta{replies: map[string]string{"RCPT": "452 4.5.3 Error: too many recipients"}}, env: one,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|RSET|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 452 4.5.3 Error: too many recipients; rset RSET → 250 2.0.0 Ok",
			roundTrips: 3, err: "rcpt: 452 4.5.3 Error: too many recipients",
			withheld: "no recipient was accepted: the message was not sent",
		},
		{
			name: "554 after the dot",
			m:    &mta{exts: []string{"PIPELINING"}, group: 3, replies: map[string]string{".": "554 5.7.1 Rejected by content filter"}}, env: one,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA|<message>|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; data DATA → 354 End data with <CR><LF>.<CR><LF>; message . → 554 5.7.1 Rejected by content filter",
			roundTrips: 2, err: "message: 554 5.7.1 Rejected by content filter", sent: true,
		},
		{
			name: "DATA refused although recipients were accepted",
			m:    &mta{exts: []string{"PIPELINING"}, group: 3, replies: map[string]string{"DATA": "554 5.7.1 No thanks"}}, env: one,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; data DATA → 554 5.7.1 No thanks",
			roundTrips: 1, err: "data: 554 5.7.1 No thanks",
		},
		{
			name: "a 354 with a reply already behind it is unsolicited: the message is not sent",
			m:    &mta{exts: []string{"PIPELINING"}, group: 3, replies: map[string]string{"DATA": "354 go ahead\r\n250 2.0.0 Ok: queued as FAKE"}}, env: one,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; data DATA → 354 go ahead",
			roundTrips: 1, err: `data: the server sent "250 2.0.0 Ok: queued as FAKE" after its reply, before the next command`,
		},
		{
			name: "BDAT, pipelined: MAIL and RCPT in one write, BDAT and the message in a second",
			m:    &mta{exts: []string{"PIPELINING", "CHUNKING"}, group: 2}, env: one, opt: probe.SubmitOptions{BDAT: true},
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|BDAT " + size + " LAST|<message>|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; message BDAT " + size + " LAST → 250 2.0.0 Ok: queued as 4XyZ1x2abcz",
			roundTrips: 2, sent: true,
		},
		{
			name: "BDAT not offered",
			m:    &mta{exts: []string{"PIPELINING"}}, env: one, opt: probe.SubmitOptions{BDAT: true},
			heard: "QUIT",
			err:   "mail: CHUNKING is not offered by the server, and BDAT needs it: send without it or through a server that offers it",
		},
		{
			name: "SMTPUTF8 needed, not offered",
			m:    &mta{exts: []string{"8BITMIME"}}, env: probe.Envelope{From: "a@x.test", To: []string{"b@x.test"}, Params: []string{"BODY=8BITMIME", "SMTPUTF8"}},
			heard: "QUIT",
			err:   "mail: SMTPUTF8 is not offered by the server, and SMTPUTF8 needs it: send without it or through a server that offers it",
		},
		{
			name: "8BITMIME and SMTPUTF8 offered: the parameters go on MAIL FROM",
			m:    &mta{exts: []string{"8BITMIME", "SMTPUTF8"}}, env: probe.Envelope{From: "a@x.test", To: []string{"b@x.test"}, Params: []string{"BODY=8BITMIME", "SMTPUTF8"}},
			heard:      "MAIL FROM:<a@x.test> BODY=8BITMIME SMTPUTF8|RCPT TO:<b@x.test>|DATA|<message>|QUIT",
			exchanges:  "mail MAIL FROM:<a@x.test> BODY=8BITMIME SMTPUTF8 → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 250 2.1.5 Ok; data DATA → 354 End data with <CR><LF>.<CR><LF>; message . → 250 2.0.0 Ok: queued as 4XyZ1x2abcz",
			roundTrips: 4, sent: true,
		},
		{
			name: "421 at RCPT: nothing more is sent",
			m:    &mta{replies: map[string]string{"RCPT": "421 4.3.2 Shutting down"}}, env: two,
			heard:      "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>",
			exchanges:  "mail MAIL FROM:<a@x.test> → 250 2.1.0 Ok; rcpt RCPT TO:<b@x.test> → 421 4.3.2 Shutting down",
			roundTrips: 2, err: "rcpt: 421 4.3.2 Shutting down",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, sub := submit(t, tc.m, tc.env, testMsg, tc.opt, 5*time.Second)
			if got := tc.m.heardAll(); got != tc.heard {
				t.Errorf("server heard\n %q\nwant\n %q", got, tc.heard)
			}
			if got := errText(out.Err); got != tc.err {
				t.Errorf("err = %q\n want %q", got, tc.err)
			}
			if sub == nil {
				t.Fatal("no submission")
			}
			if got := exchanges(sub); got != tc.exchanges {
				t.Errorf("exchanges\n %s\nwant\n %s", got, tc.exchanges)
			}
			if sub.RoundTrips != tc.roundTrips || sub.Withheld != tc.withheld || sub.Sent != tc.sent {
				t.Errorf("round trips %d, withheld %q, sent %v; want %d, %q, %v", sub.RoundTrips, sub.Withheld, sub.Sent, tc.roundTrips, tc.withheld, tc.sent)
			}
			if tc.sent && tc.m.body != testMsg {
				t.Errorf("the server received %q, want %q", tc.m.body, testMsg)
			}
		})
	}
}

// TestSubmitStallAfterData: a server that takes the message and never
// answers its end is a timeout of the message phase, at the deadline.
func TestSubmitStallAfterData(t *testing.T) {
	m := &mta{exts: []string{"PIPELINING"}, group: 3, stall: true}
	start := time.Now()
	out, sub := submit(t, m, probe.Envelope{From: "a@x.test", To: []string{"b@x.test"}}, testMsg, probe.SubmitOptions{}, 300*time.Millisecond)
	if out.Err == nil || out.Err.Phase != probe.PhaseMessage || out.Err.Kind != probe.KindTimeout {
		t.Fatalf("err = %#v, want a timeout in the message phase", out.Err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v, want about the 300ms deadline", took)
	}
	if !sub.Sent || m.heardAll() != "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA|<message>" {
		t.Errorf("sent %v, heard %q", sub.Sent, m.heardAll())
	}
	if _, ok := sub.Final(); ok {
		t.Error("a final reply without one read")
	}
}

// TestSubmitTimings: each phase of a pipelined transaction is timed, and
// the final reply is the one to the end of the message.
func TestSubmitTimings(t *testing.T) {
	m := &mta{exts: []string{"PIPELINING"}, group: 4}
	out, sub := submit(t, m, probe.Envelope{From: "a@x.test", To: []string{"b@x.test", "c@x.test"}}, testMsg, probe.SubmitOptions{}, 5*time.Second)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	for _, ph := range []probe.Phase{probe.PhaseMail, probe.PhaseRcpt, probe.PhaseData, probe.PhaseMessage} {
		if _, ok := out.S.Duration(ph); !ok {
			t.Errorf("phase %s not timed", ph)
		}
	}
	var rcpts int
	for _, tm := range out.S.Timings {
		if tm.Phase == probe.PhaseRcpt {
			rcpts++
		}
	}
	if rcpts != 2 {
		t.Errorf("%d rcpt timings, want 2", rcpts)
	}
	if rep, ok := sub.Final(); !ok || rep.String() != "250 2.0.0 Ok: queued as 4XyZ1x2abcz" {
		t.Errorf("final %q %v", rep.String(), ok)
	}
	if strings.Join(sub.Accepted, ",") != "b@x.test,c@x.test" || sub.Size != len(testMsg) {
		t.Errorf("accepted %q, size %d", sub.Accepted, sub.Size)
	}
}

// TestSubmitQuit: with PIPELINING, Quit sends QUIT with the message's end
// and reads the 250 and the 221 in turn (here they arrive together); the
// session then ends without a second QUIT. Without PIPELINING the QUIT
// comes after the 250, from Run.
func TestSubmitQuit(t *testing.T) {
	one := probe.Envelope{From: "a@x.test", To: []string{"b@x.test"}}
	m := &mta{exts: []string{"PIPELINING"}, group: 3, quitWithDot: true}
	out, sub := submit(t, m, one, testMsg, probe.SubmitOptions{Quit: true}, 3*time.Second)
	if out.Err != nil || !sub.Sent || sub.RoundTrips != 2 {
		t.Fatalf("err %v, sent %t, round trips %d; want nil, true, 2", out.Err, sub.Sent, sub.RoundTrips)
	}
	if got, want := m.heardAll(), "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA|<message>|QUIT"; got != want {
		t.Errorf("heard %q, want %q", got, want)
	}
	if final, ok := sub.Final(); !ok || final.String() != "250 2.0.0 Ok: queued as 4XyZ1x2abcz" {
		t.Errorf("final reply %q, %t", final.String(), ok)
	}
	if sub.Quit == nil || sub.Quit.Reply.String() != "221 2.0.0 Bye" {
		t.Errorf("QUIT exchange %+v, want its 221", sub.Quit)
	}
	if _, ok := out.S.Duration(probe.PhaseQuit); !ok {
		t.Error("no quit timing")
	}

	m = &mta{quitWithDot: false}
	out, sub = submit(t, m, one, testMsg, probe.SubmitOptions{Quit: true}, 3*time.Second)
	if got, want := m.heardAll(), "MAIL FROM:<a@x.test>|RCPT TO:<b@x.test>|DATA|<message>|QUIT"; got != want || sub.Quit != nil || out.QuitReply.Code != 221 {
		t.Errorf("without PIPELINING: heard %q (want %q), Submit's QUIT %+v, Run's QUIT reply %q", got, want, sub.Quit, out.QuitReply.String())
	}
}
