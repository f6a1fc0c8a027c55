package deliverycheck

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/imapbox"
	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Judge turns the facts of one run into findings, details and perfdata. It
// is the one place where check_smtp_delivery decides states, and it is
// pure.
//   - credentials or state that cannot be had: UNKNOWN (a secret store
//     that times out: -t's state)
//   - a failed SMTP session or transaction: plugin.FailureState (4xx at
//     mail, rcpt, data or after the message WARNING, 5xx CRITICAL)
//   - SMTP credentials withheld or refused: as check_smtp_auth judges them
//   - an IMAP failure: plugin.FailureState of its phase (a refused login
//     CRITICAL; credentials withheld for --imap-no-tls UNKNOWN)
//   - the probe not found by the deadline: -t's state (CRITICAL)
//   - found in the Junk folder: WARNING
//   - found: OK, -w/-c on the delay (our DATA 250 to our sighting)
//   - a failed cleanup: WARNING (probes may be left behind)
//   - --require-auth-results: a required method that did not pass in the
//     Authentication-Results of --authserv-id CRITICAL (temperror WARNING)
func (o *Options) Judge(f *Facts, now time.Time) *plugin.Result {
	r := &plugin.Result{Service: Service}
	r.Transcript = f.Tr.ForVerbosity(o.Verbosity())
	if o.Login.Password != "" {
		r.Detail("note: the SMTP password was given literally; use --password-ref")
	}
	for _, err := range []error{f.CredErr, f.IMAPCredErr} {
		if err != nil && f.S == nil {
			r.Add(login.CredState(err, o.Timeout), "%s", err)
		}
	}
	if f.StateErr != nil {
		r.Add(plugin.Unknown, "%s", f.StateErr)
	}
	sent := f.S != nil && o.judgeSMTP(f, r)
	if f.Box != nil || f.IMAPErr != nil {
		o.judgeIMAP(f, r, sent)
	} else if sent {
		r.Detail("%s", o.pendingNote(f))
	}
	o.perf(f, r)
	return r
}

// judgeSMTP judges the submission and reports whether the probe went out.
func (o *Options) judgeSMTP(f *Facts, r *plugin.Result) bool {
	s := f.S
	plugin.SessionLines(r, s, &o.Common, "extensions: "+plugin.OrNone(strings.Join(s.Ext.Names(), " ")), "")
	if f.AuthRan {
		r.Detail("auth: %s as %s: %s", f.Mech, plugin.OrNone(f.User), plugin.Quote(f.AuthReply))
		if s.TLS == nil {
			r.Detail("warning: SMTP credentials were sent UNENCRYPTED (--allow-plaintext)")
		} else if s.CertErr() != nil {
			r.Detail("warning: SMTP credentials were sent to a server whose certificate does not verify (--insecure)")
		}
	}
	if f.Sub != nil {
		for _, ex := range f.Sub.Exchanges {
			reply := "no reply"
			if ex.Reply.Code != 0 {
				reply = plugin.Quote(ex.Reply)
			}
			r.Detail("%s: %s: %s", ex.Phase, ex.Command, reply)
		}
		if f.Sub.Withheld != "" {
			r.Detail("message not sent: %s", f.Sub.Withheld)
		}
	}
	if o.judgeAuth(f, r) {
		return false
	}
	switch {
	case f.Err != nil && f.Err != f.SubmitErr:
		r.Add(plugin.FailureState(f.Err, o.Timeout), "%s", o.Spelling().Describe(f.Err, s, o.Timeout.Duration))
	case f.SubmitErr != nil:
		r.Add(plugin.FailureState(f.SubmitErr, o.Timeout), "%s", o.Spelling().Describe(f.SubmitErr, s, o.Timeout.Duration))
	}
	if f.Sent.IsZero() {
		if f.IMAPErr != nil && len(r.Findings) == 0 {
			r.Detail("probe not sent: the IMAP session failed, and a probe that cannot be looked for would stay in the mailbox")
			return false
		}
		if len(r.Findings) == 0 { // a session that ended before the transaction
			r.Add(plugin.Critical, "the probe was not sent (%s)", s)
		}
		return false
	}
	r.Detail("queue id: %s; Message-ID %s; %d bytes in %s%s", plugin.OrNone(f.QueueID), f.MessageID, f.Sub.Size, plugin.Count(f.Sub.RoundTrips, "round trip"), pipelined(f))
	if o.SendOnly && len(r.Findings) == 0 {
		r.Add(plugin.OK, "probe accepted by %s in %s s, queue id %s (--send-only: not looked for)", s, plugin.Elapsed(f.Submit), plugin.OrNone(f.QueueID))
	}
	return true
}

