package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// server answers HTTP with the current config's checks; a reload swaps
// the config while requests keep being served.
type server struct {
	cfg  atomic.Pointer[config]
	env  *env
	reqs chan struct{} // one per request served at once (--max-requests)
}

func newServer(e *env, c *config) *server {
	s := &server{env: e, reqs: make(chan struct{}, c.opts.MaxRequests)}
	s.cfg.Store(c)
	return s
}

// Max length of a summary joined from several checks, and of each text
// line: a dashboard shows the first, a load balancer only the status.
const (
	maxSummary = 1000
	maxText    = 500
)

type findJSON struct {
	State string `json:"state"`
	Text  string `json:"text"`
}

// report is the JSON body: one check's, or the whole set's with each
// check in Checks.
type report struct {
	Name      string            `json:"name,omitempty"`
	Plugin    string            `json:"plugin,omitempty"`
	State     string            `json:"state"`
	Status    int               `json:"status,omitempty"` // the HTTP status, at the top level
	Summary   string            `json:"summary"`
	Findings  []findJSON        `json:"findings,omitempty"`
	Details   []string          `json:"details,omitempty"`
	Perfdata  []plugin.JSONPerf `json:"perfdata,omitempty"`
	CheckedAt *time.Time        `json:"checked_at,omitempty"` // a set: its oldest check
	Age       *float64          `json:"age,omitempty"`        // seconds
	Duration  *float64          `json:"duration,omitempty"`   // seconds the probe took
	Checks    []report          `json:"checks,omitempty"`
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, &report{State: plugin.Unknown.String(), Summary: "only GET and HEAD are served"})
		return
	}
	select {
	case s.reqs <- struct{}{}:
		defer func() { <-s.reqs }()
	default:
		h.Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, &report{State: plugin.Unknown.String(),
			Summary: fmt.Sprintf("busy: already serving %d requests (--max-requests); retry", cap(s.reqs))})
		return
	}
	c := s.cfg.Load()
	// However many checks a request waits for, its answer is written in
	// time: each probe ends by its -t (watchdog margin included), a few at
	// a time.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(c.longestWait() + 5*time.Second))
	path := r.URL.Path
	switch {
	case path == "/health" || path == "/health/":
		s.serveAll(w, r, c)
	case strings.HasPrefix(path, "/health/"):
		name := strings.TrimPrefix(path, "/health/")
		for _, ch := range c.checks {
			if ch.name == name {
				s.serveOne(w, r, c, ch)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, &report{State: plugin.Unknown.String(),
			Summary: "no such check: the checks are " + strings.Join(c.names(), ", ")})
	case path == "/metrics":
		s.serveMetrics(w, r, c)
	default:
		writeJSON(w, http.StatusNotFound, &report{State: plugin.Unknown.String(),
			Summary: "not found: try /health, /health/NAME (" + strings.Join(c.names(), ", ") + ") or /metrics"})
	}
}

func (c *config) names() []string {
	n := make([]string, len(c.checks))
	for i, ch := range c.checks {
		n[i] = ch.name
	}
	return n
}

// longestWait bounds a request that waits for every check: the probes run
// --max-checks at a time, each ending by its -t plus the watchdog margin.
func (c *config) longestWait() time.Duration {
	var longest time.Duration
	for _, ch := range c.checks {
		longest = max(longest, ch.timeout.Duration+plugin.WatchdogMargin)
	}
	rounds := (len(c.checks) + c.opts.MaxChecks - 1) / c.opts.MaxChecks
	return longest * time.Duration(rounds)
}

// status is the HTTP status of a state.
func (c *config) status(st plugin.State) int {
	switch st {
	case plugin.OK:
		return http.StatusOK
	case plugin.Warning:
		return c.opts.WarningStatus
	}
	return http.StatusServiceUnavailable
}

func (s *server) serveOne(w http.ResponseWriter, r *http.Request, c *config, ch *check) {
	o, err := ch.get(r.Context(), s.env, c.opts.MaxAge.Duration, true)
	if err != nil {
		return // the client has gone
	}
	rep := checkReport(ch, o, time.Now())
	rep.Status = c.status(o.state)
	writeJSON(w, rep.Status, &rep)
}

// gatherAll asks every check at once, each for a verdict younger than
// maxAge; nil where the request ended first.
func (s *server) gatherAll(ctx context.Context, c *config) []*outcome {
	outs := make([]*outcome, len(c.checks))
	var wg sync.WaitGroup
	for i, ch := range c.checks {
		wg.Go(func() { outs[i], _ = ch.get(ctx, s.env, c.opts.MaxAge.Duration, true) })
	}
	wg.Wait()
	return outs
}

func (s *server) serveAll(w http.ResponseWriter, r *http.Request, c *config) {
	outs := s.gatherAll(r.Context(), c)
	if r.Context().Err() != nil {
		return
	}
	now := time.Now()
	rep := report{Checks: make([]report, len(c.checks))}
	worst := plugin.OK
	var oldest time.Time
	for i, ch := range c.checks {
		rep.Checks[i] = checkReport(ch, outs[i], now)
		worst = plugin.Worst(worst, outs[i].state)
		if oldest.IsZero() || outs[i].checkedAt.Before(oldest) {
			oldest = outs[i].checkedAt
		}
	}
	rep.State, rep.Status = worst.String(), c.status(worst)
	rep.CheckedAt, rep.Age = &oldest, ptr(age(oldest, now))
	if worst == plugin.OK {
		rep.Summary = fmt.Sprintf("all %d checks OK", len(c.checks))
	} else {
		var parts []string
		for i, ch := range c.checks {
			if outs[i].state == worst {
				parts = append(parts, ch.name+": "+outs[i].result.Summary())
			}
		}
		rep.Summary = plugin.Sanitize(strings.Join(parts, "; "), maxSummary)
	}
	writeJSON(w, rep.Status, &rep)
}

func checkReport(ch *check, o *outcome, now time.Time) report {
	r := o.result
	rep := report{Name: ch.name, Plugin: ch.plugin, State: o.state.String(), Summary: plugin.Sanitize(r.Summary(), maxSummary),
		Findings: []findJSON{}, Perfdata: []plugin.JSONPerf{}, CheckedAt: &o.checkedAt,
		Age: ptr(age(o.checkedAt, now)), Duration: ptr(round(o.duration.Seconds()))}
	for _, f := range r.Findings {
		rep.Findings = append(rep.Findings, findJSON{f.State.String(), plugin.Sanitize(f.Text, maxText)})
	}
	for _, d := range r.Details {
		rep.Details = append(rep.Details, plugin.Sanitize(d, maxText))
	}
	for _, m := range r.Perf {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			continue // JSON has no such number; /metrics shows it
		}
		rep.Perfdata = append(rep.Perfdata, plugin.PerfJSON(m))
	}
	return rep
}

func age(t, now time.Time) float64 { return round(now.Sub(t).Seconds()) }

// round keeps microseconds, as the plugins' perfdata does.
func round(s float64) float64 { return math.Round(s*1e6) / 1e6 }

func ptr[T any](v T) *T { return &v }

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // <user@example.org> reads as it is
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"state":"UNKNOWN","summary":"internal error: the result could not be encoded"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
