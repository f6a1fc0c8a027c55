package imapbox

import (
	"bytes"
	"strings"
	"sync"

	"github.com/smtpcheck/smtpcheck/internal/redact"
)

// Noter keeps the IMAP lines for the verbose output (smtp.Transcript.Note).
type Noter interface{ Note(text string) }

// maxLine caps one transcript line: a header literal can hold long ones.
const maxLine = 200

// debugLines turns go-imap's debug stream into transcript lines. go-imap
// writes what it reads and what it sends to one writer, so the lines carry
// no direction; each is scrubbed of the session's secrets (registered
// before they are sent) before it is shortened and kept.
type debugLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	set *redact.Set
	out Noter
}

func (d *debugLines) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf.Write(p)
	for {
		i := bytes.IndexByte(d.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		d.emit(string(d.buf.Next(i + 1)))
	}
}

// flush keeps what is left of an unfinished line.
func (d *debugLines) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.buf.Len() > 0 {
		d.emit(d.buf.String())
		d.buf.Reset()
	}
}

func (d *debugLines) emit(line string) {
	line = d.set.Scrub(strings.TrimRight(line, "\r\n"))
	if len(line) > maxLine {
		line = line[:maxLine] + " ..."
	}
	d.out.Note("imap: " + strings.ToValidUTF8(line, "?"))
}