func pipelined(f *Facts) string {
	switch {
	case f.Sub.BDAT:
		return " (BDAT)"
	case f.Sub.Pipelined:
		return " (PIPELINING)"
	}
	return ""
}

// judgeAuth judges a withheld or refused SMTP login, as check_smtp_auth
// does; it reports whether it added a finding.
func (o *Options) judgeAuth(f *Facts, r *plugin.Result) bool {
	where := f.S.String()
	switch {
	case f.CredErr != nil:
		r.Add(plugin.Unknown, "%s", f.CredErr)
	case f.Refused != login.RefuseNone:
		st, msg := f.Refused.Judge(f.S, o.CAFile)
		r.Add(st, "%s", msg)
	case f.NotOffered && f.Mech == "":
		r.Add(plugin.Critical, "auth: %s offers no AUTH mechanism usable with these credentials (offers: %s) - to deliver without AUTH (an MX on port 25), give the IMAP login as --imap-user and --imap-password-ref instead of --user and --password-ref", where, plugin.OrNone(strings.Join(f.Offered, " ")))
	case f.NotOffered:
		r.Add(plugin.Critical, "auth: %s does not offer %s (offers: %s)", where, f.Mech, plugin.OrNone(strings.Join(f.Offered, " ")))
	case f.AuthErr != nil && f.AuthErr.Kind == probe.KindReply && f.AuthErr.Reply != nil:
		msg := fmt.Sprintf("auth: %s as %s refused: %s (%s)", f.Mech, plugin.OrNone(f.User), plugin.Quote(*f.AuthErr.Reply), where)
		if h := o.Spelling().Hint(probe.PhaseAuth, *f.AuthErr.Reply, f.S); h != "" {
			msg += " - " + h
		}
		r.Add(plugin.FailureState(f.AuthErr, o.Timeout), "%s", msg)
	case f.AuthErr != nil:
		r.Add(plugin.FailureState(f.AuthErr, o.Timeout), "%s", o.Spelling().Describe(f.AuthErr, f.S, o.Timeout.Duration))
	default:
		return false
	}
	return true
}

// pendingNote says what becomes of a probe sent and not found.
func (o *Options) pendingNote(f *Facts) string {
	if o.SendOnly {
		return "the probe stays in the mailbox: --send-only neither looks for it nor deletes it"
	}
	return fmt.Sprintf("probe %s stays pending: a later run reports it as late when it arrives, as lost after --stale-age %s", f.Token, o.StaleAge)
}

// judgeIMAP judges the IMAP side: the session, the sighting, the cleanup.
func (o *Options) judgeIMAP(f *Facts, r *plugin.Result, sent bool) {
	b := f.Box
	if b != nil {
		r.Detail("%s", imapLine(b, o.Insecure, f.IMAPErr == nil || f.IMAPErr.Phase != imapbox.PhaseLogin))
	}
	if e := f.IMAPErr; e != nil {
		r.Add(plugin.FailureState(e.Probe(), o.Timeout), "%s", o.imapText(e, b))
		if sent {
			r.Detail("%s", o.pendingNote(f))
		}
		return
	}
	s := f.Sighting
	switch {
	case s == nil:
	case o.IMAPOnly:
		r.Add(plugin.OK, "%s: logged in as %s, INBOX searched%s", b, plugin.OrNone(b.User), junkNote(s))
	case !s.Found && sent:
		waited, _ := b.Duration(imapbox.PhaseSearch)
		r.Add(o.Timeout.State, "probe not found in %s within %s s; queue id %s", where(s), plugin.Elapsed(waited), plugin.OrNone(f.QueueID))
		r.Detail("%s", o.pendingNote(f))
	case s.Found:
		o.judgeFound(f, r)
		o.judgeAuthResults(f, r)
	}
	o.cleanupLines(f, r)
}

