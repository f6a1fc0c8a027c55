package deliverycheck

import (
	"context"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/imapbox"
	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Facts is everything one run of check_smtp_delivery showed, as data.
type Facts struct {
	// The SMTP session: S is nil when none ran (--imap-only, or the
	// credentials or the state could not be had first).
	probe.Outcome
	login.Auth // the SMTP login, when one was asked for
	Tr         *smtp.Transcript

	Token     Token
	MessageID string
	Sub       *probe.Submission
	SubmitErr *probe.Error  // the transaction's first failure
	Submit    time.Duration // MAIL FROM to the reply to the message's end
	QueueID   string
	Sent      time.Time // our clock at the 250 to the message; zero when not accepted

	// The IMAP session: Box is nil when none was dialled.
	Box         *imapbox.Box
	IMAPCredErr error          // the IMAP credentials could not be had
	IMAPErr     *imapbox.Error // what ended the IMAP side
	Sighting    *imapbox.Sighting
	Found       *imapbox.Message // the probe's header section
	Hops        []Hop
	Cleanups    []*imapbox.Cleanup // ours first, then late and stale probes
	CleanupErr  *imapbox.Error     // deleting failed (the probe may be left)
	Late        []Late
	Stale       []imapbox.StaleProbe // other probes of this instance older than --stale-age, deleted
	Lost        []Pending            // pending longer than --stale-age and never seen: forgotten
	StateErr    error                // the state file could not be read or written

	Total time.Duration
}

// Late is a probe of an earlier run found now.
type Late struct {
	Pending
	Folder string
	Seen   time.Time
}

// Delay is the delivery delay on our clock: our DATA 250 to our sighting.
func (f *Facts) Delay() (time.Duration, bool) {
	if f.Sent.IsZero() || f.Sighting == nil || !f.Sighting.Found {
		return 0, false
	}
	return max(f.Sighting.Seen.Sub(f.Sent), 0), true
}

// Check runs check_smtp_delivery with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	return o.Judge(Gather(ctx, o), time.Now())
}

// cleanupMargin is kept from -t for what follows the wait: the cleanup,
// LOGOUT and the state file (a quarter of -t at most).
const cleanupMargin = time.Second

// Gather does all the network and file work: credentials, state, the SMTP
// submission, then the IMAP search, the cleanup and the state again.
func Gather(ctx context.Context, o *Options) *Facts {
	start := time.Now()
	f := &Facts{Tr: smtp.NewTranscript(), Auth: login.Auth{Mech: o.Login.Asked()}}
	defer func() { f.Total = time.Since(start) }()

	var smtpCreds, imapCreds sasl.Credentials
	var err error
	if o.smtpLogin {
		smtpCreds, err = o.Login.Credentials(ctx, &o.Options, f.Tr, o.Host, o.Port)
		if f.User = smtpCreds.User; err != nil {
			f.CredErr = err
			return f
		}
	}
	if !o.SendOnly {
		imapCreds = smtpCreds
		if o.imapSame && !o.smtpLogin { // --imap-only with the plain flags
			imapCreds, err = o.Login.Credentials(ctx, &o.Options, f.Tr, o.IMAP.Host, o.IMAP.Port)
		} else if !o.imapSame {
			imapCreds, err = o.IMAPLogin.Credentials(ctx, &o.Options, f.Tr, o.IMAP.Host, o.IMAP.Port)
		}
		if err != nil {
			f.IMAPCredErr = err
			return f
		}
	}
	var pending, loaded []Pending
	if !o.SendOnly {
		if loaded, f.StateErr = loadState(ctx, o.StateDir, o.Instance); f.StateErr != nil {
			return f
		}
		pending = slices.Clone(loaded)
	}
	var imap func() imapLogin
	if !o.SendOnly {
		imapCtx, cancel := context.WithCancel(ctx) // the box lives as long as it
		defer cancel()
		if imap = o.loginIMAP(imapCtx, imapCreds, f.Tr); !o.IMAPOnly {
			defer func() { // not sent: what the IMAP side did is no fact of this run
				if f.Box == nil && f.IMAPErr == nil {
					cancel()
					imap().discard(ctx)
				}
			}()
		}
	}
	if !o.IMAPOnly {
		f.Outcome = probe.Run(ctx, probe.Plan{Target: o.target(), Transcript: f.Tr, Start: start, Secrets: smtpCreds.Secrets(),
			Steps: func(ctx context.Context, s *probe.Session) error { return o.submit(ctx, s, smtpCreds, imap, f) }})
		if f.S == nil || o.SendOnly || f.Sent.IsZero() {
			return f
		}
		pending = append(pending, Pending{Token: f.Token.String(), Sent: f.Sent})
	}
	pending = o.confirm(ctx, f, imap(), pending)
	if err := saveState(ctx, o.StateDir, o.Instance, loaded, pending); err != nil && f.StateErr == nil {
		f.StateErr = err
	}
	return f
}

