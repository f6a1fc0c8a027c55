package securitycheck

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Verdict is one sub-check's outcome, as --output json lists it under
// "items".
type Verdict struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	State    string   `json:"state"` // OK, WARNING, CRITICAL, UNKNOWN, or SKIPPED
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence"`
	Advice   string   `json:"advice,omitempty"`

	state   plugin.State
	skipped bool
	failed  bool // its session failed: the state is the failure's, not a finding's
}

// outcome is what one sub-check's judge found: a problem (given the
// sub-check's state for it), a pass, a skip, or a session that failed.
type outcome struct {
	problem  bool
	crit     bool // a problem worse than the sub-check's default: CRITICAL (unless --state)
	capped   bool // inconclusive: at most WARNING whatever the sub-check's state
	state    plugin.State
	fixed    bool // state is decided (a failed session), not the sub-check's
	skip     string
	summary  string
	evidence []string
}

func pass(summary string, ev ...string) outcome { return outcome{summary: summary, evidence: ev} }
func problem(summary string, ev ...string) outcome {
	return outcome{problem: true, summary: summary, evidence: ev}
}
func inconclusive(summary string, ev ...string) outcome {
	return outcome{problem: true, capped: true, summary: "inconclusive: " + summary, evidence: ev}
}
func skipped(why string) outcome { return outcome{skip: why} }

// worse makes a problem CRITICAL whatever the sub-check's default state.
func (out outcome) worse() outcome { out.crit = true; return out }

// Judge turns the facts into one verdict per sub-check, findings for the
// status line, the long output and perfdata. It is pure: no network, no
// file, no clock.
//   - a sub-check that finds its problem: its state for the role (or --state)
//   - inconclusive (the server takes every recipient, a 4xx): at most WARNING
//   - its session failed before it could ask: plugin.FailureState, worded by
//     plugin.Describe
//   - a job that never ran (panic, deadline): plugin.JobFailure
//   - all fine: OK, naming how many sub-checks passed
func (o *Options) Judge(f *Facts, now time.Time) *plugin.Result {
	r := &plugin.Result{Service: Service}
	var verdicts []Verdict
	for _, sc := range subchecks {
		def, forRole := sc.states[o.role]
		if !forRole || !o.optedIn(sc) {
			continue
		}
		v := Verdict{ID: sc.id, Title: sc.title, Advice: sc.advice}
		if a := sc.roleAdvice[o.role]; a != "" {
			v.Advice = a
		}
		var out outcome
		if !o.run[sc.id] {
			out = skipped("not selected (--only, --skip)")
		} else {
			out = judges[sc.id](o, f)
			if err := f.NotRun[o.sessionOf(sc.id)]; err != nil && !out.problem {
				jf := plugin.JobFailure(err, o.Timeout, "sessions")
				out = outcome{fixed: true, state: jf.State, summary: jf.Text}
			}
		}
		v.Summary, v.Evidence = out.summary, out.evidence
		if v.Evidence == nil {
			v.Evidence = []string{}
		}
		if out.skip == "" && unverified(f.sessions(o.sessionOf(sc.id))...) != nil {
			v.Evidence = append(v.Evidence, "asked inside TLS with a certificate that was not verified (--insecure)")
		}
		switch {
		case out.skip != "":
			v.skipped, v.Summary, v.State = true, "skipped: "+out.skip, "SKIPPED"
		case out.fixed:
			v.state, v.failed = out.state, true
		case out.problem:
			v.state = def
			if out.crit {
				v.state = plugin.Critical
			}
			if st, ok := o.overrides[sc.id]; ok {
				v.state = st
			}
			if out.capped && v.state != plugin.OK {
				v.state = plugin.Warning
			}
		}
		if !v.skipped {
			v.State = v.state.String()
		}
		verdicts = append(verdicts, v)
	}
	r.Items = verdicts
	o.findings(r, verdicts, f)
	if s := unverified(f.runs()...); s != nil {
		// Every verdict inside TLS rests on a certificate --insecure let pass: say so on every output.
		last := &r.Findings[len(r.Findings)-1]
		for i := range r.Findings {
			if r.Findings[i].State == r.State() {
				last = &r.Findings[i]
			}
		}
		last.Text += " (" + plugin.InsecureNote(s.CertErr()) + ")"
		r.Detail("%s", plugin.TLSLine(s))
	}
	o.details(r, verdicts, f)
	o.perf(r, verdicts, f)
	return r
}