// judgeFound judges where and how fast the probe arrived.
func (o *Options) judgeFound(f *Facts, r *plugin.Result) {
	s := f.Sighting
	d, _ := f.Delay()
	how := plugin.Count(s.Polls, "search")
	if s.Polls == 1 {
		how = "1 search"
	}
	if s.Idle {
		how += ", IDLE"
	}
	r.Detail("found: %s UID %s after %s", s.Folder, uidList(s.UIDs), how)
	o.hopLines(f, r)
	if s.Folder != imapbox.Inbox {
		r.Add(plugin.Warning, "probe delivered to the Junk folder %q, not INBOX, in %s s; queue id %s", s.Folder, plugin.Elapsed(d), plugin.OrNone(f.QueueID))
		return
	}
	switch (threshold.Pair{Warn: o.Warning, Crit: o.Critical}).Check(d.Seconds()) {
	case threshold.Critical:
		r.Add(plugin.Critical, "delivery delay %s s (critical %s); queue id %s", plugin.Elapsed(d), o.Critical, plugin.OrNone(f.QueueID))
	case threshold.Warning:
		r.Add(plugin.Warning, "delivery delay %s s (warning %s); queue id %s", plugin.Elapsed(d), o.Warning, plugin.OrNone(f.QueueID))
	}
	if len(r.Findings) == 0 {
		r.Add(plugin.OK, "probe delivered to INBOX in %s s (submitted in %s s), queue id %s", plugin.Elapsed(d), plugin.Elapsed(f.Submit), plugin.OrNone(f.QueueID))
	}
}

// where names the folders searched.
func where(s *imapbox.Sighting) string {
	if s.Junk == "" || s.Junk == imapbox.Inbox {
		return imapbox.Inbox
	}
	return fmt.Sprintf("INBOX or %q", s.Junk)
}

func junkNote(s *imapbox.Sighting) string {
	if s.Junk == "" {
		return ""
	}
	return fmt.Sprintf(" and %q", s.Junk)
}

// imapLine describes the IMAP session: server, TLS, login.
func imapLine(b *imapbox.Box, insecure, loggedIn bool) string {
	tls := "UNENCRYPTED"
	if b.TLS == nil && b.TLSMode() != probe.TLSNone {
		tls = "TLS not established"
	}
	if b.TLS != nil {
		tls = tlsaudit.VersionName(b.TLS.Version)
		if insecure {
			tls += ", " + plugin.InsecureNote(b.CertErr)
		}
	}
	user := ""
	if b.User != "" && loggedIn {
		user = ", logged in as " + b.User
	}
	return fmt.Sprintf("imap: %s, %s%s", b, tls, user)
}

