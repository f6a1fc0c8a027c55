package authcheck

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Judge turns the facts of one run into findings, details and perfdata. It
// is the one place where check_smtp_auth decides states, and it is pure:
// no network, no file, no clock (nothing here depends on now: a
// certificate's dates were judged when the chain was verified).
//   - credentials that cannot be obtained (secret store, token endpoint): UNKNOWN
//   - a session that failed: plugin.FailureState (the one table of all
//     plugins: a timeout -t's state, a 4xx to AUTH WARNING, else CRITICAL)
//   - credentials withheld: UNKNOWN for --no-tls without --allow-plaintext
//     (our user's configuration) and for system roots this host cannot
//     read; CRITICAL when the server cannot be talked to safely (no
//     STARTTLS offered, certificate does not verify)
//   - the mechanism not offered: CRITICAL
//   - AUTH refused: by plugin.FailureState (OK with --expect-fail for 535)
//   - a SCRAM server that does not prove the password: CRITICAL
//   - AUTH accepted: OK (CRITICAL with --expect-fail); -w/-c on the AUTH time
func (o *Options) Judge(f *Facts, now time.Time) *plugin.Result {
	r := &plugin.Result{Service: Service}
	if o.literalPass && o.OnCommandLine("authpass") { // not from an --extra-opts file
		r.Detail("note: -P puts the password on the command line, where other users can read it (ps, /proc); use --password-ref env:NAME or file:PATH instead")
	}
	if f.S == nil { // the credentials could not be had: no session
		r.Transcript = f.Tr.ForVerbosity(o.Verbosity())
		r.Add(login.CredState(f.CredErr, o.Timeout), "%s", f.CredErr)
		r.AddPerf(plugin.Seconds("total", f.Total, threshold.Pair{}), plugin.Seconds("time", f.Total, threshold.Pair{}))
		return r
	}
	o.details(f, r)
	plugin.SessionPerf(r, f.S, f.Total, plugin.Limits{probe.PhaseAuth: {Warn: o.Warning, Crit: o.Critical}}, threshold.Pair{})
	switch {
	case f.CredErr != nil:
		r.Add(login.CredState(f.CredErr, o.Timeout), "%s", f.CredErr)
	case f.Err != nil && !f.AuthRan:
		r.Add(plugin.FailureState(f.Err, o.Timeout), "%s", o.Spelling().Describe(f.Err, f.S, o.Timeout.Duration))
	case f.Refused != login.RefuseNone:
		st, msg := f.Refused.Judge(f.S, o.CAFile)
		r.Add(st, "%s", msg)
	case f.NotOffered:
		r.Add(plugin.Critical, "%s", o.notOfferedText(f))
	case f.AuthErr != nil:
		o.judgeAuthErr(f, r)
	default:
		o.judgeAuthOK(f, r)
	}
	return r
}

func (o *Options) notOfferedText(f *Facts) string {
	offers := strings.Join(f.Offered, " ")
	if offers == "" {
		offers = "none"
		if !f.S.Encrypted() {
			offers += "; many servers offer AUTH only inside TLS"
		}
	}
	if f.Mech == "" {
		kind := "a password"
		if o.Login.UseToken() {
			kind = "an OAuth token"
		}
		return fmt.Sprintf("auth: %s offers no mechanism usable with %s (offers: %s)", f.S, kind, offers)
	}
	return fmt.Sprintf("auth: %s does not offer %s (offers: %s)", f.S, f.Mech, offers)
}

func (o *Options) judgeAuthErr(f *Facts, r *plugin.Result) {
	e, where := f.AuthErr, f.S.String()
	who := f.Mech + " as " + f.User
	if f.User == "" {
		who = f.Mech
	}
	switch {
	case e.Kind == probe.KindReply && e.Reply != nil:
		rep := *e.Reply
		said := serverSaid(f.SASL)
		if o.ExpectFail && rep.Code == 535 {
			r.Add(plugin.OK, "auth: %s refused as expected by %s: %s%s", who, where, plugin.Quote(rep), said)
			return
		}
		st := plugin.FailureState(e, o.Timeout)
		msg := fmt.Sprintf("auth: %s refused: %s%s (%s)", who, plugin.Quote(rep), said, where)
		if h := o.Spelling().Hint(e.Phase, rep, f.S); h != "" {
			msg += " - " + h
		}
		r.Add(st, "%s", msg)
	case errors.Is(e, sasl.ErrNoServerProof):
		r.Add(plugin.Critical, "auth: %s accepted %s with %s without proving that it knows the password (no SCRAM server signature)", where, f.loginName(), f.Mech)
	case errors.Is(e, sasl.ErrServerSignature):
		r.Add(plugin.Critical, "auth: %s: %v (%s) - it does not hold this password's keys: another server, or a man in the middle, answers", who, sasl.ErrServerSignature, where)
	default:
		r.Add(plugin.FailureState(e, o.Timeout), "%s", o.Spelling().Describe(e, f.S, o.Timeout.Duration))
	}
}

