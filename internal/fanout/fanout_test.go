package fanout_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLimit: never more than limit jobs at once, and the limit is reached.
func TestLimit(t *testing.T) {
	for _, limit := range []int{1, 3, 7} {
		var cur, most atomic.Int32
		jobs := make([]fanout.Job[int], 20)
		for i := range jobs {
			jobs[i] = fanout.Job[int]{Name: "job", Run: func(context.Context) int {
				n := cur.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				// Stay until the limit is reached, so that it is reached
				// however late the scheduler starts the others.
				for end := time.Now().Add(time.Second); most.Load() < int32(limit) && time.Now().Before(end); {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(2 * time.Millisecond)
				cur.Add(-1)
				return i
			}}
		}
		fanout.Run(context.Background(), limit, jobs)
		if got := most.Load(); got != int32(limit) {
			t.Errorf("limit %d: at most %d jobs ran at once", limit, got)
		}
	}
}

// TestNoLimit: with limit 0 every job runs at once: each waits for all the
// others to have started, which a limit would never let happen.
func TestNoLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	const n = 12
	var in sync.WaitGroup
	in.Add(n)
	all := make(chan struct{})
	go func() { in.Wait(); close(all) }()
	jobs := make([]fanout.Job[bool], n)
	for i := range jobs {
		jobs[i] = fanout.Job[bool]{Name: "job", Run: func(ctx context.Context) bool {
			in.Done()
			select {
			case <-all:
				return true
			case <-ctx.Done():
				return false
			}
		}}
	}
	for i, r := range fanout.Run(ctx, 0, jobs) {
		if !r.Value || r.Err != nil {
			t.Fatalf("job %d did not see all %d jobs running: %+v", i, n, r)
		}
	}
}

// TestOrder: results come in job order, whatever order the jobs end in.
func TestOrder(t *testing.T) {
	const n = 10
	jobs := make([]fanout.Job[int], n)
	for i := range jobs {
		jobs[i] = fanout.Job[int]{Name: "job", Run: func(context.Context) int {
			time.Sleep(time.Duration(n-i) * 2 * time.Millisecond) // the last ends first
			return i * i
		}}
	}
	for _, limit := range []int{0, 3} {
		rs := fanout.Run(context.Background(), limit, jobs)
		if len(rs) != n {
			t.Fatalf("limit %d: %d results for %d jobs", limit, len(rs), n)
		}
		for i, r := range rs {
			if r.Value != i*i || r.Err != nil {
				t.Errorf("limit %d: result %d is %+v, want %d", limit, i, r, i*i)
			}
		}
	}
}

// TestPanic: a job's panic is that job's error, named, without a stack; the
// other jobs' results stand.
func TestPanic(t *testing.T) {
	var nilMap map[string]int
	jobs := []fanout.Job[string]{
		{Name: "the first job", Run: func(context.Context) string { return "one" }},
		{Name: "the second job", Run: func(context.Context) string { panic("boom") }},
		{Name: "the third job", Run: func(context.Context) string { nilMap["x"] = 1; return "three" }},
		{Name: "the fourth job", Run: func(context.Context) string { return "four" }},
	}
	for _, limit := range []int{0, 1, 2} {
		rs := fanout.Run(context.Background(), limit, jobs)
		if rs[0] != (fanout.Result[string]{Value: "one"}) || rs[3] != (fanout.Result[string]{Value: "four"}) {
			t.Errorf("limit %d: the good jobs gave %+v and %+v", limit, rs[0], rs[3])
		}
		var pe *fanout.PanicError
		if !errors.As(rs[1].Err, &pe) || pe.Job != "the second job" || pe.Value != "boom" || rs[1].Value != "" {
			t.Errorf("limit %d: the panicking job gave %+v", limit, rs[1])
		}
		if got, want := errText(rs[1].Err), "internal error in the second job: boom"; got != want {
			t.Errorf("limit %d: error %q, want %q", limit, got, want)
		}
		want := "internal error in the third job: assignment to entry in nil map"
		if got := errText(rs[2].Err); got != want || strings.Contains(got, "goroutine") {
			t.Errorf("limit %d: error %q, want %q", limit, got, want)
		}
	}
}

// TestNotStarted: the jobs still waiting for a slot when the deadline
// passes are never started, and say how many held the slots; those that
// held them ran to their end.
func TestNotStarted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var ran atomic.Int32
	jobs := make([]fanout.Job[int], 5)
	for i := range jobs {
		jobs[i] = fanout.Job[int]{Name: "job " + string(rune('A'+i)), Run: func(ctx context.Context) int {
			ran.Add(1)
			<-ctx.Done() // hangs until the deadline, as a silent server does
			return i + 1
		}}
	}
	start := time.Now()
	rs := fanout.Run(ctx, 2, jobs)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run took %v past a 100 ms deadline", d)
	}
	if ran.Load() != 2 || rs[0].Value != 1 || rs[1].Value != 2 || rs[0].Err != nil || rs[1].Err != nil {
		t.Errorf("%d jobs ran; the first two gave %+v, %+v", ran.Load(), rs[0], rs[1])
	}
	for i, r := range rs[2:] {
		var ns *fanout.NotStartedError
		if !errors.As(r.Err, &ns) || *ns != (fanout.NotStartedError{Job: jobs[i+2].Name, Busy: 2}) || r.Value != 0 {
			t.Errorf("job %d gave %+v", i+2, r)
		}
	}
	if got, want := errText(rs[4].Err), "job E not started: the deadline passed while 2 other jobs held the slots"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

// TestDeadlineBeforeStart: when the deadline has passed before the fan-out
// begins, no job starts, and none claims to have waited for others.
func TestDeadlineBeforeStart(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	jobs := make([]fanout.Job[int], 5)
	for i := range jobs {
		jobs[i] = fanout.Job[int]{Name: "job", Run: func(context.Context) int { t.Error("a job started after the deadline"); return 1 }}
	}
	for _, limit := range []int{0, 2} {
		for i, r := range fanout.Run(ctx, limit, jobs) {
			var ns *fanout.NotStartedError
			if !errors.As(r.Err, &ns) || ns.Busy != 0 {
				t.Errorf("limit %d: job %d gave %+v", limit, i, r)
			}
		}
	}
	rs := fanout.Run(ctx, 2, jobs[:1])
	if got, want := errText(rs[0].Err), "job not started: the deadline passed before its turn"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

// TestStart: the caller's own work goes on while the jobs run.
func TestStart(t *testing.T) {
	release := make(chan struct{})
	wait := fanout.Start(context.Background(), 0, []fanout.Job[int]{{Name: "job", Run: func(context.Context) int { <-release; return 7 }}})
	close(release) // would deadlock had Start waited for the job
	if rs := wait(); rs[0].Value != 7 || rs[0].Err != nil {
		t.Errorf("got %+v", rs[0])
	}
}

// TestAllocations: the cost of a run does not grow with its jobs (a load
// mode runs hundreds): no goroutine or allocation per job.
func TestAllocations(t *testing.T) {
	jobs := func(n int) []fanout.Job[int] {
		js := make([]fanout.Job[int], n)
		for i := range js {
			js[i] = fanout.Job[int]{Name: "job", Run: func(context.Context) int { return 1 }}
		}
		return js
	}
	few, many := jobs(8), jobs(800)
	ctx := context.Background()
	a := testing.AllocsPerRun(50, func() { fanout.Run(ctx, 4, few) })
	b := testing.AllocsPerRun(50, func() { fanout.Run(ctx, 4, many) })
	if b > a {
		t.Errorf("%v allocations for 8 jobs, %v for 800", a, b)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