// submit is the SMTP session's step: AUTH when asked, then, once the IMAP
// login (nil: none) has succeeded, the probe.
func (o *Options) submit(ctx context.Context, s *probe.Session, creds sasl.Credentials, imap func() imapLogin, f *Facts) error {
	if o.smtpLogin {
		if err := o.Login.SMTP(ctx, s, creds, o.AllowPlaintext, &f.Auth); err != nil {
			return err
		}
		if f.Refused != login.RefuseNone || f.NotOffered || f.CredErr != nil || f.AuthErr != nil {
			return nil // judged as check_smtp_auth judges it; QUIT follows
		}
	}
	var err error
	if f.Token, err = NewToken(o.Instance); err != nil {
		return &probe.Error{Phase: probe.PhaseMail, Kind: probe.KindUsage, Err: err}
	}
	enc := SevenBit
	switch {
	case o.UTF8:
		enc = UTF8
	case o.EightBit:
		enc = EightBit
	}
	msg, err := NewMessage(MessageSpec{From: o.From, To: o.To, Token: f.Token, Date: time.Now(), Size: o.Size, Encoding: enc, Extra: o.extraHeaders})
	if err != nil {
		return &probe.Error{Phase: probe.PhaseMail, Kind: probe.KindUsage, Err: err}
	}
	if !imapReady(ctx, imap, f) {
		return nil // QUIT follows
	}
	f.MessageID = msg.MessageID
	begin := time.Now()
	f.Sub, err = s.Submit(ctx, probe.Envelope{From: o.From, To: o.To, Params: msg.Params}, msg.Bytes, probe.SubmitOptions{BDAT: o.BDAT, Quit: true})
	f.Submit = time.Since(begin)
	if final, ok := f.Sub.Final(); ok && final.Code == 250 {
		f.Sent = time.Now()
		f.QueueID = QueueID(final)
	}
	if err == nil {
		return nil
	}
	if f.SubmitErr = probe.AsError(err); probe.InStep(f.SubmitErr) {
		return nil
	}
	return f.SubmitErr
}

// imapReady waits for the IMAP login beside the SMTP session before the
// probe goes out: a probe that cannot be looked for would stay in the
// mailbox, unseen and never deleted. When the login failed it takes the
// IMAP session's facts into f, ends it, and reports false.
func imapReady(ctx context.Context, imap func() imapLogin, f *Facts) bool {
	if imap == nil {
		return true
	}
	l := imap()
	if l.err == nil {
		return true
	}
	l.notes.flush()
	f.Box, f.IMAPErr = l.box, imapbox.AsError(l.err)
	l.discard(ctx)
	return false
}

// imapLogin is the IMAP session once logged in (or failed), and its
// transcript lines, held while the SMTP session runs beside it.
type imapLogin struct {
	box   *imapbox.Box
	err   error
	notes *heldNotes
}