// loginName is who a login is for in messages: the user, or the token of
// a mechanism that names none.
func (f *Facts) loginName() string {
	if f.User == "" {
		return "the token"
	}
	return f.User
}

func serverSaid(out sasl.Outcome) string {
	if out.ServerError == "" {
		return ""
	}
	return " (SASL: " + out.ServerError + ")"
}

func (o *Options) judgeAuthOK(f *Facts, r *plugin.Result) {
	where := f.S.String()
	who := f.loginName()
	if o.ExpectFail {
		r.Add(plugin.Critical, "auth: %s accepted %s with %s, but --expect-fail says this login must be refused", where, who, f.Mech)
		return
	}
	d, _ := f.S.Duration(probe.PhaseAuth)
	pair := threshold.Pair{Warn: o.Warning, Crit: o.Critical}
	switch pair.Check(d.Seconds()) {
	case threshold.Critical:
		r.Add(plugin.Critical, "auth time %s s (critical %s)", plugin.Elapsed(d), o.Critical)
	case threshold.Warning:
		r.Add(plugin.Warning, "auth time %s s (warning %s)", plugin.Elapsed(d), o.Warning)
	}
	if len(r.Findings) == 0 {
		r.Add(plugin.OK, "%s accepted %s with %s in %s s%s", where, who, f.Mech, plugin.Elapsed(d), o.okSuffix(f))
	}
}

// okSuffix says how the credentials travelled, loudly when unsafely.
func (o *Options) okSuffix(f *Facts) string {
	s := f.S
	var parts []string
	switch {
	case s.TLS == nil:
		parts = append(parts, "UNENCRYPTED: --allow-plaintext")
	default:
		mode := "STARTTLS"
		if o.Mode() == probe.TLSImplicit {
			mode = "TLS"
		}
		parts = append(parts, mode+" "+tlsaudit.VersionName(s.TLS.Version))
		if o.Insecure {
			parts = append(parts, plugin.InsecureNote(s.CertErr()))
		}
	}
	if f.SASL.ServerVerified {
		parts = append(parts, "server signature verified")
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// details are the long output: one line per step that happened.
func (o *Options) details(f *Facts, r *plugin.Result) {
	s := f.S
	plugin.SessionLines(r, s, &o.Common, "AUTH mechanisms: "+plugin.OrNone(strings.Join(s.Ext.AuthMechanisms(), " ")), "")
	switch {
	case len(s.ExtPlain) > 0 && s.TLS != nil: // said of the plaintext EHLO: just before the TLS line
		line := "before STARTTLS the server offered AUTH: " + plugin.OrNone(strings.Join(s.ExtPlain.AuthMechanisms(), " "))
		r.Details = slices.Insert(r.Details, len(r.Details)-1, line)
	case s.NoStartTLS:
		r.Detail("tls: %s does not offer STARTTLS", s)
	}
	if f.AuthRan && s.TLS == nil {
		r.Detail("warning: credentials were sent UNENCRYPTED (--allow-plaintext); anyone on the path can read them")
	}
	if f.AuthRan && s.TLS != nil && s.CertErr() != nil {
		r.Detail("warning: credentials were sent to a server whose certificate does not verify (--insecure)")
	}
	if f.AuthRan {
		line := fmt.Sprintf("auth: %s as %s: %s", f.Mech, plugin.OrNone(f.User), plugin.Quote(f.AuthReply))
		if f.AuthReply.Code == 0 {
			line = fmt.Sprintf("auth: %s as %s: no final reply", f.Mech, plugin.OrNone(f.User))
		}
		if f.SASL.MutualAuth {
			line += fmt.Sprintf("; server signature verified: %t", f.SASL.ServerVerified)
		}
		if f.SASL.ServerError != "" {
			line += "; SASL error from the server: " + f.SASL.ServerError
		}
		r.Detail("%s", line)
	}
	if f.QuitErr != nil {
		r.Detail("%s", o.Spelling().Describe(f.QuitErr, s, o.Timeout.Duration)) // "quit: ..."
	}
}