// imapText words an IMAP failure: phase, what, where, what to do.
func (o *Options) imapText(e *imapbox.Error, b *imapbox.Box) string {
	where := "IMAP " + o.IMAP.Host
	if b != nil {
		where = b.String()
	}
	switch e.Refused {
	case imapbox.RefuseNoTLS:
		return "imap_login: credentials not sent: the IMAP connection is not encrypted - drop --imap-no-tls, or add --imap-allow-plaintext to send them anyway"
	case imapbox.RefuseUnverified:
		return "imap_login: " + imapUnverified(where, b.VerifyErr, o.CAFile)
	}
	var what, todo string
	switch {
	case e.Kind == probe.KindReply && e.Status != "":
		what = e.Status
		if e.Code != "" {
			what += " [" + e.Code + "]"
		}
		what += " " + plugin.Sanitize(e.Text, plugin.MaxTextLen)
		switch e.Phase {
		case imapbox.PhaseStartTLS:
			todo = "the IMAP server refused STARTTLS: use IMAPS (--imap-port 993 without --imap-starttls), or enable TLS on port " + fmt.Sprint(o.IMAP.Port)
		case imapbox.PhaseLogin:
			todo = "check the IMAP user and password (--imap-user, --imap-password-ref, or --user and --password-ref for both)"
		case imapbox.PhaseSelect, imapbox.PhaseSearch:
			todo = "check the mailbox and its folders (--junk-folder)"
		}
	case e.Overflow:
		what, todo = plugin.PlainErr(e.Err), "look at the IMAP server's log, or at what listens on this port"
	case e.Kind == probe.KindTimeout:
		what, todo = fmt.Sprintf("no answer within the %s s timeout", plugin.Secs(o.Timeout.Duration)), o.imapTimeoutAdvice(e.Phase)
		if e.Flood > 0 {
			what = fmt.Sprintf("no end to the command within the %s s timeout: the server sent %d lines in this phase without finishing it (a flood of untagged responses)", plugin.Secs(o.Timeout.Duration), e.Flood)
			todo = "look at the IMAP server's log"
		}
	case e.Kind == probe.KindTLS && errors.As(e, new(tls.RecordHeaderError)):
		what = "TLS handshake failed: the port speaks plain IMAP, not IMAPS"
		todo = "give --imap-starttls (or --imap-port 143), or the IMAPS port (993)"
	default:
		what, todo = o.Spelling().Explain(&probe.Error{Phase: e.Phase, Kind: e.Kind, Err: e.Err}, nil, o.Timeout.Duration)
		what = plugin.Sanitize(what, plugin.MaxTextLen)
		switch e.Kind {
		case probe.KindClosed, probe.KindReset:
			if e.Phase == imapbox.PhaseStartTLS || e.Phase == imapbox.PhaseGreeting && o.imapMode == probe.TLSNone {
				todo = "if this port speaks IMAPS (993), use it without --imap-starttls or --imap-no-tls; else look at the server's log"
			}
		case probe.KindProtocol:
			todo = "this is not a well-behaved IMAP server on this port (--imap-port, --imap-starttls)"
		case probe.KindTLS:
			todo = "look at the IMAP server's TLS setup and log (--min-tls applies to it too)"
		case probe.KindRefused:
			todo = "is the IMAP server running and listening on this address and port (--imap-host, --imap-port)?"
		}
	}
	msg := fmt.Sprintf("%s: %s (%s)", e.Phase, what, where)
	if todo != "" {
		msg += " - " + todo
	}
	return msg
}

// imapTimeoutAdvice says what a stall in phase points at.
func (o *Options) imapTimeoutAdvice(phase probe.Phase) string {
	switch phase {
	case imapbox.PhaseConnect:
		return "a firewall may drop the packets, or the host is down"
	case imapbox.PhaseTLS:
		return "the TLS handshake stalled: is this an IMAPS port? For a plain IMAP port (143) give --imap-starttls"
	case imapbox.PhaseStartTLS:
		return "no greeting, or no end to STARTTLS: if this port speaks IMAPS (993), drop --imap-starttls; else look at the server's log"
	case imapbox.PhaseGreeting:
		if o.imapMode == probe.TLSNone {
			return "no greeting: if this port speaks IMAPS (993), drop --imap-no-tls; else the server is overloaded"
		}
		return "no greeting after the TLS handshake: the server is overloaded or stuck, look at its log"
	case imapbox.PhaseFetch:
		return "the server did not send the probe's header section: look at its log, or raise -t"
	case imapbox.PhaseCleanup:
		return "the server did not confirm the deletion: look at its log"
	}
	return "the IMAP server is slow or stuck: look at its log, or raise -t"
}

// imapUnverified is plugin.CredentialsUnverified with the IMAP flags.
func imapUnverified(where string, err error, caFile string) string {
	advice := plugin.CertAdvice(err, caFile)
	if errors.As(err, new(x509.HostnameError)) {
		advice = "give --imap-verify-name with a name the certificate carries, or fix the certificate"
	}
	return fmt.Sprintf("credentials not sent: the certificate of %s does not verify (%s) - %s, or add --insecure to send them anyway", where, plugin.PlainErr(err), advice)
}

