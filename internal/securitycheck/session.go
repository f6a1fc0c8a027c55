package securitycheck

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Exchange is one command and the reply it got, as they went over the
// wire: the evidence of a verdict. Key names what it asked.
type Exchange struct {
	Key    string
	Cmd    string
	Reply  smtp.Reply
	Closed bool          // the server closed the connection instead of replying
	Waited time.Duration // smuggle_end: from the false end to the reply, or the wait in vain
}

// Run is one session of the audit and the exchanges of its steps.
type Run struct {
	Name string // "the plain session", for messages
	probe.Outcome
	Ex []Exchange
}

// Get is the exchange with this key; nil when it did not happen.
func (r *Run) Get(key string) *Exchange {
	if r == nil {
		return nil
	}
	for i := range r.Ex {
		if r.Ex[i].Key == key {
			return &r.Ex[i]
		}
	}
	return nil
}

// Facts is everything one run showed, as data. Each session ran on its own
// connection, beside the others (fanout); a nil one did not run.
type Facts struct {
	// Plain is the session in clear text (mx, submission): its EHLO shows
	// STARTTLS and AUTH; mx asks HELP, VRFY and EXPN there, submission
	// tries MAIL FROM.
	Plain *Run
	// TLS is the session inside TLS (submission, submissions): HELP, VRFY,
	// EXPN, and MAIL + RCPT to an outside domain without AUTH.
	TLS *Run
	// Relay are the sessions of the relay attempts (mx), the first with
	// the control recipient.
	Relay []*Run
	// Injection is the STARTTLS command-injection session.
	Injection *Run
	Inject    probe.Injection
	// Scan is one handshake per TLS version; Weak is one offering only
	// RC4 and 3DES suites.
	Scan []tlsaudit.ScanResult
	Weak *tlsaudit.ScanResult
	// Rate is the rate probe (--rate-probe); Smuggle the smuggling
	// sessions (--smuggling-rcpt), one per end of smuggleEnds, in order,
	// all at once: each waits for its reply until what is left of -t.
	Rate    *Rate
	Smuggle []*Run
	// Domain is what --domain's DNS lookups returned.
	Domain *Domain

	Durations map[string]time.Duration // per kind of session (plain, tls, relay, injection, scan): the longest
	NotRun    map[string]error         // per kind: a session that gave no facts (a panic, or the deadline before it began)
	Total     time.Duration
	Random    string // the random local part of VRFY, EXPN and the control recipient
}

// Check runs check_smtp_security with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	return o.Judge(Gather(ctx, o), time.Now())
}

// job is one session of the audit; its result is applied to the facts by
// Gather once all are in, so that no two goroutines touch them.
type job = fanout.Job[func(*Facts)]

// parallel is how many sessions run at once: a handful, well under any
// per-client connection limit (Postfix's default is 50).
const parallel = 4

// Gather runs the sessions the options ask for, beside each other under
// the one deadline.
func Gather(ctx context.Context, o *Options) *Facts {
	start := time.Now()
	if o.Mode() != probe.TLSNone && o.Roots() == nil {
		probe.PreloadRoots(ctx)
	}
	f := &Facts{Durations: map[string]time.Duration{}, NotRun: map[string]error{}, Random: randomName()}
	jobs, keys := o.jobs(f.Random)
	for i, jr := range fanout.Run(ctx, parallel, jobs) {
		if jr.Err != nil {
			if f.NotRun[keys[i]] == nil {
				f.NotRun[keys[i]] = jr.Err
			}
			continue
		}
		jr.Value(f)
	}
	f.Total = time.Since(start)
	return f
}

// randomName is a local part no server has.
func randomName() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "smtpcheck-" + hex.EncodeToString(b)
}

// needs reports whether any of ids runs.
func (o *Options) needs(ids ...string) bool {
	for _, id := range ids {
		if o.run[id] {
			return true
		}
	}
	return false
}

// askOnTLS: the user-name questions go into the TLS session where the
// port wants TLS first (a submission server refuses them in clear text).
func (o *Options) askOnTLS() bool { return o.role != RoleMX && o.Mode() != probe.TLSNone }

