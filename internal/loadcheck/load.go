package loadcheck

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Why a run stopped before its --messages.
const (
	StopMessages = "messages" // all were sent
	StopDuration = "duration" // --duration passed
	StopConnect  = "connect"  // --max-connect-failures sessions in a row could not be set up
	StopSignal   = "signal"   // SIGINT or SIGTERM
	StopDeadline = "deadline" // -t came first
)

// drainGrace is how long sessions under way may go on after a signal.
const drainGrace = 2 * time.Second

// Facts is everything a run showed, as data.
type Facts struct {
	*Tally
	CredErr    error        // the credentials could not be had: nothing was sent
	ResolveErr *probe.Error // -H could not be resolved: nothing was sent
	Stop       string
	Signal     string // the signal's name when Stop is StopSignal
	Warmup     int    // messages sent in the warm-up, left out
	Size       int    // bytes of each message
	Sessions   int    // sessions opened, warm-up excluded
	// First is the run's first session (its banner, extensions, TLS and
	// transcript); Failure the first session that failed, and Auth the
	// first login that was withheld or refused, with its session.
	First, Failure *probe.Outcome
	Auth           *login.Auth
	AuthSession    *probe.Session
	LastSetupErr   *probe.Error // what the last session that could not be set up met
	// Secrets scrubs texts of sessions that kept no transcript (which
	// would have): a server may echo what it was sent.
	Secrets *redact.Set
	Total   time.Duration
}

// Check runs check_smtp_load with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	return o.Judge(Gather(ctx, o), time.Now())
}

// Gather sends the load and gathers its figures. SIGINT and SIGTERM stop
// it cleanly: no new message, sessions under way get drainGrace, and the
// figures so far are reported; a second signal has its usual effect.
func Gather(ctx context.Context, o *Options) *Facts {
	start := time.Now()
	f := &Facts{}
	defer func() { f.Total = time.Since(start) }()
	var creds sasl.Credentials
	if o.login {
		var err error
		if creds, err = o.Login.Credentials(ctx, &o.Options, smtp.NewTranscript(), o.Host, o.Port); err != nil {
			f.CredErr = err
			f.Tally = merge(nil)
			return f
		}
	}
	r := newRunner(ctx, o, creds, start)
	f.Secrets = &r.secrets
	// Resolved once for the run, not in every session: the load is on the
	// SMTP server, not on the resolver.
	addr, err := probe.Resolve(ctx, nil, r.target.Network, r.target.Host)
	if err != nil {
		f.ResolveErr = &probe.Error{Phase: probe.PhaseDNS, Kind: probe.Classify(err), Err: err}
		if ctx.Err() != nil {
			f.ResolveErr.Kind = probe.KindTimeout
		}
		f.Tally = merge(nil)
		return f
	}
	r.target.Addr = addr
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sig:
			signal.Stop(sig) // the next one acts as usual
			r.halt(StopSignal, map[os.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[s])
		case <-r.done:
		}
	}()
	defer signal.Stop(sig)
	r.run()
	r.fill(f)
	return f
}

// runner is one run's shared state.
type runner struct {
	o      *Options
	creds  sasl.Credentials
	msg    []byte
	target probe.Target
	start  time.Time

	hard  context.Context // -t less the report's margin: sessions end by then
	drain context.Context // hard, or drainGrace after a stop
	cut   context.CancelFunc
	stopC chan struct{} // closed when no new message may start
	done  chan struct{} // closed when the run is over

	next     atomic.Int64 // tickets handed out
	limit    int64        // warm-up plus --messages
	connFail atomic.Int64 // sessions in a row that could not be set up
	sessions atomic.Int64
	shards   []*shard
	progress progress
	secrets  redact.Set
	keptOne  atomic.Bool // the first session keeps its transcript

	mu       sync.Mutex // guards what follows
	stopWhy  string
	signal   string
	first    *probe.Outcome
	failure  *probe.Outcome
	auth     *login.Auth
	authSess *probe.Session
	setupErr *probe.Error
}

func newRunner(ctx context.Context, o *Options, creds sasl.Credentials, start time.Time) *runner {
	r := &runner{o: o, creds: creds, target: o.target(), start: start,
		stopC: make(chan struct{}), done: make(chan struct{}),
		limit: int64(o.Warmup) + int64(o.Messages)}
	r.msg = Message(o.From, o.To, o.Size, start)
	r.secrets.Add(creds.Password)
	r.secrets.Add(creds.Token)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = start.Add(o.Timeout.Duration)
	}
	var cancel context.CancelFunc
	r.hard, cancel = context.WithDeadline(ctx, deadline.Add(-reportMargin))
	r.drain, r.cut = context.WithCancel(r.hard)
	context.AfterFunc(r.hard, cancel)           // released with the run
	n := min(o.Sessions, runtime.GOMAXPROCS(0)) // one lock per CPU is enough: the work is on the wire
	for range n {
		r.shards = append(r.shards, newShard())
	}
	return r
}