// loginIMAP dials and logs in to the IMAP server in the background, so
// that the connection, TLS and login overlap the submission (the delay is
// still measured from our 250 to our sighting); the function returned
// waits for it. The box lives as long as ctx.
func (o *Options) loginIMAP(ctx context.Context, creds sasl.Credentials, tr *smtp.Transcript) func() imapLogin {
	set := &redact.Set{}
	set.Add(creds.Password)
	set.Add(creds.Token)
	notes := &heldNotes{out: tr}
	mech := o.IMAPLogin.Asked()
	if o.imapSame || mech == "AUTO" {
		mech = ""
	}
	cfg := imapbox.Config{Target: o.imapTarget(), Redact: set}
	if o.Verbosity() > 0 { // kept only when shown
		cfg.Transcript = notes
	}
	wait := fanout.Start(ctx, 0, []fanout.Job[imapLogin]{{Name: "the IMAP login", Run: func(ctx context.Context) imapLogin {
		b, err := imapbox.Dial(ctx, cfg)
		if err == nil {
			err = b.Login(ctx, creds, mech, o.IMAP.AllowPlaintext)
		}
		return imapLogin{box: b, err: err, notes: notes}
	}}})
	var once sync.Once
	var l imapLogin
	return func() imapLogin {
		once.Do(func() {
			r := wait()[0]
			if l = r.Value; r.Err != nil {
				l = imapLogin{err: r.Err, notes: notes}
			}
		})
		return l
	}
}

// discard ends an IMAP session that has nothing to look for; its lines
// are dropped with it.
func (l imapLogin) discard(ctx context.Context) {
	if l.box != nil {
		_ = l.box.Close(ctx)
	}
}

// heldNotes keeps the IMAP side's transcript lines until flush, so that
// they follow the SMTP session's instead of running through them; after
// flush they pass straight through.
type heldNotes struct {
	mu      sync.Mutex
	out     imapbox.Noter
	held    []string
	flushed bool
}

func (n *heldNotes) Note(text string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.flushed {
		n.out.Note(text)
		return
	}
	n.held = append(n.held, text)
}

func (n *heldNotes) flush() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, t := range n.held {
		n.out.Note(t)
	}
	n.held, n.flushed = nil, true
}

// confirm is the IMAP side, logged in by loginIMAP: wait for the probe
// (until the deadline less a margin for what follows), read its hops,
// delete it and the probes of earlier runs, and return what stays pending.
func (o *Options) confirm(ctx context.Context, f *Facts, l imapLogin, pending []Pending) []Pending {
	l.notes.flush()
	if f.Box = l.box; l.box != nil {
		defer l.box.Close(ctx)
	}
	if l.err != nil {
		f.IMAPErr = imapbox.AsError(l.err)
		return pending
	}
	var err error
	q := imapbox.Query{Header: ProbeHeader, Token: f.Token.String(), Junk: o.JunkFolder, NoJunk: o.NoJunk, Poll: o.poll(), Quick: quickPoll}
	if o.IMAPOnly {
		q.Token = "" // nothing to wait for: one round to learn the folders
	}
	waitCtx, cancel := context.WithDeadline(ctx, waitUntil(ctx))
	defer cancel()
	if o.IMAPOnly {
		f.Sighting, err = f.Box.Find(waitCtx, imapbox.Query{Header: ProbeHeader, Token: o.Instance + ".", Junk: o.JunkFolder, NoJunk: o.NoJunk})
	} else {
		f.Sighting, err = f.Box.Wait(waitCtx, q)
	}
	if err != nil {
		f.IMAPErr = imapbox.AsError(err)
		return pending
	}
	if f.Sighting.Found && !o.IMAPOnly {
		o.found(ctx, f)
	}
	return o.sweep(ctx, f, pending)
}

// quickPoll is the pause between the first searches: the probe is sent
// only once the IMAP login is done, so the first search often comes
// before the delivery, and a local one takes tens of milliseconds.
const quickPoll = 10 * time.Millisecond

// waitUntil is when the wait gives up: the deadline less the margin kept
// for the cleanup.
func waitUntil(ctx context.Context) time.Time {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Hour)
	}
	margin := min(cleanupMargin, time.Until(dl)/4)
	return dl.Add(-margin)
}