// findings name every sub-check that found a problem; the lesser ones
// are named after the worst, so that the status line names them all.
func (o *Options) findings(r *plugin.Result, verdicts []Verdict, f *Facts) {
	passed := 0
	// Sub-checks whose sessions failed alike (a server down) make one finding.
	var order []string
	same := map[string][]string{}
	states := map[string]plugin.State{}
	for _, v := range verdicts {
		switch {
		case v.skipped:
		case v.state == plugin.OK:
			passed++
		case v.failed:
			if same[v.Summary] == nil {
				order = append(order, v.Summary)
			}
			same[v.Summary], states[v.Summary] = append(same[v.Summary], v.ID), v.state
		default:
			r.Add(v.state, "%s: %s", v.ID, v.Summary)
		}
	}
	// The failure first, in the words every plugin gives it, then what it kept from being asked.
	for _, sum := range order {
		if what, ok := strings.CutPrefix(sum, couldNot); ok {
			r.Add(states[sum], "%s (not asked: %s)", what, strings.Join(same[sum], ", "))
		} else {
			r.Add(states[sum], "%s: %s", strings.Join(same[sum], ", "), sum)
		}
	}
	if len(r.Findings) == 0 {
		r.Add(plugin.OK, "%s passed for %s on %s", plugin.Count(passed, "sub-check"), o.role, o.where(f))
		return
	}
	worst := r.State()
	var lesser []string
	for _, v := range verdicts {
		if !v.skipped && v.state != plugin.OK && v.state != worst {
			lesser = append(lesser, v.state.String()+" "+v.ID)
		}
	}
	if len(lesser) > 0 {
		for i := len(r.Findings) - 1; i >= 0; i-- {
			if r.Findings[i].State == worst {
				r.Findings[i].Text += " (also " + strings.Join(lesser, ", ") + ")"
				break
			}
		}
	}
}

// where names the server as the first session that dialled saw it.
func (o *Options) where(f *Facts) string {
	for _, run := range f.runs() {
		if run.S != nil && run.S.Addr.IsValid() {
			return run.S.String()
		}
	}
	return net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
}

