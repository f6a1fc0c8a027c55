package securitycheck

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// Rate is what the rate probe saw: the connections it opened one after
// another, and the first that the server refused or answered 4xx/5xx.
type Rate struct {
	Asked, Opened int
	Elapsed       time.Duration
	Limited       *probe.Error // the refusal that showed a limit; nil when none came
	Stopped       bool         // half of -t passed before all N were opened
	Stalled       *probe.Error // the timeout of one more that got no greeting or EHLO reply in time (not counted in Opened)
}

// rateProbe opens up to N sessions (banner, EHLO, QUIT) as fast as they go,
// within half of what is left of -t, and stops at the first refusal.
func (o *Options) rateProbe(ctx context.Context) *Rate {
	r := &Rate{Asked: o.RateProbe}
	began := time.Now()
	until := began.Add(time.Second)
	if dl, ok := ctx.Deadline(); ok {
		until = began.Add(time.Until(dl) / 2)
	}
	t := o.target(o.rateMode())
	t.Insecure = true // the certificate is not the question
	for r.Opened < r.Asked {
		if time.Now().After(until) {
			r.Stopped = true
			break
		}
		out := r.open(ctx, t, until)
		r.Opened++
		if e := out.Err; e != nil {
			if e.Kind == probe.KindTimeout {
				r.Opened--
				r.Stopped, r.Stalled = true, e
				break
			}
			r.Limited = e
			break
		}
	}
	r.Elapsed = time.Since(began)
	return r
}

// rateMode is the rate probe's TLS: implicit where the port wants it,
// else none (STARTTLS would only slow the probe down).
func (o *Options) rateMode() probe.TLSMode {
	if o.Mode() == probe.TLSImplicit {
		return probe.TLSImplicit
	}
	return probe.TLSNone
}

// open runs one session of the probe, ended at until: a server that
// stalls one must not hold the probe past its half of -t.
func (r *Rate) open(ctx context.Context, t probe.Target, until time.Time) probe.Outcome {
	ctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	return probe.Run(ctx, probe.Plan{Target: t, NoWaitQuit: true, OwnChainCheck: true})
}

// smuggleEnds are the end-of-data sequences an attacker can get through
// another server's outbound side (SEC Consult's SMTP-Smuggling-Tools,
// inbound list); the proper one is CRLF.CRLF.
var smuggleEnds = []string{"\n.\n", "\n.\r\n", "\r.\r\n", "\r\n\x00.\r\n", "\n.\r", "\r.\n", "\r.\r"}

// smuggleMinWait is the least wait for a reply to a false end that tells
// anything: smtpsmug's 5 s. A server may answer late (a content filter, a
// slow queue), so a shorter wait without a reply proves nothing.
const smuggleMinWait = 5 * time.Second

// smuggleUntil is when every smuggling session stops waiting for a reply
// to its false end: all of what is left of -t, less a margin to judge and
// print the verdict before the deadline.
func smuggleUntil(ctx context.Context) time.Time {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(2 * smuggleMinWait)
	}
	return dl.Add(-max(300*time.Millisecond, time.Until(dl)/20))
}

// smuggleAll runs one smuggling session per end of smuggleEnds, all at
// once, so that each waits for its reply until the same instant.
func (o *Options) smuggleAll(ctx context.Context) []*Run {
	until := smuggleUntil(ctx)
	var jobs []fanout.Job[*Run]
	for _, end := range smuggleEnds {
		name := fmt.Sprintf("the smuggling session ending %q", end)
		jobs = append(jobs, fanout.Job[*Run]{Name: name, Run: func(ctx context.Context) *Run {
			return o.session(ctx, name, o.relayMode(), func(ctx context.Context, st *stepper) error {
				return o.smuggle(ctx, st, end, until)
			})
		}})
	}
	runs := make([]*Run, 0, len(jobs))
	for i, jr := range fanout.Run(ctx, 0, jobs) {
		if jr.Err != nil { // a panic: that session gave no facts
			runs = append(runs, &Run{Name: jobs[i].Name, Outcome: probe.Outcome{Err: &probe.Error{Phase: "check", Err: jr.Err}}})
			continue
		}
		runs = append(runs, jr.Value)
	}
	return runs
}

