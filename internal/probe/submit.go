package probe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Envelope is what one mail transaction is addressed with.
type Envelope struct {
	From string   // reverse-path without angle brackets; "" is the null sender
	To   []string // forward-paths without angle brackets
	// Params are MAIL FROM parameters the message needs, e.g. "BODY=8BITMIME"
	// or "SMTPUTF8"; the server must offer their extension. SIZE is added
	// on its own where the server offers it (RFC 1870).
	Params []string
}

// SubmitOptions choose how a message is sent.
type SubmitOptions struct {
	BDAT         bool // send the message with BDAT (RFC 3030); the server must offer CHUNKING
	NoPipelining bool // one command at a time even where PIPELINING is offered
	// Partial sends the message to the recipients accepted when others were
	// refused; by default a single refusal withholds it.
	Partial bool
	// Quit makes the transaction the session's last: where MAIL, RCPT and
	// DATA were pipelined, QUIT goes in the same write as the message's
	// end and its reply is read after the message's (Submission.Quit), a
	// round trip saved; the session then ends without another QUIT.
	Quit bool
}

// Exchange is one command of a transaction and the reply it got, as data.
type Exchange struct {
	Phase   Phase
	Command string     // as sent: "MAIL FROM:<a@b> SIZE=42", "RCPT TO:<c@d>", "DATA", ".", "BDAT 42 LAST", "RSET"
	Reply   smtp.Reply // Code 0 when no reply was read
}

// Submission is what one mail transaction showed: every command with its
// reply in order, and what became of the message.
type Submission struct {
	Exchanges  []Exchange
	Pipelined  bool     // MAIL, RCPT and DATA went in one write (RFC 2920)
	BDAT       bool     // the message went with BDAT
	RoundTrips int      // writes after which the client waited for the server
	Accepted   []string // recipients the server accepted (250 or 251)
	Size       int      // bytes of the message, line ends made CRLF, before dot-stuffing
	Sent       bool     // the whole message and its end went out
	// Withheld says why the message was not sent although the transaction
	// got that far ("" when it was sent or an earlier step failed alone).
	Withheld string
	// Quit is the QUIT sent with the message's end (SubmitOptions.Quit),
	// Reply.Code 0 when its reply could not be read; not judged, as Run
	// does not judge one after a failure either.
	Quit *Exchange
}

// Final is the reply to the end of the message (after "." or BDAT LAST).
func (sub *Submission) Final() (smtp.Reply, bool) {
	if n := len(sub.Exchanges); sub.Sent && n > 0 && sub.Exchanges[n-1].Phase == PhaseMessage {
		return sub.Exchanges[n-1].Reply, sub.Exchanges[n-1].Reply.Code != 0
	}
	return smtp.Reply{}, false
}

// ErrNotOffered is wrapped by the error for an extension the transaction
// needs and the server does not offer.
var ErrNotOffered = errors.New("not offered by the server")

// the codes that let a transaction go on, and the command named in errors.
var submitWant = map[Phase]struct {
	cmd   string
	codes []int
}{
	PhaseMail:    {"MAIL FROM", []int{250}},
	PhaseRcpt:    {"RCPT TO", []int{250, 251}},
	PhaseData:    {"DATA", []int{354}},
	PhaseMessage: {"the end of the message", []int{250}},
	PhaseRset:    {"RSET", []int{250}},
}

// Submit sends msg in one transaction: MAIL FROM, RCPT TO for each
// recipient, DATA and the message (or BDAT). Where the server offers
// PIPELINING, MAIL, every RCPT and DATA go in one write and the message in
// a second: two round trips. Each reply is judged by its exact code.
//
// The message is sent only when MAIL and every RCPT were accepted (or, with
// Partial, at least one RCPT). Otherwise it is withheld: RSET ends the
// transaction; after a pipelined DATA answered 354 (a correct server
// refuses DATA without recipients, RFC 2920, but a broken one may not)
// nothing but the message could follow, so the connection is closed and
// Withheld says so.
//
// The error is the first step that failed, an *Error with its phase (mail,
// rcpt, data, message) and reply; sub holds every exchange even then. With
// Partial the message may have been sent although an RCPT was refused: the
// error is that refusal and sub.Sent is true.
func (s *Session) Submit(ctx context.Context, env Envelope, msg []byte, o SubmitOptions) (*Submission, error) {
	msg = smtp.Canonical(msg)
	sub := &Submission{Size: len(msg), BDAT: o.BDAT}
	mail, err := s.mailCommand(env, o, len(msg))
	if err != nil {
		return sub, err
	}
	t := &transaction{s: s, sub: sub, env: env, opt: o}
	cmds := []Exchange{{Phase: PhaseMail, Command: mail}}
	for _, to := range env.To {
		cmds = append(cmds, Exchange{Phase: PhaseRcpt, Command: "RCPT TO:<" + to + ">"})
	}
	if !o.BDAT {
		cmds = append(cmds, Exchange{Phase: PhaseData, Command: "DATA"})
	}
	if s.Ext.Has("PIPELINING") && !o.NoPipelining {
		sub.Pipelined = true
		err = t.pipelined(ctx, cmds)
	} else {
		err = t.lockstep(ctx, cmds)
	}
	if err == nil && (t.ready || o.BDAT && t.proceed()) {
		err = t.send(ctx, msg)
	}
	return sub, firstErr(t.refusal, err)
}