// jobs lists the sessions the selected sub-checks need, each with its
// kind (plain, tls, relay, injection, scan).
func (o *Options) jobs(random string) (jobs []job, keys []string) {
	timed := func(key string, run func(ctx context.Context) func(*Facts)) func(context.Context) func(*Facts) {
		keys = append(keys, key)
		return func(ctx context.Context) func(*Facts) {
			began := time.Now()
			apply := run(ctx)
			d := time.Since(began)
			return func(f *Facts) { apply(f); f.Durations[key] = max(f.Durations[key], d) }
		}
	}
	ask := o.needs(idVRFY, idEXPN, idBanner)
	// rcpt_enum rides the open-relay control (mx), else the session that
	// tries MAIL without a login: inside TLS where the port wants it.
	enumPlain := o.role != RoleMX && o.needs(idRcptEnum) && !o.askOnTLS()
	enumTLS := o.role != RoleMX && o.needs(idRcptEnum) && o.askOnTLS()
	if o.role != RoleSubmissions && (o.needs(idStartTLS, idAuthPlain, idTLSRequired) || ask && !o.askOnTLS() || enumPlain) {
		jobs = append(jobs, job{Name: "the plain-text session", Run: timed("plain", func(ctx context.Context) func(*Facts) {
			r := o.session(ctx, "the plain-text session", probe.TLSNone, func(ctx context.Context, st *stepper) error {
				if ask && !o.askOnTLS() {
					if err := o.askUsers(ctx, st, random); err != nil {
						return err
					}
				}
				switch {
				case enumPlain:
					return st.transaction(ctx, "mail", "MAIL FROM:<"+o.RelayFrom+">", o.enumRcpts(st.s, random)...)
				case o.needs(idTLSRequired):
					return st.transaction(ctx, "mail", "MAIL FROM:<"+o.RelayFrom+">")
				}
				return nil
			})
			return func(f *Facts) { f.Plain = r }
		})})
	}
	if o.Mode() != probe.TLSNone && (o.needs(idAuthRelay) || ask && o.askOnTLS() || enumTLS) {
		jobs = append(jobs, job{Name: "the TLS session", Run: timed("tls", func(ctx context.Context) func(*Facts) {
			r := o.session(ctx, "the TLS session", o.Mode(), func(ctx context.Context, st *stepper) error {
				if st.s.TLS == nil {
					return nil // no STARTTLS: judged from the plain session
				}
				if ask {
					if err := o.askUsers(ctx, st, random); err != nil {
						return err
					}
				}
				var rcpts []rcptTo
				if o.needs(idAuthRelay) {
					rcpts = append(rcpts, rcptTo{"relay_rcpt", "RCPT TO:<" + o.RelayTo + ">"})
				}
				if enumTLS {
					rcpts = append(rcpts, o.enumRcpts(st.s, random)...)
				}
				if len(rcpts) > 0 {
					return st.transaction(ctx, "relay", "MAIL FROM:<"+o.RelayFrom+">", rcpts...)
				}
				return nil
			})
			return func(f *Facts) { f.TLS = r }
		})})
	}
	if o.role == RoleMX && o.needs(idOpenRelay, idRcptEnum) {
		for i, chunk := range relayChunks {
			if !o.needs(idOpenRelay) { // rcpt_enum alone: the control transaction only
				if i > 0 {
					break
				}
				chunk = nil
			}
			name := "relay attempt session " + string(rune('1'+i))
			jobs = append(jobs, job{Name: "the " + name, Run: timed("relay", func(ctx context.Context) func(*Facts) {
				// Inside STARTTLS where offered: an MX may refuse MAIL in clear text.
				r := o.session(ctx, "the "+name, o.relayMode(), func(ctx context.Context, st *stepper) error {
					return o.relayAttempts(ctx, st, chunk, i == 0, random)
				})
				return func(f *Facts) { f.Relay = append(f.Relay, r) }
			})})
		}
	}
	if o.needs(idInjection) && o.Mode() == probe.TLSStartTLS {
		jobs = append(jobs, job{Name: "the STARTTLS injection session", Run: timed("injection", func(ctx context.Context) func(*Facts) {
			var in probe.Injection
			r := o.session(ctx, "the STARTTLS injection session", probe.TLSNone, func(ctx context.Context, st *stepper) error {
				if !st.s.Ext.Has("STARTTLS") {
					return nil
				}
				var err error
				in, err = st.s.InjectStartTLS(ctx, injectionWait(ctx))
				return err
			})
			return func(f *Facts) { f.Injection, f.Inject = r, in }
		})})
	}
	if o.needs(idWeakTLS) && o.Mode() != probe.TLSNone {
		jobs = append(jobs, job{Name: "the TLS version scan", Run: timed("scan", func(ctx context.Context) func(*Facts) {
			scan, weak := o.scan(ctx)
			return func(f *Facts) { f.Scan, f.Weak = scan, weak }
		})})
	}
	if o.needs(idRate) {
		jobs = append(jobs, job{Name: "the rate probe", Run: timed("rate", func(ctx context.Context) func(*Facts) {
			r := o.rateProbe(ctx)
			return func(f *Facts) { f.Rate = r }
		})})
	}
	if o.needs(domainIDs...) {
		jobs = append(jobs, job{Name: "the DNS lookups of --domain", Run: timed("domain", func(ctx context.Context) func(*Facts) {
			d := o.lookupDomain(ctx)
			return func(f *Facts) { f.Domain = d }
		})})
	}
	if o.needs(idSmuggling) {
		jobs = append(jobs, job{Name: "the smuggling sessions", Run: timed("smuggling", func(ctx context.Context) func(*Facts) {
			runs := o.smuggleAll(ctx)
			return func(f *Facts) { f.Smuggle = runs }
		})})
	}
	return jobs, keys
}

// relayMode is the relay attempts' TLS: STARTTLS unless --no-tls.
func (o *Options) relayMode() probe.TLSMode {
	if o.Mode() == probe.TLSNone {
		return probe.TLSNone
	}
	return probe.TLSStartTLS
}