// smuggle runs one session: MAIL and RCPT to the operator's mailbox, DATA,
// then the probe text ending with end, and waits for a reply until until.
// The exchange of the end is keyed "smuggle_end"; a connection the server
// closed is no failure.
func (o *Options) smuggle(ctx context.Context, st *stepper, end string, until time.Time) error {
	rcpt := o.SmugglingRcpt
	for _, c := range []struct {
		key, line string
		phase     probe.Phase
		want      int
	}{{"smuggle_mail", "MAIL FROM:<" + rcpt + ">", probe.PhaseMail, 250}, {"smuggle_rcpt", "RCPT TO:<" + rcpt + ">", probe.PhaseRcpt, 250}, {"smuggle_data", "DATA", probe.PhaseData, 354}} {
		rep, err := st.cmd(ctx, c.key, c.phase, c.line)
		if err != nil || rep.Code != c.want {
			if err == nil && c.want == 250 && rep.Class() == 2 {
				continue // 251 and the like: taken
			}
			return err
		}
	}
	began := time.Now()
	rep, err := st.s.SmuggleEnd(ctx, smuggleText(o, end), end, max(0, time.Until(until)))
	ex := Exchange{Key: "smuggle_end", Cmd: fmt.Sprintf("message ending %q", end), Reply: rep, Waited: time.Since(began)}
	if e, ok := err.(*probe.Error); ok && (e.Kind == probe.KindClosed || e.Kind == probe.KindReset) {
		ex.Closed, err = true, nil
	}
	st.run.Ex = append(st.run.Ex, ex)
	return err
}

// smuggleText is the probe message up to its false end: it says what it
// is, for the operator who finds it in the mailbox of --smuggling-rcpt,
// and ends mid-line, so that end makes the line's end.
func smuggleText(o *Options, end string) []byte {
	return []byte("From: <" + o.SmugglingRcpt + ">\r\nTo: <" + o.SmugglingRcpt + ">\r\n" +
		"Subject: check_smtp_security: SMTP smuggling probe\r\n" +
		"Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n\r\n" +
		"check_smtp_security sent this message to " + o.Host + " ending with " + fmt.Sprintf("%q", end) + " instead of CRLF.CRLF.\r\n" +
		"It reached you because the server took that for the end of the message: see smtpd_forbid_bare_newline (Postfix).")
}

// smuggleReply is a reply to a false end as evidence, with how long it
// came after the false end (or how long the session waited in vain).
func smuggleReply(e *Exchange) string {
	waited := plugin.Secs(e.Waited.Round(100 * time.Millisecond))
	switch {
	case e.Closed:
		return e.Cmd + " -> the server closed the connection after " + waited + " s"
	case e.Reply.Code == 0 && e.Waited < smuggleMinWait:
		return e.Cmd + " -> no reply in " + waited + " s, too short a wait to tell (closed without ever ending the message)"
	case e.Reply.Code == 0:
		return e.Cmd + " -> no reply in " + waited + " s: the server waited for more (closed without ever ending the message)"
	}
	return e.Cmd + " -> " + plugin.Quote(e.Reply) + " after " + waited + " s"
}

// trustedCaveat is said wherever a limit or a mitigation may not apply to
// the probe's own address.
const trustedCaveat = "a source inside the server's trusted networks (Postfix $mynetworks, Exim relay_from_hosts) is exempt from such limits and mitigations: run this from outside them"