// mailCommand is the MAIL FROM line, once the server is known to offer what
// the transaction needs.
func (s *Session) mailCommand(env Envelope, o SubmitOptions, size int) (string, error) {
	switch {
	case s.Target.LMTP:
		return "", &Error{Phase: PhaseMail, Kind: KindUsage, Err: errors.New("sending a message over LMTP is not supported: use SMTP")}
	case len(env.To) == 0:
		return "", &Error{Phase: PhaseRcpt, Kind: KindUsage, Err: errors.New("no recipient to send the message to")}
	}
	need := map[string]string{} // extension → what needs it
	if o.BDAT {
		need["CHUNKING"] = "BDAT"
	}
	params := []string{"MAIL FROM:<" + env.From + ">"}
	if s.Ext.Has("SIZE") {
		params = append(params, "SIZE="+strconv.Itoa(size))
	}
	for _, p := range env.Params {
		kw, val, _ := strings.Cut(strings.ToUpper(p), "=")
		switch kw {
		case "BODY":
			need[val] = p
		case "SMTPUTF8", "REQUIRETLS":
			need[kw] = p
		}
		params = append(params, p)
	}
	exts := make([]string, 0, len(need))
	for ext := range need {
		exts = append(exts, ext)
	}
	slices.Sort(exts)
	for _, ext := range exts {
		if !s.Ext.Has(ext) {
			return "", &Error{Phase: PhaseMail, Kind: KindReply,
				Err: fmt.Errorf("%s is %w, and %s needs it: send without it or through a server that offers it", ext, ErrNotOffered, need[ext])}
		}
	}
	return strings.Join(params, " "), nil
}

// transaction is the state of one Submit.
type transaction struct {
	s       *Session
	sub     *Submission
	env     Envelope
	opt     SubmitOptions
	refusal error // the first reply that did not let the transaction go on
	mailOK  bool
	ready   bool // DATA was answered 354
	stop    bool // a failure ended the transaction: nothing more is sent
}

// record adds an exchange and judges its reply; the first refusal is kept.
// A 421 (the server is closing) stops the transaction.
func (t *transaction) record(ctx context.Context, ex Exchange) {
	t.sub.Exchanges = append(t.sub.Exchanges, ex)
	w := submitWant[ex.Phase]
	err := smtp.Expect(ex.Reply, w.cmd, w.codes...)
	switch {
	case err == nil && ex.Phase == PhaseMail:
		t.mailOK = true
	case err == nil && ex.Phase == PhaseData:
		t.ready = t.proceed()
	case err == nil && ex.Phase == PhaseRcpt && t.mailOK:
		t.sub.Accepted = append(t.sub.Accepted, strings.TrimSuffix(strings.TrimPrefix(ex.Command, "RCPT TO:<"), ">"))
	case err != nil && t.refusal == nil:
		t.refusal = fail(ctx, ex.Phase, err)
	}
	if ex.Reply.Code == 421 {
		t.stop = true
	}
}

// unanswered records commands sent whose replies were never read, and
// stops the transaction with err.
func (t *transaction) unanswered(err error, cmds ...Exchange) error {
	t.sub.Exchanges = append(t.sub.Exchanges, cmds...)
	t.stop = true
	return err
}

// proceed reports whether the message may be sent: see Submit.
func (t *transaction) proceed() bool {
	n := len(t.sub.Accepted)
	return !t.stop && t.mailOK && n > 0 && (n == len(t.env.To) || t.opt.Partial)
}

// lockstep sends one command at a time, stopping at a refused MAIL, and
// withholds DATA (sending RSET) when the recipients do not allow it.
func (t *transaction) lockstep(ctx context.Context, cmds []Exchange) error {
	for _, ex := range cmds {
		if ex.Phase == PhaseData && !t.proceed() {
			break
		}
		rep, err := t.s.Cmd(ctx, ex.Phase, ex.Command)
		t.sub.RoundTrips++
		if err != nil {
			return t.unanswered(err, ex)
		}
		ex.Reply = rep
		t.record(ctx, ex)
		if t.stop || !t.mailOK {
			break
		}
	}
	return t.withhold(ctx)
}

