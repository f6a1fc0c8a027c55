package loadcheck

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// progress is one line on stderr, rewritten each second, when stderr is a
// terminal: a person watching a long run sees it move. Never on stdout,
// never in a monitoring engine (no terminal there).
type progress struct {
	w    io.Writer
	quit chan struct{}
	gone chan struct{}
}

// progressOut is where the line goes; nil when stderr is not a terminal.
var progressOut = func() io.Writer {
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return os.Stderr
	}
	return nil
}

func (p *progress) start(r *runner) {
	if r.o.NoProgress || r.o.Output == "json" {
		return
	}
	if p.w = progressOut(); p.w == nil {
		return
	}
	p.quit, p.gone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.gone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				n := min(r.next.Load(), r.limit)
				fmt.Fprintf(p.w, "\r\033[K%s: %d of %s started, %s s", Name, n, plugin.Count(int(r.limit), "message"), plugin.Secs(time.Since(r.start)))
			}
		}
	}()
}

func (p *progress) stop() {
	if p.quit != nil {
		close(p.quit)
		<-p.gone
	}
}
