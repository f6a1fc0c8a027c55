package loadcheck

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// The labels of the message-level histograms beside the probe's phases.
const (
	// Total is a message's time: from the start of its session for the
	// first message of a session (connect, TLS, EHLO and AUTH included),
	// from its MAIL FROM for the next ones, to the reply to its end or
	// its failure.
	Total = "total"
	// Corrected is Total in the open loop with the messages a late reply
	// held back counted in (HdrHistogram's RecordCorrectedValue).
	Corrected = "total_corrected"
)

// Histogram bounds: 1 µs to an hour (-t's limit), 3 significant digits.
const (
	histMin    = 1
	histMax    = int64(time.Hour / time.Microsecond)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// micros is d in whole microseconds, within the histograms' range.
func micros(d time.Duration) int64 { return min(max(d.Microseconds(), histMin), histMax) }

// Outcome is what became of one message.
type Outcome int

// Outcomes.
const (
	Accepted Outcome = iota // the reply to its end was 250
	Rejected                // the server refused it with a reply in the transaction (MAIL, RCPT, DATA, its end)
	Failed                  // no verdict from the server: the session could not be set up, broke, timed out
	Cut                     // cut short by the end of the run or a signal: neither the server's fault nor counted
)

// Attempt is one message's fate, as recorded.
type Attempt struct {
	Outcome Outcome
	Class   string // "" for accepted; dial, tls, timeout, disconnect, 4xx, 5xx, protocol, auth, other
	Key     string // the phase and reply code ("rcpt 550 5.1.1") or what happened ("connect refused")
	Err     *probe.Error
}

// Bucket is one filled range of a histogram, in microseconds.
type Bucket struct {
	From  int64 `json:"from_us"`
	To    int64 `json:"to_us"`
	Count int64 `json:"count"`
}

// ErrorCount is how often one error (class, phase and reply) was seen,
// with the first reply's text.
type ErrorCount struct {
	Class string `json:"class"`
	Key   string `json:"key"`
	Count int    `json:"count"`
	Text  string `json:"text,omitempty"` // the first one's description, sanitised

	state plugin.State // what plugin.FailureState makes of it
}

// maxErrorText bounds an error's description: the server's reply is
// quoted at most 120 bytes long already, and the advice after it, the part
// that says what to do, must not be cut off.
const maxErrorText = 3 * plugin.MaxTextLen

// maxErrorKinds bounds the kinds of error a shard keeps apart: a server
// that varies its codes (every enhanced code a new key) must not grow the
// run's memory and its JSON without end. The rest are counted by class.
const maxErrorKinds = 100

// otherKinds is the key of the errors beyond maxErrorKinds.
const otherKinds = "other kinds (more than 100 seen)"

// shard is one lock's worth of the tally: the workers are spread over a
// few, merged at the end, so that recording never queues behind one lock.
type shard struct {
	mu    sync.Mutex
	hists map[string]*hdrhistogram.Histogram
	count [Cut + 1]int
	errs  map[string]*ErrorCount
	first time.Time // the first measured message began
	last  time.Time // the last measured message ended
}

func newShard() *shard {
	return &shard{hists: map[string]*hdrhistogram.Histogram{}, errs: map[string]*ErrorCount{}}
}

func (s *shard) hist(label string) *hdrhistogram.Histogram {
	h := s.hists[label]
	if h == nil {
		h = newHist()
		s.hists[label] = h
	}
	return h
}

// timings records phases that belong to no message (a QUIT after the last).
func (s *shard) timings(phases []probe.Timing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phases(phases)
}

func (s *shard) phases(phases []probe.Timing) {
	for _, t := range phases {
		_ = s.hist(string(t.Phase)).RecordValue(micros(t.Duration))
	}
}

// sample is one measured message: its phases (the session's too for the
// first message of a session), its total and its fate.
type sample struct {
	phases   []probe.Timing
	total    time.Duration
	interval time.Duration // open loop: the beat, for the correction; 0 closed
	begin    time.Time
	a        Attempt
	describe func() string // words the error, for the first of its key
	state    plugin.State
}

func (s *shard) record(x *sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count[x.a.Outcome]++
	if x.a.Outcome == Cut {
		return
	}
	s.phases(x.phases)
	_ = s.hist(Total).RecordValue(micros(x.total))
	if x.interval > 0 {
		_ = s.hist(Corrected).RecordCorrectedValue(micros(x.total), micros(x.interval))
	}
	if s.first.IsZero() || x.begin.Before(s.first) {
		s.first = x.begin
	}
	if end := x.begin.Add(x.total); end.After(s.last) {
		s.last = end
	}
	if x.a.Outcome == Accepted {
		return
	}
	key := x.a.Key
	if _, seen := s.errs[x.a.Class+"\x00"+key]; !seen && len(s.errs) >= maxErrorKinds {
		key = otherKinds
	}
	k := x.a.Class + "\x00" + key
	if e := s.errs[k]; e != nil {
		e.Count++
		return
	}
	e := &ErrorCount{Class: x.a.Class, Key: key, Count: 1, state: x.state}
	if x.describe != nil {
		e.Text = plugin.Sanitize(x.describe(), maxErrorText)
	}
	s.errs[k] = e
}

// Tally is the merged figures of a run.
type Tally struct {
	Hists    map[string]*hdrhistogram.Histogram
	Count    [Cut + 1]int
	Errors   []ErrorCount // most frequent first
	Classes  map[string]int
	First    time.Time
	Last     time.Time
	Measured int // accepted + rejected + failed
}

// merge adds up the shards.
func merge(shards []*shard) *Tally {
	t := &Tally{Hists: map[string]*hdrhistogram.Histogram{}, Classes: map[string]int{}}
	errs := map[string]*ErrorCount{}
	for _, s := range shards {
		s.mu.Lock()
		for label, h := range s.hists {
			if t.Hists[label] == nil {
				t.Hists[label] = newHist()
			}
			t.Hists[label].Merge(h)
		}
		for i, n := range s.count {
			t.Count[i] += n
		}
		for k, e := range s.errs {
			if m := errs[k]; m != nil {
				m.Count += e.Count
			} else {
				c := *e
				errs[k] = &c
			}
		}
		if !s.first.IsZero() && (t.First.IsZero() || s.first.Before(t.First)) {
			t.First = s.first
		}
		if s.last.After(t.Last) {
			t.Last = s.last
		}
		s.mu.Unlock()
	}
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		t.Errors = append(t.Errors, *errs[k])
		t.Classes[errs[k].Class] += errs[k].Count
	}
	t.Errors = fold(t.Errors)
	t.Measured = t.Count[Accepted] + t.Count[Rejected] + t.Count[Failed]
	return t
}