// pipelined sends all commands in one write and reads their replies in
// order, each timed in its phase (the write in the first).
func (t *transaction) pipelined(ctx context.Context, cmds []Exchange) error {
	lines := make([]string, len(cmds))
	for i, ex := range cmds {
		lines[i] = ex.Command
	}
	var batch *smtp.Batch
	t.sub.RoundTrips++
	for i, ex := range cmds {
		err := t.s.timed(ctx, ex.Phase, func() error {
			var err error
			if batch == nil {
				if batch, err = t.s.conn.SendBatch(lines...); err != nil {
					return err
				}
			}
			ex.Reply, err = batch.Next()
			return err
		})
		if err != nil {
			return t.unanswered(fail(ctx, ex.Phase, err), append([]Exchange{ex}, cmds[i+1:]...)...)
		}
		if ex.Phase == PhaseData && !t.proceed() {
			t.dataWithheld(ex)
			break
		}
		t.record(ctx, ex)
	}
	return t.withhold(ctx)
}

// dataWithheld follows a pipelined DATA when the message may not be sent.
// A refusal is what RFC 2920 asks of the server, and no fault: RSET ends
// the transaction. After a 354 only the message could follow, so the
// connection is closed, which ends the transaction without one.
func (t *transaction) dataWithheld(ex Exchange) {
	t.sub.Exchanges = append(t.sub.Exchanges, ex)
	if ex.Reply.Code != 354 {
		return // withhold sends RSET
	}
	t.stop = true
	t.s.HangUp()
	t.s.Close()
	why := t.why()
	if len(t.sub.Accepted) == 0 {
		why += ", yet the server answered DATA with 354 (RFC 2920 wants 503 or 554)"
	}
	t.sub.Withheld = why + ": the connection was closed without sending the message"
	t.s.Transcript.Note("connection closed after the 354: " + why)
}

// withhold ends a transaction whose message may not be sent, with RSET
// where MAIL opened it, so that the session stays usable.
func (t *transaction) withhold(ctx context.Context) error {
	if t.proceed() || t.sub.Withheld != "" {
		return nil
	}
	if !t.stop {
		t.sub.Withheld = t.why() + ": the message was not sent"
	}
	if !t.mailOK || t.stop {
		return nil
	}
	rep, err := t.s.Cmd(ctx, PhaseRset, "RSET")
	t.sub.RoundTrips++
	if err != nil {
		return t.unanswered(err, Exchange{Phase: PhaseRset, Command: "RSET"})
	}
	t.record(ctx, Exchange{Phase: PhaseRset, Command: "RSET", Reply: rep})
	return nil
}

// why words what withholds the message.
func (t *transaction) why() string {
	switch n := len(t.sub.Accepted); {
	case !t.mailOK:
		return "MAIL FROM was refused"
	case n == 0:
		return "no recipient was accepted"
	default:
		return fmt.Sprintf("%d of %d recipients were refused", len(t.env.To)-n, len(t.env.To))
	}
}

// send writes the message after DATA's 354, or with BDAT, and judges the
// reply to its end.
func (t *transaction) send(ctx context.Context, msg []byte) error {
	ex := Exchange{Phase: PhaseMessage, Command: "."}
	if t.opt.BDAT {
		ex.Command = smtp.BDATCommand(len(msg))
	}
	var then []string
	if t.opt.Quit && t.sub.Pipelined && !t.opt.BDAT {
		then = []string{"QUIT"}
	}
	var batch *smtp.Batch
	t.sub.RoundTrips++
	err := t.s.timed(ctx, PhaseMessage, func() error {
		var err error
		if t.opt.BDAT {
			err = t.s.conn.WriteBDAT(ctx, msg)
		} else {
			batch, err = t.s.conn.WriteDataThen(ctx, msg, then...)
		}
		if err != nil {
			return err
		}
		t.sub.Sent = true
		if batch != nil {
			ex.Reply, err = batch.Next()
		} else {
			ex.Reply, err = t.s.conn.ReadReply()
		}
		return err
	})
	if err != nil {
		return t.unanswered(fail(ctx, PhaseMessage, err), ex)
	}
	t.record(ctx, ex)
	if len(then) > 0 {
		t.quit(ctx, batch)
	}
	return nil
}

// quit reads the reply to the QUIT sent with the message's end, and ends
// the session: nothing may follow QUIT.
func (t *transaction) quit(ctx context.Context, batch *smtp.Batch) {
	q := Exchange{Phase: PhaseQuit, Command: "QUIT"}
	_ = t.s.timed(ctx, PhaseQuit, func() error {
		var err error
		q.Reply, err = batch.Next()
		return err
	})
	t.sub.Quit = &q
	t.s.HangUp()
}

// firstErr is the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
