package conncheck

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Judge turns the facts of a run into the result. It is pure (no
// network, no file, no clock: now is given) and the one place where
// check_smtp_conn decides states.
func (o *Options) Judge(f *Facts, now time.Time) *plugin.Result {
	r := &plugin.Result{Service: Service}
	if f.MX != nil {
		o.judgeMX(f.MX, r, now)
	} else {
		o.judge(f, r, now)
	}
	return r
}

// judge judges one session.
func (o *Options) judge(f *Facts, r *plugin.Result, now time.Time) {
	s := f.S
	if o.passOnArgv {
		r.Detail("note: -P puts the password on the command line, where other users can read it; check_smtp_auth takes a reference (env:, file:, vault:, keyring:) instead")
	}
	o.details(f, r)
	plugin.SessionPerf(r, s, f.Total, o.phases, threshold.Pair{Warn: o.Warning, Crit: o.Critical})
	if f.Err != nil {
		r.Add(plugin.FailureState(f.Err, o.Timeout), "%s", plugin.Describe(f.Err, s, o.Timeout.Duration))
		if f.Err.Phase != probe.PhaseProxy { // else every reply was read one command late
			o.judgeSteps(f, r) // the replies read before it count as well
		}
		return
	}
	o.judgeGreeting(s, r)
	if s.NoStartTLS && f.Withheld != AuthNoStartTLS { // else judgeAuth says it, louder
		r.Add(plugin.Warning, "starttls: %s does not offer STARTTLS", s)
	}
	o.judgeTLS(f, r, now)
	o.judgeAuth(f, r)
	o.judgeSteps(f, r)
	o.judgeQuit(f, r)
	o.judgeTimes(f, r)
	if len(r.Findings) == 0 {
		r.Add(plugin.OK, "%s answered in %s s%s", s, plugin.Elapsed(f.Total), o.okSuffix(f))
	}
}

// judgeQuit: a QUIT that failed is a WARNING (-q ignores it); a wrong code
// is said as what it is, not as a broken server. A reply that was not
// QUIT's, with QUIT's after it, shows every reply read one command late:
// CRITICAL, as any reply out of step.
func (o *Options) judgeQuit(f *Facts, r *plugin.Result) {
	switch {
	case f.QuitErr == nil:
	case errors.As(f.QuitErr, new(*probe.LateReplyError)): // a reply out of step: not a QUIT problem
		r.Add(plugin.Critical, "%s", plugin.Describe(f.QuitErr, f.S, o.Timeout.Duration))
	case f.QuitErr.Kind == probe.KindProtocol && f.QuitReply.Code != 0 && f.QuitReply.Code != 221:
		r.Add(plugin.Warning, "quit: %s instead of 221 (%s) - add -q to ignore QUIT replies", plugin.Quote(f.QuitReply), f.S)
	default:
		r.Add(plugin.Warning, "%s (add -q to ignore QUIT failures)", plugin.Describe(f.QuitErr, f.S, o.Timeout.Duration))
	}
}

// okSuffix lists what was established, e.g. " (STARTTLS TLS 1.3, AUTH PLAIN)".
func (o *Options) okSuffix(f *Facts) string {
	var parts []string
	if f.S.TLS != nil {
		mode := "STARTTLS"
		if o.Mode() == probe.TLSImplicit {
			mode = "TLS"
		}
		parts = append(parts, mode+" "+tlsaudit.VersionName(f.S.TLS.Version))
		if o.Insecure {
			parts = append(parts, plugin.InsecureNote(f.S.CertErr()))
		}
	}
	if o.AuthType != "" {
		parts = append(parts, "AUTH "+o.AuthType)
	}
	if n := countPhase(f, probe.PhaseRcpt); n > 0 {
		parts = append(parts, fmt.Sprintf("%d RCPT accepted", n))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func countPhase(f *Facts, ph probe.Phase) int {
	n := 0
	for _, st := range f.Steps {
		if st.Phase == ph {
			n++
		}
	}
	return n
}

func (o *Options) judgeGreeting(s *probe.Session, r *plugin.Result) {
	if o.Expect != "" {
		raw := rawReply(s.Banner) + "\n" + rawReply(s.Hello)
		if !strings.Contains(raw, o.Expect) {
			r.Add(plugin.Warning, "banner: expected %q not found in the greeting or %s reply: %s", o.Expect, s.HelloVerb, s.Transcript.ScrubLong(plugin.Quote(s.Banner)))
		}
	}
	if o.expectRe != nil && !o.expectRe.MatchString(rawReply(s.Banner)) {
		r.Add(plugin.Warning, "banner: %s does not match --expect-regex %q", s.Transcript.ScrubLong(plugin.Quote(s.Banner)), o.ExpectRegex)
	}
	if s.EHLOErr != nil {
		r.Detail("ehlo: refused with %s; HELO accepted, so no extensions are known", plugin.Quote(*s.EHLOErr))
	}
	for _, kw := range o.RequireExt {
		if !offers(s, kw) {
			why := ""
			if note := authInTLS(s); note != "" && strings.EqualFold(kw, "AUTH") {
				why = " (" + note + ")"
			}
			r.Add(plugin.Critical, "ehlo: required extension %s not offered%s", strings.ToUpper(kw), why)
		}
	}
	for _, kw := range o.ForbidExt {
		if offers(s, kw) {
			r.Add(plugin.Critical, "ehlo: forbidden extension %s offered", strings.ToUpper(kw))
		}
	}
}

// authInTLS says why a plain session may see no AUTH: many servers
// (Postfix's submission, Exim's default) offer it only inside TLS, and this
// one offers STARTTLS, which was not used; "" otherwise.
func authInTLS(s *probe.Session) string {
	if s.Encrypted() || !s.Ext.Has("STARTTLS") {
		return ""
	}
	return "the server offers STARTTLS, and many offer AUTH only inside TLS: add -S"
}

// offers reports whether the server offers the extension kw: inside TLS,
// except STARTTLS, which a server offers only before it (RFC 3207 §4.2).
func offers(s *probe.Session, kw string) bool {
	if strings.EqualFold(kw, "STARTTLS") && s.ExtPlain != nil {
		return s.ExtPlain.Has(kw)
	}
	return s.Ext.Has(kw)
}

func (o *Options) judgeTLS(f *Facts, r *plugin.Result, now time.Time) {
	s := f.S
	if s.TLS == nil {
		if o.CertDays != "" {
			r.Detail("certificate: not checked, there was no TLS session")
		}
		return
	}
	switch {
	case plugin.RootsUnreadable(s.VerifyErr) && (o.Verify || f.Withheld == AuthUnverified):
		// This host's fault, not the server's: judgeAuth says no more.
		r.Add(plugin.Unknown, "%s", plugin.RootsUnreadableText(s.VerifyErr))
	case s.VerifyErr != nil && o.Verify:
		r.Add(plugin.Critical, "tls: certificate does not verify: %v - %s", s.VerifyErr, plugin.CertAdvice(s.VerifyErr, o.CAFile))
	}
	if o.CertDays == "" || len(s.TLS.PeerCertificates) == 0 {
		return
	}
	leaf := s.TLS.PeerCertificates[0]
	days := certDays(leaf.NotAfter, now)
	r.AddPerf(plugin.Perf{Label: "cert_days", Value: float64(days),
		Warn: atLeast(o.certWarn), Crit: atLeast(o.certCrit)})
	name := leaf.Subject.CommonName
	if name == "" && len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	date := leaf.NotAfter.UTC().Format("2006-01-02 15:04 MST")
	switch {
	case o.IgnoreExp:
		r.Detail("certificate: %q expires %s (%s; expiry ignored)", name, date, plugin.Count(days, "day"))
	case days < 0:
		r.Add(plugin.Critical, "certificate %q expired on %s", name, date)
	case days < o.certCrit:
		r.Add(plugin.Critical, "certificate %q expires in %s (%s)", name, plugin.Count(days, "day"), date)
	case days < o.certWarn:
		r.Add(plugin.Warning, "certificate %q expires in %s (%s)", name, plugin.Count(days, "day"), date)
	}
}

// certDays counts whole days left, negative once expired, without the
// unsigned wrap-around that lets check_smtp call an expired certificate OK.
func certDays(notAfter, now time.Time) int {
	return int(math.Floor(notAfter.Sub(now).Hours() / 24))
}

// atLeast is the Nagios range "n:", alerting below n.
func atLeast(n int) threshold.Range {
	if n <= 0 {
		return threshold.Range{}
	}
	r, _ := threshold.Parse(fmt.Sprintf("%d:", n))
	return r
}

func (o *Options) judgeAuth(f *Facts, r *plugin.Result) {
	s := f.S
	switch f.Withheld {
	case AuthPlaintext: // our options' fault
		r.Add(plugin.Unknown, "auth: refused to send the password unencrypted: add -S (STARTTLS) or -s, or --allow-plaintext")
	case AuthNoMech:
		offers := plugin.OrNone(strings.Join(s.Ext.AuthMechanisms(), " "))
		if note := authInTLS(s); note != "" {
			offers += "; " + note
		}
		r.Add(plugin.Critical, "auth: server does not offer AUTH %s (offers: %s)", o.AuthType, offers)
	case AuthUnverified:
		if plugin.RootsUnreadable(s.VerifyErr) { // judgeTLS said why
			r.Detail("auth: credentials not sent: the certificate could not be verified")
		} else { // the server's fault: it cannot be talked to safely
			r.Add(plugin.Critical, "auth: %s", plugin.CredentialsUnverified(s.String(), s.VerifyErr, o.CAFile))
		}
	case AuthNoStartTLS:
		r.Add(plugin.Critical, "auth: %s", plugin.CredentialsNoStartTLS(s.String()))
	}
	if f.AuthErr != nil {
		r.Add(plugin.FailureState(f.AuthErr, o.Timeout), "%s", plugin.Describe(f.AuthErr, s, o.Timeout.Duration))
	}
}

// accepted are the codes by which MAIL, RCPT (RFC 5321 §4.3.2) and RSET succeed.
var accepted = map[probe.Phase][]int{probe.PhaseMail: {250}, probe.PhaseRcpt: {250, 251}, probe.PhaseRset: {250}}

// accepted reports whether the server took the step.
func (st Step) accepted() bool { return slices.Contains(accepted[st.Phase], st.Reply.Code) }

// judgeSteps: a refused MAIL or RCPT is judged by plugin.FailureState (4xx
// WARNING, 5xx CRITICAL), any other code but the accepted ones CRITICAL; a
// refused RSET (the transaction was accepted, only not closed) and a refused
// -C are WARNING. -C replies are judged by their -R when given, else by
// their class; a 354 to a -C left the server reading a message.
func (o *Options) judgeSteps(f *Facts, r *plugin.Result) {
	for _, st := range f.Steps {
		if st.Phase == probe.PhaseCommand && st.Reply.Code == 354 {
			r.Add(plugin.Warning, "%s: %s opened a message body; check_smtp_conn does not send mail, so it hung up: drop this -C", stepName(st), plugin.Quote(st.Reply))
		}
		if st.Phase == probe.PhaseCommand && st.Index < len(o.responses) {
			if re := o.responses[st.Index]; !re.MatchString(rawReply(st.Reply)) {
				r.Add(plugin.Warning, "command %q: reply %s does not match %q", st.Line, plugin.Quote(st.Reply), re)
			}
			continue
		}
		if want, ok := accepted[st.Phase]; ok {
			cmd, _, _ := strings.Cut(st.Line, ":")
			if err := smtp.Expect(st.Reply, cmd, want...); errors.As(err, new(*smtp.ProtocolError)) {
				what, todo := plugin.Explain(&probe.Error{Phase: st.Phase, Kind: probe.KindProtocol, Err: err}, f.S, o.Timeout.Duration)
				r.Add(plugin.Critical, "%s: %s - %s", stepName(st), what, todo)
				continue
			}
		}
		if c := st.Reply.Class(); c != 4 && c != 5 {
			continue
		}
		state := plugin.Warning // -C and RSET: the check itself went through
		if st.Phase == probe.PhaseMail || st.Phase == probe.PhaseRcpt {
			state = plugin.FailureState(&probe.Error{Phase: st.Phase, Kind: probe.KindReply, Reply: &st.Reply}, o.Timeout)
		}
		r.Add(state, "%s: %s%s", stepName(st), plugin.Quote(st.Reply), hint(st.Phase, st.Reply, f.S))
	}
}

// stepName leads with the phase: "mail <a@b>", "rcpt <c@d>", "command \"VRFY x\"", "rset".
func stepName(st Step) string {
	switch st.Phase {
	case probe.PhaseCommand:
		return fmt.Sprintf("command %q", st.Line)
	case probe.PhaseMail, probe.PhaseRcpt:
		_, addr, _ := strings.Cut(st.Line, ":")
		return string(st.Phase) + " " + addr
	}
	return string(st.Phase)
}

func (o *Options) judgeTimes(f *Facts, r *plugin.Result) {
	total := threshold.Pair{Warn: o.Warning, Crit: o.Critical}
	o.judgeTime(r, "response time", f.Total, total)
	for _, ph := range knownPhases {
		pair, ok := o.phases[ph]
		if !ok {
			continue
		}
		d, measured := f.S.Duration(ph)
		if ph == "total" {
			d, measured = f.Total, true
		}
		if measured {
			o.judgeTime(r, string(ph)+" time", d, pair)
		}
	}
}

func (o *Options) judgeTime(r *plugin.Result, what string, d time.Duration, p threshold.Pair) {
	switch p.Check(d.Seconds()) {
	case threshold.Critical:
		r.Add(plugin.Critical, "%s %s s (critical %s)", what, plugin.Elapsed(d), p.Crit)
	case threshold.Warning:
		r.Add(plugin.Warning, "%s %s s (warning %s)", what, plugin.Elapsed(d), p.Warn)
	}
}

// details are the long output: one line per phase that happened.
func (o *Options) details(f *Facts, r *plugin.Result) {
	s := f.S
	note := ""
	if s.VerifyErr != nil && !o.Verify && !s.Target.Insecure && !plugin.RootsUnreadable(s.VerifyErr) {
		note = " (reported only; --verify makes it CRITICAL, check_smtp_tls audits it)"
	}
	plugin.SessionLines(r, s, &o.Common, "extensions: "+plugin.OrNone(extList(s.Ext)), note)
	if f.Err != nil && f.Err.Phase == probe.PhaseProxy {
		return // the replies were read one command late: -v shows them
	}
	for _, st := range f.Steps {
		r.Detail("%s: %s", stepName(st), plugin.Quote(st.Reply))
	}
}

func extList(e smtp.Extensions) string {
	var parts []string
	for _, k := range e.Names() {
		if v := e[k]; v != "" {
			k += "=" + strings.ReplaceAll(v, " ", ",")
		}
		parts = append(parts, k)
	}
	return strings.Join(parts, " ")
}

func rawReply(r smtp.Reply) string {
	var b strings.Builder
	for i, l := range r.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d %s", r.Code, l)
	}
	return b.String()
}

func hint(ph probe.Phase, r smtp.Reply, s *probe.Session) string {
	if h := plugin.Hint(ph, r, s); h != "" {
		return " - " + h
	}
	return ""
}