// fold sorts errs most frequent first and bounds them for the run as a
// shard does: each shard keeps maxErrorKinds kinds, but not the same ones,
// so their union may hold a multiple. The rest are counted by class.
func fold(errs []ErrorCount) []ErrorCount {
	byCount := func(a, b ErrorCount) int { return cmp.Compare(b.Count, a.Count) }
	slices.SortStableFunc(errs, byCount)
	var kept, rest []ErrorCount
	for _, e := range errs {
		if e.Key != otherKinds && len(kept) < maxErrorKinds {
			kept = append(kept, e)
			continue
		}
		i := slices.IndexFunc(rest, func(o ErrorCount) bool { return o.Class == e.Class })
		if i < 0 {
			e.Key = otherKinds
			rest = append(rest, e)
			continue
		}
		rest[i].Count += e.Count
		rest[i].state = plugin.Worst(rest[i].state, e.state)
	}
	if len(rest) == 0 {
		return kept
	}
	kept = append(kept, rest...)
	slices.SortStableFunc(kept, byCount)
	return kept
}

// Elapsed is the measured window: the first measured message's start to
// the last one's end.
func (t *Tally) Elapsed() time.Duration { return t.Last.Sub(t.First) }

// Rate is accepted messages per second over the measured window.
func (t *Tally) Rate() float64 {
	if el := t.Elapsed(); el > 0 {
		return float64(t.Count[Accepted]) / el.Seconds()
	}
	return 0
}

// StartRate is measured messages per second, whatever their outcome: in
// the open loop, the rate the run kept up.
func (t *Tally) StartRate() float64 {
	if el := t.Elapsed(); el > 0 {
		return float64(t.Measured) / el.Seconds()
	}
	return 0
}

// ErrorRate is the per cent of measured messages rejected or failed.
func (t *Tally) ErrorRate() float64 {
	if t.Measured == 0 {
		return 0
	}
	return float64(t.Count[Rejected]+t.Count[Failed]) * 100 / float64(t.Measured)
}

// classify gives a failed message its class and key. inTransaction says
// the error came from the message's own transaction (MAIL to its end).
func classify(e *probe.Error) Attempt {
	a := Attempt{Outcome: Failed, Err: e}
	ph := string(e.Phase)
	switch {
	case e.Kind == probe.KindReply && e.Reply != nil:
		a.Class = strconv.Itoa(e.Reply.Class()) + "xx"
		a.Key = strings.TrimSpace(ph + " " + strconv.Itoa(e.Reply.Code) + " " + e.Reply.Enhanced)
		switch e.Phase {
		case probe.PhaseMail, probe.PhaseRcpt, probe.PhaseData, probe.PhaseMessage:
			if e.Reply.Code != 421 { // 421: the server closes the session, not this message
				a.Outcome = Rejected
			}
		}
		return a
	case e.Kind == probe.KindTimeout:
		a.Class, a.Key = "timeout", ph+" timeout"
	case e.Kind == probe.KindRefused:
		a.Class, a.Key = "dial", ph+" refused"
	case e.Kind == probe.KindResolve:
		a.Class, a.Key = "dial", ph+" failed"
	case e.Kind == probe.KindClosed || e.Kind == probe.KindReset:
		a.Class, a.Key = "disconnect", ph+" connection closed"
		if e.Kind == probe.KindReset {
			a.Key = ph + " connection reset"
		}
	case e.Kind == probe.KindTLS || e.Phase == probe.PhaseStartTLS || e.Phase == probe.PhaseTLS:
		a.Class, a.Key = "tls", ph+" failed"
	case e.Kind == probe.KindProtocol:
		a.Class, a.Key = "protocol", ph+" protocol error"
	case e.Phase == probe.PhaseConnect || e.Phase == probe.PhaseDNS:
		a.Class, a.Key = "dial", ph+" failed"
	default:
		a.Class, a.Key = "other", ph+" failed"
	}
	return a
}

// setupPhase reports whether a failure in ph kept the session from being
// set up: what --max-connect-failures counts.
func setupPhase(ph probe.Phase) bool {
	switch ph {
	case probe.PhaseDNS, probe.PhaseConnect, probe.PhaseProxy, probe.PhaseTLS, probe.PhaseBanner,
		probe.PhaseEHLO, probe.PhaseStartTLS, probe.PhaseEHLOTLS, probe.PhaseAuth:
		return true
	}
	return false
}

// histBuckets are h's filled ranges.
func histBuckets(h *hdrhistogram.Histogram) []Bucket {
	var out []Bucket
	for _, b := range h.Distribution() {
		if b.Count > 0 {
			out = append(out, Bucket{From: b.From, To: b.To, Count: b.Count})
		}
	}
	return out
}