// found reads the probe's hops and deletes it. A FETCH that failed for the
// session (a stall, a flood) leaves the probe: its failure, not a
// cleanup's, is what the run reports.
func (o *Options) found(ctx context.Context, f *Facts) {
	s := f.Sighting
	m, err := f.Box.Headers(ctx, s.Folder, s.UIDs[0], 0)
	if err == nil {
		f.Found = m
		f.Hops = hops(m.Fields("Received"))
	} else if e := imapbox.AsError(err); e.Overflow || e.Kind == probe.KindTimeout || e.Kind == probe.KindClosed || e.Kind == probe.KindReset {
		f.CleanupErr = e
		return
	}
	c, err := f.Box.Delete(ctx, s.Folder, s.UIDs)
	f.Cleanups = append(f.Cleanups, c)
	if err != nil {
		f.CleanupErr = imapbox.AsError(err)
	}
}

// sweep finds the other probes of this instance in INBOX and the Junk
// folder: those of earlier runs still pending are late, those older than
// --stale-age stale; both are deleted. Pending probes older than
// --stale-age and not found are lost and forgotten.
func (o *Options) sweep(ctx context.Context, f *Facts, pending []Pending) []Pending {
	folders := []string{imapbox.Inbox}
	if j := f.Sighting.Junk; j != "" && j != imapbox.Inbox {
		folders = append(folders, j)
	}
	now := time.Now()
	ours := f.Token.String()
	if f.Sighting.Found && !o.IMAPOnly {
		pending = slices.DeleteFunc(pending, func(p Pending) bool { return p.Token == ours })
	}
	for _, folder := range folders {
		if f.CleanupErr != nil || ctx.Err() != nil {
			break
		}
		all, err := f.Box.Stale(ctx, folder, ProbeHeader, o.Instance, now.Add(time.Hour))
		if err != nil {
			f.CleanupErr = imapbox.AsError(err)
			break
		}
		var del []imapbox.UID
		for _, p := range all {
			tok := strings.TrimSpace(p.Token)
			i := slices.IndexFunc(pending, func(q Pending) bool { return q.Token == tok })
			switch {
			case tok == ours:
				continue // found above (or deleted already)
			case i >= 0:
				f.Late = append(f.Late, Late{Pending: pending[i], Folder: folder, Seen: now})
				pending = slices.Delete(pending, i, i+1)
			case now.Sub(p.InternalDate) > o.StaleAge:
				f.Stale = append(f.Stale, p)
			default:
				continue // another run's, on its way: not ours to judge yet
			}
			del = append(del, p.UID)
		}
		if len(del) == 0 {
			continue
		}
		c, err := f.Box.Delete(ctx, folder, del)
		f.Cleanups = append(f.Cleanups, c)
		if err != nil {
			f.CleanupErr = imapbox.AsError(err)
		}
	}
	return slices.DeleteFunc(pending, func(p Pending) bool {
		if p.Token != ours && now.Sub(p.Sent) > o.StaleAge {
			f.Lost = append(f.Lost, p)
			return true
		}
		return false
	})
}

// Hop is one Received: header, oldest first: who received the message and
// when, by that server's clock.
type Hop struct {
	By   string
	Date time.Time // zero when the header carries none that parses
}

// hops reads Received: fields (top, the newest, first) into hops, oldest first.
func hops(fields []string) []Hop {
	var hs []Hop
	for _, v := range slices.Backward(fields) {
		h := Hop{By: receivedBy(v)}
		if i := strings.LastIndexByte(v, ';'); i >= 0 {
			if t, err := mail.ParseDate(strings.TrimSpace(v[i+1:])); err == nil {
				h.Date = t
			}
		}
		hs = append(hs, h)
	}
	return hs
}

// receivedBy is the host after "by", or the field's start.
func receivedBy(v string) string {
	words := strings.Fields(v)
	for i, w := range words {
		if strings.EqualFold(w, "by") && i+1 < len(words) {
			return strings.TrimRight(words[i+1], ";")
		}
	}
	if len(words) > 0 {
		return words[0]
	}
	return "?"
}
