package imapbox

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"github.com/smtpcheck/smtpcheck/internal/redact"
)

// Noter keeps the IMAP lines for the verbose output (smtp.Transcript.Note).
type Noter interface{ Note(text string) }

// maxLine caps one transcript line: a header literal can hold long ones.
const maxLine = 200

// MaxTranscript caps the lines kept for the transcript: a session of ours
// takes a few dozen, and the plugin's output is cut long before this.
const MaxTranscript = 500

// debugLines is go-imap's debug stream: it counts the lines for the meter
// and, with a Noter, turns them into transcript lines. go-imap writes what
// it reads and what it sends to one writer, so the lines carry no
// direction; each is scrubbed of the session's secrets (registered before
// they are sent) before it is shortened and kept. What it holds is bounded
// whatever the server sends: one line's start, and MaxTranscript lines.
type debugLines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	long    bool // the line in buf was cut: its rest is dropped
	kept    int
	dropped int
	set     *redact.Set
	out     Noter // nil: count only
	m       *meter
}

func (d *debugLines) Write(p []byte) (int, error) {
	d.m.countLines(p)
	if d.out == nil {
		return len(p), nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for rest := p; len(rest) > 0; {
		line, after, nl := bytes.Cut(rest, []byte{'\n'})
		rest = after
		if room := maxLine + 1 - d.buf.Len(); len(line) > room {
			line, d.long = line[:max(room, 0)], true
		}
		d.buf.Write(line)
		if nl {
			d.emit(d.buf.String(), d.long)
			d.buf.Reset()
			d.long = false
		}
	}
	return len(p), nil
}

// flush keeps what is left of an unfinished line, and says how many lines
// were not kept.
func (d *debugLines) flush() {
	if d.out == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.buf.Len() > 0 {
		d.emit(d.buf.String(), d.long)
		d.buf.Reset()
	}
	if d.dropped > 0 {
		d.out.Note(fmt.Sprintf("imap: (%d more lines not kept)", d.dropped))
		d.dropped = 0
	}
}

func (d *debugLines) emit(line string, cut bool) {
	if d.kept == MaxTranscript {
		d.dropped++
		return
	}
	d.kept++
	line = strings.TrimRight(line, "\r")
	if cut || len(line) > maxLine {
		line = d.set.ScrubCut(line[:min(len(line), maxLine)]) + " ..."
	} else {
		line = d.set.Scrub(line)
	}
	d.out.Note("imap: " + strings.ToValidUTF8(line, "?"))
}
