package plugin

import (
	"errors"
	"fmt"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
)

// JobFailure is the finding for a job of a fan-out that gave no value (the
// one wording for every plugin): a panic is our own failure, so UNKNOWN per
// the Nagios plugin guidelines, naming the job; a job the -t deadline kept
// from starting has -t's state. others names the job's kind in the plural
// ("MX addresses") for the jobs that held the slots.
func JobFailure(err error, t Timeout, others string) Finding {
	var pe *fanout.PanicError
	var ns *fanout.NotStartedError
	switch {
	case errors.As(err, &pe):
		return Finding{Unknown, fmt.Sprintf("internal error in %s: %v (a bug: please report it with the command line)", pe.Job, pe.Value)}
	case errors.As(err, &ns) && ns.Busy > 0:
		return Finding{t.State, fmt.Sprintf("not tried: the -t deadline passed while %d other %s were being checked", ns.Busy, others)}
	case errors.As(err, &ns):
		return Finding{t.State, "not tried: the -t deadline passed before its turn"}
	}
	return Finding{Unknown, "internal error: " + err.Error()}
}