// cleanupLines say what was deleted and what was left, and judge a
// failed cleanup; late, lost and stale probes are said here too.
func (o *Options) cleanupLines(f *Facts, r *plugin.Result) {
	for _, c := range f.Cleanups {
		switch c.How {
		case imapbox.Expunged:
			r.Detail("cleanup: UID %s deleted from %s (UID EXPUNGE)", uidList(c.UIDs), c.Folder)
		case imapbox.MovedToTrash:
			r.Detail("cleanup: UID %s moved from %s to %s (no UIDPLUS)", uidList(c.UIDs), c.Folder, c.Trash)
		case imapbox.FlaggedOnly:
			r.Detail("cleanup: UID %s left in %s flagged \\Deleted: the server offers neither UIDPLUS nor MOVE to a Trash folder, and a bare EXPUNGE would remove what others flagged too; a mail client's expunge removes it", uidList(c.UIDs), c.Folder)
		}
	}
	if e := f.CleanupErr; e != nil {
		left := "probes may be left in the mailbox"
		if e.Phase == imapbox.PhaseFetch {
			left = "the probe was left in the mailbox: a later run removes it once older than --stale-age " + o.StaleAge.String()
		}
		r.Add(plugin.Warning, "%s; %s", o.imapText(e, f.Box), left)
	}
	for _, l := range f.Late {
		r.Detail("late: probe %s sent %s found in %s after %s s", l.Token, l.Sent.UTC().Format(time.RFC3339), l.Folder, plugin.Elapsed(l.Seen.Sub(l.Sent)))
	}
	for _, p := range f.Lost {
		r.Detail("lost: probe %s sent %s was not seen within --stale-age %s; forgotten", p.Token, p.Sent.UTC().Format(time.RFC3339), o.StaleAge)
	}
	if len(f.Stale) > 0 {
		r.Detail("stale: %d probes of this instance older than --stale-age %s removed", len(f.Stale), o.StaleAge)
	}
}

// maxHops bounds the hop lines: the long output must stay short.
const maxHops = 12

// hopLines show the Received hops, oldest first, with the time each took
// by the servers' clocks (the first from our 250, by ours).
func (o *Options) hopLines(f *Facts, r *plugin.Result) {
	prev := f.Sent
	for i, h := range f.Hops {
		if i == maxHops {
			r.Detail("received: %d more hops", len(f.Hops)-maxHops)
			break
		}
		if h.Date.IsZero() {
			r.Detail("received (server clocks): hop %d by %s, no date", i+1, plugin.Sanitize(h.By, 80))
			continue
		}
		delta := "?"
		if !prev.IsZero() {
			delta = fmt.Sprintf("%+.0f s", h.Date.Sub(prev).Seconds())
		}
		r.Detail("received (server clocks): hop %d by %s at %s (%s)", i+1, plugin.Sanitize(h.By, 80), h.Date.UTC().Format(time.RFC3339), delta)
		prev = h.Date
	}
}

func uidList(uids []imapbox.UID) string {
	s := make([]string, len(uids))
	for i, u := range uids {
		s[i] = fmt.Sprint(u)
	}
	return strings.Join(s, ",")
}

// imapPhases are the IMAP perfdata labels, in session order.
var imapPhases = []probe.Phase{imapbox.PhaseDNS, imapbox.PhaseConnect, imapbox.PhaseTLS, imapbox.PhaseGreeting, imapbox.PhaseStartTLS,
	imapbox.PhaseLogin, imapbox.PhaseSelect, imapbox.PhaseSearch, imapbox.PhaseFetch, imapbox.PhaseCleanup, imapbox.PhaseLogout}

// perf: the SMTP phases, submit, delay (with -w/-c), the IMAP phases,
// polls, total and time.
func (o *Options) perf(f *Facts, r *plugin.Result) {
	none := threshold.Pair{}
	if f.S != nil {
		for _, ph := range probe.Phases {
			if d, ok := f.S.Duration(ph); ok {
				r.AddPerf(plugin.Seconds(string(ph), d, none))
			}
		}
	}
	if f.Sub != nil {
		r.AddPerf(plugin.Seconds("submit", f.Submit, none))
	}
	if d, ok := f.Delay(); ok {
		r.AddPerf(plugin.Seconds("delay", d, threshold.Pair{Warn: o.Warning, Crit: o.Critical}))
	}
	if f.Box != nil {
		for _, ph := range imapPhases {
			if d, ok := f.Box.Duration(ph); ok {
				r.AddPerf(plugin.Seconds(string(ph), d, none))
			}
		}
	}
	if f.Sighting != nil {
		r.AddPerf(plugin.Perf{Label: "polls", Value: float64(f.Sighting.Polls), Min: plugin.Zero})
	}
	r.AddPerf(plugin.Seconds("total", f.Total, none), plugin.Seconds("time", f.Total, none))
}