// injectionWait is how long the injection probe listens inside TLS for
// the answer to the NOOP sent in clear text: a server that runs it
// answers at once; a quarter of what is left bounds a slow link.
func injectionWait(ctx context.Context) time.Duration {
	w := time.Second
	if dl, ok := ctx.Deadline(); ok {
		w = min(w, time.Until(dl)/4)
	}
	return w
}

// session runs one session of the audit: dial, banner, EHLO, the TLS the
// mode says (a server without STARTTLS goes on in clear: the steps see
// it), steps, QUIT.
func (o *Options) session(ctx context.Context, name string, mode probe.TLSMode, steps func(context.Context, *stepper) error) *Run {
	r := &Run{Name: name}
	r.Outcome = probe.Run(ctx, probe.Plan{Target: o.target(mode), Steps: func(ctx context.Context, s *probe.Session) error {
		return steps(ctx, &stepper{s: s, run: r})
	}})
	return r
}

// stepper sends the audit's commands and keeps each exchange.
type stepper struct {
	s   *probe.Session
	run *Run
}

// cmd sends line and records the exchange. A 421 (the server is closing)
// or a broken session ends the steps; any other reply is evidence.
func (st *stepper) cmd(ctx context.Context, key string, phase probe.Phase, line string) (smtp.Reply, error) {
	rep, err := st.s.Cmd(ctx, phase, line)
	if err == nil || rep.Code != 0 {
		st.run.Ex = append(st.run.Ex, Exchange{Key: key, Cmd: line, Reply: rep})
	}
	if err == nil && rep.Code == 421 {
		err = &probe.Error{Phase: phase, Kind: probe.KindReply, Reply: &rep, Err: &smtp.ReplyError{Reply: rep}}
	}
	return rep, err
}

// rcptTo is one RCPT of a transaction: its exchange's key and its line.
type rcptTo struct{ key, line string }

// transaction tries MAIL, then each RCPT after a MAIL that was taken, then
// RSET when MAIL was taken: never DATA. The exchanges are keyed
// key+"_mail", each RCPT's own key, and key+"_rset".
func (st *stepper) transaction(ctx context.Context, key, mail string, rcpts ...rcptTo) error {
	rep, err := st.cmd(ctx, key+"_mail", probe.PhaseMail, mail)
	if err != nil || rep.Class() != 2 {
		return err
	}
	for _, r := range rcpts {
		if _, err := st.cmd(ctx, r.key, probe.PhaseRcpt, r.line); err != nil {
			return err
		}
	}
	_, err = st.cmd(ctx, key+"_rset", probe.PhaseRset, "RSET")
	return err
}

// enumRcpts are rcpt_enum's two recipients, asked in one transaction: the
// known name ("known_rcpt"), then a random one of the server's domain
// (keyed "control_rcpt", the open-relay control). The known one first: a
// server that refuses every recipient after one unknown would otherwise
// hide that it tells them apart.
func (o *Options) enumRcpts(s *probe.Session, random string) []rcptTo {
	local := o.localDomain(s)
	control := rcptTo{"control_rcpt", "RCPT TO:<" + random + "@" + local + ">"}
	if !o.needs(idRcptEnum) {
		return []rcptTo{control}
	}
	return []rcptTo{{"known_rcpt", "RCPT TO:<" + o.KnownUser + "@" + local + ">"}, control}
}

// askUsers asks HELP, then VRFY and EXPN for the known name and a random one.
func (o *Options) askUsers(ctx context.Context, st *stepper, random string) error {
	type q struct{ key, line string }
	var qs []q
	if o.needs(idBanner) {
		qs = append(qs, q{"help", "HELP"})
	}
	if o.needs(idVRFY) {
		qs = append(qs, q{"vrfy_known", "VRFY " + o.KnownUser}, q{"vrfy_random", "VRFY " + random})
	}
	if o.needs(idEXPN) {
		qs = append(qs, q{"expn_known", "EXPN " + o.KnownUser}, q{"expn_random", "EXPN " + random})
	}
	for _, q := range qs {
		if _, err := st.cmd(ctx, q.key, probe.PhaseCommand, q.line); err != nil {
			return err
		}
	}
	return nil
}

// weakSuites are the RC4 and 3DES suites crypto/tls still speaks.
var weakSuites = func() []uint16 {
	var ids []uint16
	for _, s := range tls.InsecureCipherSuites() {
		if strings.Contains(s.Name, "RC4") || strings.Contains(s.Name, "3DES") {
			ids = append(ids, s.ID)
		}
	}
	return ids
}()

// scan tries each TLS version alone, then TLS 1.2 with only the weak
// suites, one handshake at a time (probe.ScanVersion, as check_smtp_tls).
func (o *Options) scan(ctx context.Context) ([]tlsaudit.ScanResult, *tlsaudit.ScanResult) {
	t := o.target(o.Mode())
	t.Insecure = true // the chain is check_smtp_tls's business, not the version's
	var out []tlsaudit.ScanResult
	for _, v := range tlsaudit.Versions {
		out = append(out, probe.ScanVersion(ctx, t, v, nil))
	}
	weak := probe.ScanVersion(ctx, t, tls.VersionTLS12, weakSuites)
	return out, &weak
}