// halt stops handing out messages, once, with the first reason given.
func (r *runner) halt(why, sig string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopWhy != "" {
		return
	}
	r.stopWhy, r.signal = why, sig
	close(r.stopC)
	if why == StopSignal {
		time.AfterFunc(drainGrace, r.cut)
	}
}

// ticket hands out the next message's number; false when the run is over.
func (r *runner) ticket() (int64, bool) {
	select {
	case <-r.stopC:
		return 0, false
	default:
	}
	n := r.next.Add(1) - 1
	if n >= r.limit {
		r.halt(StopMessages, "")
		return 0, false
	}
	return n, true
}

// run starts the workers and waits for them.
func (r *runner) run() {
	defer close(r.done)
	defer r.cut()
	stopAt := time.AfterFunc(r.o.duration, func() { r.halt(StopDuration, "") })
	defer stopAt.Stop()
	stopHard := context.AfterFunc(r.hard, func() { r.halt(StopDeadline, "") })
	defer stopHard()
	r.progress.start(r)
	defer r.progress.stop()
	var wg sync.WaitGroup
	for w := range r.o.Sessions {
		wg.Go(func() { r.worker(w) })
	}
	wg.Wait()
}

// worker runs sessions until the run is over. In the open loop it keeps
// its own beat: message k is due at its offset plus k intervals; a message
// that could not start on time (the previous one was late) is skipped, and
// the correction counts it in the latency figures.
func (r *runner) worker(w int) {
	b := beat{}
	if r.o.openLoop {
		b = beat{every: r.o.interval, due: r.start.Add(time.Duration(w) * r.o.interval / time.Duration(r.o.Sessions))}
	}
	sh := r.shards[w%len(r.shards)]
	for {
		if !b.wait(r.stopC) {
			return
		}
		n, ok := r.ticket()
		if !ok {
			return
		}
		r.session(sh, &b, n)
	}
}

// beat is a worker's schedule in the open loop; every is 0 in the closed.
type beat struct {
	every time.Duration
	due   time.Time
}

// wait sleeps until the next message is due; false when the run stopped.
func (b *beat) wait(stop <-chan struct{}) bool {
	if b.every == 0 {
		return true
	}
	now := time.Now()
	if late := now.Sub(b.due); late >= b.every {
		b.due = b.due.Add(late / b.every * b.every) // skip the beats missed
	}
	if d := time.Until(b.due); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stop:
			return false
		}
	}
	b.due = b.due.Add(b.every)
	return true
}

// session runs one session for message n and up to --per-session - 1 more.
func (r *runner) session(sh *shard, b *beat, n int64) {
	ctx, cancel := context.WithTimeout(r.drain, r.o.sessTime)
	defer cancel()
	begin := time.Now()
	measured := n >= int64(r.o.Warmup)
	if measured {
		r.sessions.Add(1)
	}
	cur := &current{n: n, begin: begin, opened: begin}
	var auth login.Auth
	// Transcripts are kept for -v, else for the first session only: in
	// the others they would only grow.
	quiet := r.o.Verbosity() == 0 && !r.keptOne.CompareAndSwap(false, true)
	out := probe.Run(ctx, probe.Plan{Target: r.target, Start: begin, Quiet: quiet, Secrets: r.creds.Secrets(),
		Steps: func(ctx context.Context, s *probe.Session) error { return r.steps(ctx, s, sh, b, cur, &auth) }})
	setupDone := cur.mark > 0 || cur.sent > 0
	if !cur.recorded {
		// The session ended before the message's transaction (or by a
		// login withheld): the message failed with it.
		a := Attempt{Outcome: Failed, Class: "other", Key: "session ended"}
		switch {
		case out.Err != nil:
			a = r.judge(out.Err)
		case auth.Refused != login.RefuseNone || auth.NotOffered || auth.CredErr != nil:
			a = Attempt{Outcome: Failed, Class: "auth", Key: "auth credentials not sent"}
			if auth.NotOffered {
				a.Key = "auth mechanism not offered"
			}
		}
		r.record(sh, cur, out.S, out.S.Timings, time.Since(cur.begin), b, a)
	}
	if measured && cur.end < len(out.S.Timings) {
		sh.timings(out.S.Timings[cur.end:]) // the QUIT after the last message
	}
	r.note(&out, &auth, setupDone, cur.cut)
}

// current is the message a session is on.
type current struct {
	n        int64
	begin    time.Time
	opened   time.Time // the session began
	mark     int       // Timings index where its transaction began
	end      int       // Timings index after the last one recorded
	sent     int       // messages the session finished
	recorded bool
	cut      bool // the run's end cut the session short
}

