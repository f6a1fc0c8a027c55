// Package fanout runs jobs beside each other under one context deadline,
// at most limit at a time, and gives back one result per job in job order.
// A job's panic becomes that job's error instead of ending the process with
// no verdict, and a job still waiting for a slot when the deadline passes is
// never started: its error says so and how many jobs held the slots.
//
// Callers: check_smtp_conn's --mx mode (one job per MX address, bounded),
// check_smtp_tls's version scan and DANE / MTA-STS lookups (a handful,
// unbounded, beside the main session); plugin.JobFailure words an error.
package fanout

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Job is one unit of work. Name says what it does in words a user reads
// ("the TLSv1.1 handshake of the version scan"); Run must honour ctx.
type Job[T any] struct {
	Name string
	Run  func(context.Context) T
}

// Result is what one job gave: its value, or an error (*PanicError or
// *NotStartedError) and the zero value.
type Result[T any] struct {
	Value T
	Err   error
}

// PanicError is a job that panicked. Value is what it panicked with; the
// stack is left out on purpose: it is no verdict and may not be shown.
type PanicError struct {
	Job   string
	Value any
}

func (e *PanicError) Error() string { return fmt.Sprintf("internal error in %s: %v", e.Job, e.Value) }

// NotStartedError is a job the deadline kept from starting. Busy is how
// many jobs held the slots while it waited; 0 means it had not waited for
// any: the deadline had passed before its turn came.
type NotStartedError struct {
	Job  string
	Busy int
}

func (e *NotStartedError) Error() string {
	if e.Busy > 0 {
		return fmt.Sprintf("%s not started: the deadline passed while %d other jobs held the slots", e.Job, e.Busy)
	}
	return fmt.Sprintf("%s not started: the deadline passed before its turn", e.Job)
}

// Run runs the jobs, at most limit at a time (0: all at once), and returns
// when every started job has returned.
func Run[T any](ctx context.Context, limit int, jobs []Job[T]) []Result[T] {
	return Start(ctx, limit, jobs)()
}

// Start is Run for work that goes on beside the jobs: it returns at once,
// and wait, which must be called, returns the results once all are in.
//
// Jobs are handed out in order to min(limit, len(jobs)) workers, so a
// thousand jobs cost no thousand goroutines and the first jobs start first.
func Start[T any](ctx context.Context, limit int, jobs []Job[T]) (wait func() []Result[T]) {
	results := make([]Result[T], len(jobs))
	slots := len(jobs)
	if limit > 0 && limit < slots {
		slots = limit
	}
	var next, started atomic.Int64
	var wg sync.WaitGroup
	for range slots {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				if expired(ctx) {
					busy := 0
					if i >= slots { // it waited behind the jobs started before it
						busy = int(min(int64(slots), started.Load()))
					}
					results[i].Err = &NotStartedError{Job: jobs[i].Name, Busy: busy}
					continue
				}
				started.Add(1)
				results[i] = run(ctx, jobs[i])
			}
		})
	}
	return func() []Result[T] {
		wg.Wait()
		return results
	}
}

// run runs one job, recovering its panic.
func run[T any](ctx context.Context, j Job[T]) (r Result[T]) {
	defer func() {
		if v := recover(); v != nil {
			r = Result[T]{Err: &PanicError{Job: j.Name, Value: v}}
		}
	}()
	return Result[T]{Value: j.Run(ctx)}
}

// expired reports whether ctx's deadline has passed. A job bound by the same
// instant may end, and free its slot, before ctx.Err() says so.
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}
