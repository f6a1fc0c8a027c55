package plugin

import (
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// SessionLines adds the long-output lines every plugin gives a session:
// the banner, the hello reply followed by about (e.g. "extensions: ..."),
// and the TLS line followed by tlsNote. It also attaches the transcript
// at the verbosity c asks for.
func SessionLines(r *Result, s *probe.Session, c *Common, about, tlsNote string) {
	// Read before AUTH: scrubbed of the long secrets a server that knows
	// them may send (smtp.Transcript.ScrubLong).
	if s.Banner.Code != 0 {
		r.Detail("banner: %s", s.Transcript.ScrubLong(Quote(s.Banner)))
	}
	if s.HelloVerb != "" {
		r.Detail("%s: %s; %s", strings.ToLower(s.HelloVerb), s.Transcript.ScrubLong(Quote(s.Hello)), about)
	}
	if s.TLS != nil {
		r.Detail("%s%s", TLSLine(s), tlsNote)
	}
	r.Transcript = s.Transcript.ForVerbosity(c.Verbosity())
}

// Limits are thresholds on the time of a phase; "total" names the whole run.
type Limits map[probe.Phase]threshold.Pair

// SessionPerf adds the perfdata every plugin gives a session: each phase
// measured, in session order, with its limits; "total", with the limits
// of "total" or else timeLimits; and check_smtp's "time", the same
// duration with timeLimits (its -w/-c).
func SessionPerf(r *Result, s *probe.Session, total time.Duration, limits Limits, timeLimits threshold.Pair) {
	for _, ph := range probe.Phases {
		if d, ok := s.Duration(ph); ok {
			r.AddPerf(Seconds(string(ph), d, limits[ph]))
		}
	}
	tl, ok := limits["total"]
	if !ok || tl.Warn.IsZero() && tl.Crit.IsZero() {
		tl = timeLimits
	}
	r.AddPerf(Seconds("total", total, tl), Seconds("time", total, timeLimits))
}