// steps is the session's work: AUTH when asked, then messages until
// --per-session or the run ends. A message refused in turn leaves the
// session going (RSET); one that breaks it ends it.
func (r *runner) steps(ctx context.Context, s *probe.Session, sh *shard, b *beat, cur *current, auth *login.Auth) error {
	if r.o.login {
		if err := r.o.Login.SMTP(ctx, s, r.creds, r.o.AllowPlaintext, auth); err != nil {
			return err
		}
		if auth.Refused != login.RefuseNone || auth.NotOffered || auth.CredErr != nil || auth.AuthErr != nil {
			if auth.AuthErr != nil {
				return auth.AuthErr // recorded as the session's failure
			}
			return nil
		}
	}
	r.connFail.Store(0)
	for k := 0; ; k++ {
		cur.mark = len(s.Timings)
		if k > 0 {
			cur.begin = time.Now()
		}
		last := k == r.o.PerSession-1
		sub, err := s.Submit(ctx, probe.Envelope{From: r.o.From, To: r.o.recipients(int(cur.n))}, r.msg, probe.SubmitOptions{Quit: last})
		phases := s.Timings
		if k > 0 {
			phases = s.Timings[cur.mark:]
		}
		a := Attempt{Outcome: Accepted}
		if err != nil {
			a = r.judge(probe.AsError(err))
		} else if final, ok := sub.Final(); !ok || final.Code != 250 {
			a = Attempt{Outcome: Failed, Class: "other", Key: "message not sent"}
		}
		r.record(sh, cur, s, phases, time.Since(cur.begin), b, a)
		// Tallied: a long session keeps no timings it has counted.
		s.Timings, cur.end = s.Timings[:0], 0
		cur.sent++
		if err != nil && !probe.InStep(probe.AsError(err)) {
			return err
		}
		if last || sub.Quit != nil {
			return nil
		}
		// Half its --session-timeout gone, a session ends and the next
		// message opens a new one: the timeout is there to catch a stall,
		// and must not fail a long session that is going well. In the open
		// loop the next message starts at its beat: a wait for it is spent
		// inside the session too.
		if max(time.Since(cur.opened), b.due.Sub(cur.opened)) > r.o.sessTime/2 {
			return nil
		}
		if !b.wait(r.stopC) {
			return nil
		}
		n, ok := r.ticket()
		if !ok {
			return nil
		}
		cur.n, cur.begin, cur.recorded = n, time.Now(), false
	}
}

// judge classes a failure; one caused by the run's own end is Cut.
func (r *runner) judge(e *probe.Error) Attempt {
	// By the clock as well as by Err: a read's own deadline can fire a
	// moment before the context's timer, which made the same stall "cut
	// short" in one run and a failure in the next.
	if dl, ok := r.drain.Deadline(); e.Kind == probe.KindTimeout && (r.drain.Err() != nil || ok && !time.Now().Before(dl)) {
		return Attempt{Outcome: Cut, Err: e}
	}
	return classify(e)
}

// record tallies one message, unless it belongs to the warm-up.
func (r *runner) record(sh *shard, cur *current, s *probe.Session, phases []probe.Timing, total time.Duration, b *beat, a Attempt) {
	cur.recorded, cur.cut = true, a.Outcome == Cut
	if s != nil {
		cur.end = len(s.Timings)
	}
	if cur.n < int64(r.o.Warmup) {
		return
	}
	if a.Outcome == Failed && (a.Class == "auth" || probeSetup(a.Err)) {
		if r.connFail.Add(1) >= int64(r.o.MaxConnFail) {
			r.halt(StopConnect, "")
		}
	}
	x := &sample{phases: phases, total: total, begin: cur.begin, a: a, state: plugin.Critical}
	if b != nil {
		x.interval = b.every
	}
	if a.Err != nil {
		x.state = plugin.FailureState(a.Err, r.o.Timeout)
		x.describe = func() string { return r.secrets.Scrub(describe(a.Err, s, r.o)) }
	}
	sh.record(x)
}

// probeSetup reports whether e kept a session from being set up.
func probeSetup(e *probe.Error) bool { return e != nil && setupPhase(e.Phase) }

// describe words an error the way every plugin does.
func describe(e *probe.Error, s *probe.Session, o *Options) string {
	if s == nil {
		return e.Error()
	}
	return o.advice().Describe(e, s, o.sessTime)
}

// note keeps the sessions the report shows: the first, the first failure,
// the first login problem.
func (r *runner) note(out *probe.Outcome, auth *login.Auth, setupDone, cut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil {
		r.first = out
	}
	if out.Err != nil && r.failure == nil && !cut {
		r.failure = out
	}
	if out.Err != nil && !setupDone && !cut {
		r.setupErr = out.Err
	}
	if r.auth == nil && (auth.Refused != login.RefuseNone || auth.NotOffered || auth.CredErr != nil || auth.AuthErr != nil) {
		r.auth, r.authSess = auth, out.S
	}
}

// fill copies the run's figures into f.
func (r *runner) fill(f *Facts) {
	f.Tally = merge(r.shards)
	f.Warmup = int(min(r.next.Load(), int64(r.o.Warmup)))
	f.Sessions = int(r.sessions.Load())
	f.Size = len(r.msg)
	r.mu.Lock()
	defer r.mu.Unlock()
	f.Stop, f.Signal = r.stopWhy, r.signal
	f.First, f.Failure, f.Auth, f.AuthSession, f.LastSetupErr = r.first, r.failure, r.auth, r.authSess, r.setupErr
}