func (o *Options) judgeRate(f *Facts) outcome {
	r := f.Rate
	if r == nil {
		return skipped("its session did not run (see above)")
	}
	if e := r.Stalled; e != nil && r.Opened == 0 { // its wait was half of -t
		return o.failedWith(e, o.rateMode(), r.Elapsed.Round(100*time.Millisecond))
	}
	if e := r.Limited; e != nil && !limits(e, r.Opened) {
		return o.failedWith(e, o.rateMode(), o.Timeout.Duration)
	}
	if r.Limited != nil {
		what, _ := o.Spelling().Explain(r.Limited, nil, o.Timeout.Duration)
		return pass(fmt.Sprintf("limited after %d of %s", r.Opened, plugin.Count(r.Asked, "connection")),
			fmt.Sprintf("connection %d: %s: %s", r.Opened, r.Limited.Phase, what))
	}
	ev := []string{fmt.Sprintf("%s in %s s, each greeted and answering EHLO", plugin.Count(r.Opened, "connection"), plugin.Secs(r.Elapsed)), "note: " + trustedCaveat}
	if r.Stalled != nil {
		return inconclusive(fmt.Sprintf("no rate limiting seen in %d of %s, then connection %d got no answer within half of -t: the server is slow, or delays quick clients (a limit of sorts)", r.Opened, plugin.Count(r.Asked, "connection"), r.Opened+1), ev...)
	}
	if r.Stopped {
		return inconclusive(fmt.Sprintf("no rate limiting seen in %d of %s: half of -t passed first; raise -t or lower --rate-probe", r.Opened, plugin.Count(r.Asked, "connection")), ev...)
	}
	return problem("no rate limiting seen in "+plugin.Count(r.Opened, "connection"), ev...)
}

// limits reports whether failure e of connection n shows a limit: a
// refusal after connections that went through, or a reply refusing the
// first (the audit's other sessions count too). A first connection that
// cannot be made at all is a server down, not a limit.
func limits(e *probe.Error, n int) bool {
	switch e.Kind {
	case probe.KindReply:
		return true
	case probe.KindRefused, probe.KindReset, probe.KindClosed:
		return n > 1
	}
	return false
}

func (o *Options) judgeSmuggling(f *Facts) outcome {
	var took, short, ev []string
	var broken *Run
	var shortest time.Duration
	tried := 0
	for _, run := range f.Smuggle {
		e := run.Get("smuggle_end")
		if e == nil {
			if broken == nil {
				broken = run
			}
			continue
		}
		tried++
		ev = append(ev, smuggleReply(e))
		switch {
		case e.Reply.Class() == 2:
			took = append(took, strings.TrimPrefix(e.Cmd, "message ending "))
		case e.Reply.Code == 0 && !e.Closed && e.Waited < smuggleMinWait:
			short = append(short, strings.TrimPrefix(e.Cmd, "message ending "))
			if shortest == 0 || e.Waited < shortest {
				shortest = e.Waited
			}
		}
	}
	switch {
	case len(took) > 0:
		return problem("the server ended DATA at "+fewOf(took)+" (not CRLF.CRLF): mail can be smuggled through it", append(ev, "note: "+trustedCaveat)...)
	case broken != nil && broken.Err != nil:
		return o.failed(broken)
	case broken != nil:
		ex := broken.Ex
		if len(ex) > 0 {
			last := &ex[len(ex)-1]
			return inconclusive("no message could be started: "+said(last)+": --smuggling-rcpt must be a mailbox this server takes mail for", said(last))
		}
		return o.failed(broken)
	case len(short) > 0:
		return inconclusive(fmt.Sprintf("waited only %s s for a reply to %s (less than %s s), and a server may answer later: raise -t (each false end waits for what is left of it)",
			plugin.Secs(shortest.Round(100*time.Millisecond)), fewOf(short), plugin.Secs(smuggleMinWait)), append(ev, "note: "+trustedCaveat)...)
	}
	return pass(fmt.Sprintf("none of %d false ends of DATA was taken", tried), append(ev, "note: "+trustedCaveat)...)
}
