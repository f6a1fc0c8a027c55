package authcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// phases reported as perfdata, in session order.
var phases = []probe.Phase{probe.PhaseDNS, probe.PhaseConnect, probe.PhaseTLS, probe.PhaseBanner,
	probe.PhaseEHLO, probe.PhaseStartTLS, probe.PhaseEHLOTLS, probe.PhaseAuth, probe.PhaseQuit}

// judge turns the facts of one run into findings, details and perfdata. It
// is the one place where check_smtp_auth decides states:
//   - credentials that cannot be obtained (secret store, token endpoint): UNKNOWN
//   - a session that failed: plugin.FailureState (the one table of all
//     plugins: a timeout -t's state, a 4xx to AUTH WARNING, else CRITICAL)
//   - credentials withheld: UNKNOWN for --no-tls without --allow-plaintext
//     (our user's configuration), CRITICAL when the server cannot be talked
//     to safely (no STARTTLS offered, certificate does not verify)
//   - the mechanism not offered: CRITICAL
//   - AUTH refused: by plugin.FailureState (OK with --expect-fail for 535)
//   - a SCRAM server that does not prove the password: CRITICAL
//   - AUTH accepted: OK (CRITICAL with --expect-fail); -w/-c on the AUTH time
func (o *Options) judge(f *facts, r *plugin.Result) {
	if o.literalPass && o.OnCommandLine("authpass") { // not from an --extra-opts file
		r.Detail("note: -P puts the password on the command line, where other users can read it (ps, /proc); use --password-ref env:NAME or file:PATH instead")
	}
	r.Transcript = f.Tr.ForVerbosity(o.Verbosity())
	if f.CredErr != nil && f.S == nil {
		r.Add(o.credState(f.CredErr), "%s", f.CredErr)
		r.AddPerf(plugin.Seconds("total", f.Total, threshold.Pair{}), plugin.Seconds("time", f.Total, threshold.Pair{}))
		return
	}
	s := f.S
	where := s.String()
	o.details(f, r)
	o.perfdata(f, r)
	switch {
	case f.CredErr != nil:
		r.Add(o.credState(f.CredErr), "%s", f.CredErr)
	case f.Err != nil && !f.AuthRan:
		r.Add(plugin.FailureState(f.Err, o.Timeout), "%s", f.Err.Describe(where, o.Timeout.Duration))
	case f.Refused == refuseNoTLS: // our user's own configuration
		r.Add(plugin.Unknown, "%s", o.refusalText(f))
	case f.Refused != refuseNone: // the server cannot be talked to safely
		r.Add(plugin.Critical, "%s", o.refusalText(f))
	case f.NotOffered:
		r.Add(plugin.Critical, "%s", o.notOfferedText(f))
	case f.AuthErr != nil:
		o.judgeAuthErr(f, r)
	default:
		o.judgeAuthOK(f, r)
	}
}

// credState: a secret store or token endpoint that did not answer in time
// is a timeout like any other; any other failure means the check could not run.
func (o *Options) credState(err error) plugin.State {
	if errors.Is(err, context.DeadlineExceeded) {
		return o.Timeout.State
	}
	return plugin.Unknown
}

func (o *Options) refusalText(f *facts) string {
	where := f.S.String()
	switch f.Refused {
	case refuseNoStartTLS:
		return plugin.CredentialsNoStartTLS(where)
	case refuseNoTLS:
		return "credentials not sent: --no-tls leaves the connection unencrypted - add --allow-plaintext to send them anyway, or drop --no-tls"
	}
	return plugin.CredentialsUnverified(where, f.S.VerifyErr, o.CAFile)
}

func (o *Options) notOfferedText(f *facts) string {
	offers := strings.Join(f.Offered, " ")
	if offers == "" {
		offers = "none"
		if !f.S.Encrypted() {
			offers += "; many servers offer AUTH only inside TLS"
		}
	}
	if f.Mech == "" {
		kind := "a password"
		if o.useToken {
			kind = "an OAuth token"
		}
		return fmt.Sprintf("auth: %s offers no mechanism usable with %s (offers: %s)", f.S, kind, offers)
	}
	return fmt.Sprintf("auth: %s does not offer %s (offers: %s)", f.S, f.Mech, offers)
}

func (o *Options) judgeAuthErr(f *facts, r *plugin.Result) {
	e, where := f.AuthErr, f.S.String()
	who := f.Mech + " as " + f.User
	if f.User == "" {
		who = f.Mech
	}
	switch {
	case e.Kind == probe.KindReply && e.Reply != nil:
		rep := *e.Reply
		said := serverSaid(f.Outcome)
		if o.ExpectFail && rep.Code == 535 {
			r.Add(plugin.OK, "auth: %s refused as expected by %s: %s%s", who, where, probe.Quote(rep), said)
			return
		}
		st := plugin.FailureState(e, o.Timeout)
		msg := fmt.Sprintf("auth: %s refused: %s%s (%s)", who, probe.Quote(rep), said, where)
		if h := authHint(rep); h != "" {
			msg += " - " + h
		}
		r.Add(st, "%s", msg)
	case errors.Is(e, sasl.ErrServerSignature):
		r.Add(plugin.Critical, "auth: %s: %v (%s) - it does not hold this password's keys: another server, or a man in the middle, answers", who, sasl.ErrServerSignature, where)
	default:
		r.Add(plugin.FailureState(e, o.Timeout), "%s", e.Describe(where, o.Timeout.Duration))
	}
}