// runs are the sessions that ran, in the order of the output.
func (f *Facts) runs() []*Run {
	var out []*Run
	all := append([]*Run{f.Plain, f.TLS}, f.Relay...)
	for _, r := range append(append(all, f.Injection), f.Smuggle...) {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// details are one block per sub-check: state, id and summary; the
// evidence; the fix where there is a problem. -v adds each session's
// transcript.
func (o *Options) details(r *plugin.Result, verdicts []Verdict, f *Facts) {
	for _, v := range verdicts {
		r.Detail("[%s] %s: %s", v.State, v.ID, v.Summary)
		for _, e := range v.Evidence {
			r.Detail("    %s", e)
		}
		if !v.skipped && !v.failed && v.state != plugin.OK {
			r.Detail("    fix: %s", v.Advice)
		}
	}
	if o.role == RoleMX && o.run[idOpenRelay] {
		r.Detail("note: a client inside the server's trusted networks (Postfix mynetworks, Exim relay_from_hosts) may relay and is exempt from rate limits: run this audit from outside them")
	}
	for _, run := range f.runs() {
		if run.S == nil || o.Verbosity() == 0 {
			continue
		}
		r.Transcript = append(r.Transcript, "-- "+run.Name+" --")
		r.Transcript = append(r.Transcript, run.S.Transcript.ForVerbosity(o.Verbosity())...)
	}
}

// perf counts the sub-checks by outcome and times each kind of session.
func (o *Options) perf(r *plugin.Result, verdicts []Verdict, f *Facts) {
	var passed, warned, failed, skip float64
	for _, v := range verdicts {
		switch {
		case v.skipped:
			skip++
		case v.state == plugin.OK:
			passed++
		case v.state == plugin.Warning:
			warned++
		default:
			failed++
		}
	}
	for _, c := range []struct {
		label string
		n     float64
	}{{"passed", passed}, {"warned", warned}, {"failed", failed}, {"skipped", skip}} {
		r.AddPerf(plugin.Perf{Label: c.label, Value: c.n, Min: plugin.Zero})
	}
	for _, key := range []string{"plain", "tls", "relay", "injection", "scan", "rate", "smuggling", "domain"} {
		if d, ok := f.Durations[key]; ok {
			r.AddPerf(plugin.Seconds("time_"+key, d, threshold.Pair{}))
		}
	}
	r.AddPerf(plugin.Seconds("total", f.Total, threshold.Pair{}), plugin.Seconds("time", f.Total, threshold.Pair{}))
}

// unverified is the first of runs that went on inside TLS with a
// certificate --insecure did not verify; nil when none did. (The version
// scan and the rate probe ask no question of the certificate.)
func unverified(runs ...*Run) *probe.Session {
	for _, run := range runs {
		if run != nil && run.S != nil && run.S.TLS != nil && run.S.Target.Insecure {
			return run.S
		}
	}
	return nil
}

// sessions are the runs of one kind (sessionOf).
func (f *Facts) sessions(kind string) []*Run {
	switch kind {
	case "plain":
		return []*Run{f.Plain}
	case "tls":
		return []*Run{f.TLS}
	case "relay":
		return f.Relay
	case "injection":
		return []*Run{f.Injection}
	case "smuggling":
		return f.Smuggle
	}
	return nil
}

// sessionOf is the kind of session a sub-check's facts come from.
func (o *Options) sessionOf(id string) string {
	switch id {
	case idAuthRelay:
		return "tls"
	case idOpenRelay:
		return "relay"
	case idRcptEnum:
		switch {
		case o.role == RoleMX:
			return "relay"
		case o.askOnTLS():
			return "tls"
		}
		return "plain"
	case idInjection:
		return "injection"
	case idWeakTLS:
		return "scan"
	case idRate:
		return "rate"
	case idMX, idSPF, idDMARC, idMTASTS, idTLSRPT, idTLSA:
		return "domain"
	case idSmuggling:
		return "smuggling"
	case idVRFY, idEXPN, idBanner:
		if o.askOnTLS() {
			return "tls"
		}
	}
	return "plain"
}

// judges are the sub-checks' judges, by id.
var judges = map[string]func(*Options, *Facts) outcome{
	idStartTLS:    (*Options).judgeStartTLS,
	idTLSRequired: (*Options).judgeTLSRequired,
	idAuthPlain:   (*Options).judgeAuthPlain,
	idAuthRelay:   (*Options).judgeAuthRelay,
	idOpenRelay:   (*Options).judgeOpenRelay,
	idVRFY:        func(o *Options, f *Facts) outcome { return o.judgeUsers(f, "vrfy", "VRFY") },
	idEXPN:        func(o *Options, f *Facts) outcome { return o.judgeUsers(f, "expn", "EXPN") },
	idRcptEnum:    (*Options).judgeRcptEnum,
	idInjection:   (*Options).judgeInjection,
	idBanner:      (*Options).judgeBanner,
	idWeakTLS:     (*Options).judgeWeakTLS,
	idRate:        (*Options).judgeRate,
	idSmuggling:   (*Options).judgeSmuggling,
	idMX:          onDomain((*Options).judgeMX),
	idSPF:         onDomain((*Options).judgeSPF),
	idDMARC:       onDomain((*Options).judgeDMARC),
	idMTASTS:      onDomain((*Options).judgeMTASTS),
	idTLSRPT:      onDomain((*Options).judgeTLSRPT),
	idTLSA:        onDomain((*Options).judgeTLSA),
}

// couldNot begins the summary of a sub-check whose session failed.
const couldNot = "could not ask: "

// failed is the outcome of a sub-check whose session ended before it
// could ask: the one state table's verdict on that failure.
func (o *Options) failed(run *Run) outcome {
	if run == nil {
		return skipped("its session did not run (see above)")
	}
	e := run.Err
	if e == nil {
		e = &probe.Error{Phase: "check", Err: errors.New("the session ended before this question was asked")}
	}
	return outcome{fixed: true, state: plugin.FailureState(e, o.Timeout), summary: couldNot + o.Spelling().Describe(e, run.S, o.Timeout.Duration)}
}

// failedWith is the outcome of a sub-check whose own connection (not a
// Run's) failed with e after waiting waited, worded as the sessions' are.
func (o *Options) failedWith(e *probe.Error, mode probe.TLSMode, waited time.Duration) outcome {
	s := &probe.Session{Target: o.target(mode)}
	return outcome{fixed: true, state: plugin.FailureState(e, o.Timeout), summary: couldNot + o.Spelling().Describe(e, s, waited)}
}

// said is an exchange as evidence: the command and the reply's first line.
func said(e *Exchange) string {
	return fmt.Sprintf("%s -> %s", e.Cmd, plugin.Quote(e.Reply))
}

// ehloDone reports whether run got as far as an EHLO reply.
// (The probe records an EHLO that failed too, a reply cut short included.)
func ehloDone(run *Run) bool {
	return run != nil && run.S != nil && run.S.Hello.Code == 250 && (run.Err == nil || run.Err.Phase != probe.PhaseEHLO)
}

func extList(ext smtp.Extensions) string { return plugin.OrNone(strings.Join(ext.Names(), " ")) }

// plainExt are the extensions the server offered in clear text.
func plainExt(run *Run) smtp.Extensions {
	if run.S.ExtPlain != nil {
		return run.S.ExtPlain
	}
	return run.S.Ext
}

func (o *Options) judgeStartTLS(f *Facts) outcome {
	if !ehloDone(f.Plain) {
		return o.failed(f.Plain)
	}
	ext := plainExt(f.Plain)
	ev := fmt.Sprintf("%s in clear text offers: %s", f.Plain.S.HelloVerb, extList(ext))
	if ext.Has("STARTTLS") {
		return pass("offered", ev)
	}
	return problem("not offered: mail to and from this server travels in clear text", ev)
}

func (o *Options) judgeTLSRequired(f *Facts) outcome {
	if !ehloDone(f.Plain) {
		return o.failed(f.Plain)
	}
	e := f.Plain.Get("mail_mail")
	if e == nil {
		return o.failed(f.Plain)
	}
	switch e.Reply.Class() {
	case 5:
		return pass("MAIL FROM in clear text refused", said(e))
	case 2:
		return problem("MAIL FROM accepted in clear text, before STARTTLS", said(e))
	}
	return inconclusive("MAIL FROM in clear text answered "+plugin.Quote(e.Reply)+", neither taken nor refused", said(e))
}

// clearMechs send the password or a token as it is.
var clearMechs = []string{"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"}

func (o *Options) judgeAuthPlain(f *Facts) outcome {
	if !ehloDone(f.Plain) {
		return o.failed(f.Plain)
	}
	mechs := plainExt(f.Plain).AuthMechanisms()
	ev := "AUTH offered in clear text: " + plugin.OrNone(strings.Join(mechs, " "))
	var exposed []string
	for _, m := range mechs {
		if slices.Contains(clearMechs, strings.ToUpper(m)) {
			exposed = append(exposed, m)
		}
	}
	switch {
	case len(exposed) > 0:
		return problem("AUTH "+strings.Join(exposed, " ")+" offered before STARTTLS: passwords can be sent in clear text", ev)
	case len(mechs) > 0:
		return pass("only challenge-response AUTH before STARTTLS", ev)
	}
	return pass("no AUTH before STARTTLS", ev)
}

func (o *Options) judgeAuthRelay(f *Facts) outcome {
	run := f.TLS
	if run == nil {
		return skipped("no TLS session (--no-tls)")
	}
	if ehloDone(run) && run.S.TLS == nil && run.Err == nil {
		return skipped("the server does not offer STARTTLS (see starttls)")
	}
	mail := run.Get("relay_mail")
	if mail == nil {
		return o.failed(run)
	}
	ev := []string{"AUTH offered inside TLS: " + plugin.OrNone(strings.Join(run.S.Ext.AuthMechanisms(), " ")), said(mail)}
	if mail.Reply.Class() == 5 {
		return pass("MAIL FROM without AUTH refused", ev...)
	}
	if mail.Reply.Class() != 2 {
		return inconclusive("MAIL FROM without AUTH answered "+plugin.Quote(mail.Reply), ev...)
	}
	rcpt := run.Get("relay_rcpt")
	if rcpt == nil {
		return o.failed(run)
	}
	ev = append(ev, said(rcpt))
	switch rcpt.Reply.Class() {
	case 5:
		return pass("RCPT to an outside domain without AUTH refused", ev...)
	case 2:
		return problem("relays without AUTH: RCPT to an outside domain accepted inside TLS without logging in", ev...)
	}
	return inconclusive("RCPT to an outside domain without AUTH answered "+plugin.Quote(rcpt.Reply), ev...)
}

func (o *Options) judgeOpenRelay(f *Facts) outcome {
	var accepted, refused, deferred []string
	var acceptedEv, refusedEv, deferredEv []string
	asked := 0
	var broken *Run
	for _, run := range f.Relay {
		for i := range run.Ex {
			e := &run.Ex[i]
			name, isRcpt := strings.CutSuffix(e.Key, "_rcpt")
			name, isRelay := strings.CutPrefix(name, "relay ")
			if !isRcpt || !isRelay {
				continue
			}
			asked++
			switch e.Reply.Class() {
			case 2:
				accepted = append(accepted, name)
				acceptedEv = append(acceptedEv, name+": "+said(e))
			case 4: // greylisting or a failed lookup: it may take it later
				deferred = append(deferred, name)
				if len(deferredEv) < 2 {
					deferredEv = append(deferredEv, name+": "+said(e))
				}
			default:
				refused = append(refused, name)
				if len(refusedEv) < 2 {
					refusedEv = append(refusedEv, name+": "+said(e))
				}
			}
		}
		if run.Err != nil && broken == nil {
			broken = run
		}
	}
	var control *Exchange
	if len(f.Relay) > 0 {
		control = f.Relay[0].Get("control_rcpt")
	}
	var controlEv []string
	if control != nil {
		controlEv = []string{"control (a random local recipient): " + said(control)}
	}
	switch {
	case len(accepted) > 0 && control != nil && control.Reply.Class() == 2:
		return inconclusive("accepts every recipient, even a random one of its own domain (a catch-all, or accept-then-bounce): nothing tells that from an open relay without sending mail, which this check never does",
			append(controlEv, acceptedEv...)...)
	case len(accepted) > 0:
		return problem(fmt.Sprintf("open relay: accepted RCPT to an outside domain (%s)", fewOf(accepted)), append(acceptedEv, controlEv...)...)
	case broken != nil:
		return o.failed(broken)
	case len(f.Relay) == 0:
		return skipped("its sessions did not run (see above)")
	case asked == 0:
		first := f.Relay[0].Get("control_mail")
		ev := []string{}
		if first != nil {
			ev = append(ev, said(first))
		}
		return inconclusive("every MAIL FROM was refused, so no relay could be asked: give --relay-from an outside address the server takes", ev...)
	case len(deferred) > 0:
		return inconclusive(fmt.Sprintf("%s answered only 4xx (try again later): greylisting or a failed lookup hides whether it would relay them; run again later, or exempt this client from greylisting", fewOf(deferred)),
			append(append(deferredEv, refusedEv...), controlEv...)...)
	}
	ev := append([]string{fmt.Sprintf("%d relay variants refused: %s", len(refused), strings.Join(refused, ", "))}, refusedEv...)
	return pass("no relay variant accepted", append(ev, controlEv...)...)
}

// fewOf names up to three, and counts the rest.
func fewOf(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more of %d variants", strings.Join(names[:3], ", "), len(names)-3, len(names))
}

// judgeUsers judges VRFY or EXPN: a known name and a random one. A server
// that confirms the one and denies the other tells who has a mailbox; 252
// (cannot verify), 502 (not implemented) or the same answer for both tell
// nothing.
func (o *Options) judgeUsers(f *Facts, key, verb string) outcome {
	run := f.Plain
	if o.askOnTLS() {
		run = f.TLS
		if ehloDone(run) && run.S.TLS == nil && run.Err == nil {
			return skipped("the server does not offer STARTTLS, and this port asks inside TLS (see starttls)")
		}
	}
	known, random := run.Get(key+"_known"), run.Get(key+"_random")
	if known == nil || random == nil {
		return o.failed(run)
	}
	ev := []string{said(known), said(random)}
	switch k, x := known.Reply, random.Reply; {
	case k.Class() == 2 && noSuchUser(x):
		return problem(fmt.Sprintf("%s tells users apart: %d for %s, %d for a random name", verb, k.Code, o.KnownUser, x.Code), ev...)
	case k.Class() == 2 && x.Class() == 2:
		return pass(fmt.Sprintf("%s answers every name alike", verb), ev...)
	case k.Class() == 5 && x.Class() == 5:
		return pass(fmt.Sprintf("%s refused", verb), ev...)
	}
	return pass(fmt.Sprintf("%s tells nothing", verb), ev...)
}

// judgeRcptEnum judges RCPT to the known name and a random one of the
// server's domain, in one transaction. Telling them apart before a login
// lets anyone harvest addresses: a finding on a submission port, where
// nothing should be answered without a login; on an MX it is required
// (refusing unknown recipients at RCPT spares the world backscatter), so
// informational there, with the limits that make harvesting slow.
func (o *Options) judgeRcptEnum(f *Facts) outcome {
	var run *Run
	switch kind := o.sessionOf(idRcptEnum); {
	case kind == "relay" && len(f.Relay) > 0:
		run = f.Relay[0]
	case kind == "tls":
		run = f.TLS
		if ehloDone(run) && run.S.TLS == nil && run.Err == nil {
			return skipped("the server does not offer STARTTLS, and this port asks inside TLS (see starttls)")
		}
	case kind == "plain":
		run = f.Plain
	}
	var mail *Exchange
	for _, key := range []string{"control_mail", "relay_mail", "mail_mail"} {
		if mail == nil {
			mail = run.Get(key)
		}
	}
	if mail == nil {
		return o.failed(run)
	}
	ev := []string{said(mail)}
	switch c := mail.Reply.Class(); {
	case c == 5 && o.role != RoleMX:
		return pass("MAIL FROM without a login refused: no recipient can be tried", ev...)
	case c != 2:
		return inconclusive("MAIL FROM answered "+plugin.Quote(mail.Reply)+", so no recipient could be tried: give --relay-from an address the server takes", ev...)
	}
	known, random := run.Get("known_rcpt"), run.Get("control_rcpt")
	if known == nil || random == nil {
		return o.failed(run)
	}
	ev = append(ev, said(known), said(random))
	switch k, x := known.Reply, random.Reply; {
	case k.Class() == 4 || x.Class() == 4:
		return inconclusive("RCPT answered 4xx (try again later): greylisting or a failed lookup hides whether it tells users apart; run again later, or exempt this client from greylisting", ev...)
	case k.Class() == 2 && x.Class() == 5 && o.role == RoleMX:
		return problem(fmt.Sprintf("RCPT tells users apart: %d for %s, %d for a random name (required of an MX; informational: harvesting is slowed only by limits)", k.Code, o.KnownUser, x.Code),
			append(ev, "limit harvesting: "+harvestAdvice)...)
	case k.Class() == 2 && x.Class() == 5:
		return problem(fmt.Sprintf("RCPT tells users apart before any login: %d for %s, %d for a random name: addresses can be harvested here", k.Code, o.KnownUser, x.Code), ev...)
	case k.Class() == 2 && x.Class() == 2:
		return inconclusive("accepts every recipient, even a random one of its own domain (a catch-all, or accept-then-bounce): nothing tells whether a name exists", ev...)
	case k.Class() == 5 && noSuchUser(x) && !noSuchUser(k) && o.role != RoleMX:
		// Refused both, but only the random one as unknown: the refusal of the known name tells that it exists.
		return problem(fmt.Sprintf("RCPT tells users apart before any login: %s for %s, but %s (no such user) for a random name: addresses can be harvested here", codes(k), o.KnownUser, codes(x)), ev...)
	case k.Class() == 5 && o.role == RoleMX: // an MX must take postmaster of its domains (RFC 5321 §4.5.1)
		return inconclusive(fmt.Sprintf("%s was refused too: the domain tried may not be one this server takes mail for; give --local-domain", o.KnownUser), ev...)
	}
	return pass("RCPT answers the known and a random name alike", ev...)
}

// codes are a reply's code and enhanced code, e.g. "550 5.1.1".
func codes(r smtp.Reply) string { return strings.TrimSpace(strconv.Itoa(r.Code) + " " + r.Enhanced) }

// noSuchUser reports whether a refusal says the name has no mailbox
// (550, 551, 553 or a 5.1.x status), not that the command or its syntax
// was refused: Exim answers a name without a domain 501, Postfix's
// submission port 554 5.7.1 for any name but postmaster.
func noSuchUser(r smtp.Reply) bool {
	return r.Code == 550 || r.Code == 551 || r.Code == 553 || strings.HasPrefix(r.Enhanced, "5.1.")
}

func (o *Options) judgeInjection(f *Facts) outcome {
	run, in := f.Injection, f.Inject
	if run == nil {
		return skipped("needs STARTTLS (this run speaks " + modeName(o.Mode()) + ")")
	}
	if in.Answered.Code != 0 {
		return problem("a NOOP sent in clear text with STARTTLS was answered inside TLS: commands injected before the handshake run as if sent encrypted",
			"STARTTLS + NOOP in one write -> "+plugin.Quote(in.StartTLS), "inside TLS, before any command: "+plugin.Quote(in.Answered))
	}
	if in.Late {
		late := "EHLO inside TLS was answered by more than one reply"
		if in.Extra.Code != 0 {
			late = "EHLO inside TLS was answered twice: " + plugin.Quote(run.S.Hello) + ", then " + plugin.Quote(in.Extra)
		}
		return problem("a NOOP sent in clear text with STARTTLS was answered inside TLS (before the reply to EHLO)",
			"STARTTLS + NOOP in one write -> "+plugin.Quote(in.StartTLS), late)
	}
	if ehloDone(run) && !plainExt(run).Has("STARTTLS") && in.StartTLS.Code == 0 {
		return skipped("the server does not offer STARTTLS (see starttls)")
	}
	if in.StartTLS.Code != 0 && in.StartTLS.Code != 220 && run.Err == nil {
		return pass("STARTTLS pipelined with NOOP refused", "STARTTLS + NOOP in one write -> "+plugin.Quote(in.StartTLS)+", then "+plugin.Quote(in.Plain))
	}
	if run.Err != nil || run.S.TLS == nil {
		return o.failed(run)
	}
	return pass("the NOOP sent in clear text before the handshake was discarded",
		"STARTTLS + NOOP in one write -> "+plugin.Quote(in.StartTLS), "inside TLS: no reply until EHLO, whose reply came alone")
}

func modeName(m probe.TLSMode) string {
	switch m {
	case probe.TLSImplicit:
		return "implicit TLS"
	case probe.TLSNone:
		return "no TLS (--no-tls)"
	}
	return "STARTTLS"
}

func (o *Options) judgeBanner(f *Facts) outcome {
	run := f.Plain
	if o.askOnTLS() || run == nil {
		run = f.TLS
	}
	if run == nil || run.S == nil || run.S.Banner.Code != 220 { // a 554 greeting: no service, judged as such
		return o.failed(run)
	}
	if run.Get("help") == nil && run.Err != nil { // HELP, where software often names itself, went unasked
		return o.failed(run)
	}
	texts := []struct{ what, text string }{{"greeting", run.S.Banner.Text()}}
	if run.S.HelloVerb != "" && len(run.S.Hello.Lines) > 0 {
		texts = append(texts, struct{ what, text string }{run.S.HelloVerb, run.S.Hello.Lines[0]})
	}
	if h := run.Get("help"); h != nil && h.Reply.Class() == 2 {
		texts = append(texts, struct{ what, text string }{"HELP", h.Reply.Text()})
	}
	var found, ev []string
	for _, t := range texts {
		if m := software(t.text); m != "" && !slices.Contains(found, m) {
			found = append(found, m)
			ev = append(ev, fmt.Sprintf("%s: %q", t.what, plugin.Sanitize(t.text, 120)))
		}
	}
	if len(found) == 0 {
		return pass("no software name or version in the greeting, EHLO or HELP", "greeting: "+plugin.Quote(run.S.Banner))
	}
	return problem("names the software: "+strings.Join(found, ", ")+" (informational)", ev...)
}

func (o *Options) judgeWeakTLS(f *Facts) outcome {
	if f.Scan == nil {
		return skipped("needs TLS (--no-tls)")
	}
	var legacy, modern, ev []string
	var untried []tlsaudit.ScanResult
	for _, sr := range f.Scan {
		name := tlsaudit.VersionName(sr.Version)
		switch {
		case sr.Accepted:
			ev = append(ev, fmt.Sprintf("%s accepted (%s)", name, tls.CipherSuiteName(sr.Cipher)))
			if sr.Version < tls.VersionTLS12 {
				legacy = append(legacy, name)
			} else {
				modern = append(modern, name)
			}
		case sr.Inconclusive:
			ev = append(ev, fmt.Sprintf("%s could not be tried: %s", name, o.scanErr(sr.Err)))
			untried = append(untried, sr)
		default:
			ev = append(ev, fmt.Sprintf("%s refused (%s)", name, plugin.PlainErr(sr.Err)))
		}
	}
	var weak string
	if w := f.Weak; w != nil {
		switch {
		case w.Accepted:
			weak = tls.CipherSuiteName(w.Cipher)
			ev = append(ev, "RC4/3DES suites only: accepted ("+weak+")")
		case w.Inconclusive:
			ev = append(ev, "RC4/3DES suites only: could not be tried: "+o.scanErr(w.Err))
		default:
			ev = append(ev, "RC4/3DES suites only: refused")
		}
	}
	if len(untried) == len(f.Scan) {
		if e, ok := errors.AsType[*probe.Error](untried[0].Err); ok && errors.Is(e, probe.ErrNoStartTLS) {
			return skipped("the server does not offer STARTTLS (see starttls)")
		}
		if e, ok := errors.AsType[*probe.Error](untried[0].Err); ok {
			out := o.failedWith(e, o.Mode(), o.Timeout.Duration)
			out.evidence = ev
			return out
		}
	}
	var bad []string
	if len(legacy) > 0 {
		bad = append(bad, "accepts "+strings.Join(legacy, " and "))
	}
	if weak != "" {
		bad = append(bad, "accepts the weak suite "+weak)
	}
	switch {
	case len(bad) > 0:
		return problem(strings.Join(bad, "; "), ev...)
	case len(untried) > 0:
		return inconclusive("some handshakes of the scan could not be tried", ev...)
	}
	return pass("accepts only "+plugin.OrNone(strings.Join(modern, ", "))+"; no RC4 or 3DES", ev...)
}

// scanErr words why a scan handshake showed nothing.
func (o *Options) scanErr(err error) string {
	if e, ok := errors.AsType[*probe.Error](err); ok {
		what, _ := o.Spelling().Explain(e, nil, o.Timeout.Duration)
		return string(e.Phase) + ": " + what
	}
	return plugin.PlainErr(err)
}