// authHint is smtp.Hint, except for a 530 in answer to AUTH: its generic
// advice ("add -A/-U/-P") fits MAIL, not a login that was just attempted.
func authHint(rep smtp.Reply) string {
	h := smtp.Hint(rep)
	if rep.Code == 530 && !strings.Contains(strings.ToUpper(rep.Text()), "STARTTLS") {
		return "the server wants another step before AUTH (often STARTTLS): use -S or -s, and look at its log"
	}
	return h
}

func serverSaid(out sasl.Outcome) string {
	if out.ServerError == "" {
		return ""
	}
	return " (SASL: " + out.ServerError + ")"
}

func (o *Options) judgeAuthOK(f *facts, r *plugin.Result) {
	where := f.S.String()
	who := f.User
	if who == "" {
		who = "the token"
	}
	if o.ExpectFail {
		r.Add(plugin.Critical, "auth: %s accepted %s with %s, but --expect-fail says this login must be refused", where, who, f.Mech)
		return
	}
	if f.Outcome.MutualAuth && !f.Outcome.ServerVerified {
		r.Add(plugin.Critical, "auth: %s accepted %s with %s without proving that it knows the password (no SCRAM server signature)", where, who, f.Mech)
		return
	}
	d, _ := f.S.Duration(probe.PhaseAuth)
	pair := threshold.Pair{Warn: o.Warning, Crit: o.Critical}
	switch pair.Check(d.Seconds()) {
	case threshold.Critical:
		r.Add(plugin.Critical, "auth time %s s (critical %s)", secs(d), o.Critical)
	case threshold.Warning:
		r.Add(plugin.Warning, "auth time %s s (warning %s)", secs(d), o.Warning)
	}
	if len(r.Findings) == 0 {
		r.Add(plugin.OK, "%s accepted %s with %s in %s s%s", where, who, f.Mech, secs(d), o.okSuffix(f))
	}
}

// okSuffix says how the credentials travelled, loudly when unsafely.
func (o *Options) okSuffix(f *facts) string {
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
	if f.Outcome.ServerVerified {
		parts = append(parts, "server signature verified")
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// details are the long output: one line per step that happened.
func (o *Options) details(f *facts, r *plugin.Result) {
	s := f.S
	if s.Banner.Code != 0 {
		r.Detail("banner: %s", probe.Quote(s.Banner))
	}
	if s.HelloVerb != "" {
		r.Detail("%s: %s; AUTH mechanisms: %s", strings.ToLower(s.HelloVerb), probe.Quote(s.Hello), orNone(strings.Join(s.Ext.AuthMechanisms(), " ")))
	}
	if len(s.ExtPlain) > 0 && s.TLS != nil {
		r.Detail("before STARTTLS the server offered AUTH: %s", orNone(strings.Join(s.ExtPlain.AuthMechanisms(), " ")))
	}
	switch {
	case s.TLS != nil:
		r.Detail("%s", s.TLSLine())
	case f.NoStartTLS:
		r.Detail("tls: %s does not offer STARTTLS", s)
	}
	if f.AuthRan && s.TLS == nil {
		r.Detail("warning: credentials were sent UNENCRYPTED (--allow-plaintext); anyone on the path can read them")
	}
	if f.AuthRan && s.TLS != nil && s.CertErr() != nil {
		r.Detail("warning: credentials were sent to a server whose certificate does not verify (--insecure)")
	}
	if f.AuthRan {
		line := fmt.Sprintf("auth: %s as %s: %s", f.Mech, orNone(f.User), probe.Quote(f.AuthReply))
		if f.AuthReply.Code == 0 {
			line = fmt.Sprintf("auth: %s as %s: no final reply", f.Mech, orNone(f.User))
		}
		if f.Outcome.MutualAuth {
			line += fmt.Sprintf("; server signature verified: %t", f.Outcome.ServerVerified)
		}
		if f.Outcome.ServerError != "" {
			line += "; SASL error from the server: " + f.Outcome.ServerError
		}
		r.Detail("%s", line)
	}
	if f.QuitErr != nil {
		r.Detail("quit: %s", f.QuitErr.Describe(s.String(), o.Timeout.Duration))
	}
}

// perfdata emits every measured phase (auth with -w/-c), total and time.
func (o *Options) perfdata(f *facts, r *plugin.Result) {
	for _, ph := range phases {
		if d, ok := f.S.Duration(ph); ok {
			var p threshold.Pair
			if ph == probe.PhaseAuth {
				p = threshold.Pair{Warn: o.Warning, Crit: o.Critical}
			}
			r.AddPerf(plugin.Seconds(string(ph), d, p))
		}
	}
	r.AddPerf(plugin.Seconds("total", f.Total, threshold.Pair{}), plugin.Seconds("time", f.Total, threshold.Pair{}))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
