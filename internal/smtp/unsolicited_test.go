package smtp

import (
	"errors"
	"strings"
	"testing"
)

// TestUnsolicited: whatever the server sent after a reply, unasked, is an
// error of the read that found it, never the next command's reply; a 421
// there is the server closing, reported as that reply.
func TestUnsolicited(t *testing.T) {
	tests := []struct {
		name, server string
		err          string
		bytes        int  // for an *UnsolicitedError
		closing      bool // a *ReplyError 421
		lines        []string
	}{
		{
			name: "a reply after the reply", server: "250 ok\r\n250 early\r\n",
			err: `the server sent "250 early" after its reply, before the next command`, bytes: len("250 early\r\n"),
			lines: []string{"C: NOOP", "S: 250 ok"},
		},
		{
			name: "bytes without a line end", server: "250 ok\r\nxyz",
			err: `the server sent "xyz" after its reply, before the next command`, bytes: 3,
			lines: []string{"C: NOOP", "S: 250 ok"},
		},
		{
			name: "an echoed secret is redacted", server: "250 ok\r\n250 hunter2 early\r\n",
			err: `the server sent "250 <redacted> early" after its reply, before the next command`, bytes: len("250 hunter2 early\r\n"),
			lines: []string{"C: NOOP", "S: 250 ok"},
		},
		{
			name: "a secret cut off is redacted", server: "250 ok\r\n250 hunt",
			err: `the server sent "250 <redacted>" after its reply, before the next command`, bytes: len("250 hunt"),
			lines: []string{"C: NOOP", "S: 250 ok"},
		},
		{
			name: "421 is the server closing", server: "250 ok\r\n421 4.3.2 shutting down\r\n",
			err: "421 4.3.2 shutting down", closing: true,
			lines: []string{"C: NOOP", "S: 250 ok", "S: 421 4.3.2 shutting down"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The whole script in one read, as when a server sends it in one segment.
			fc := &fakeConn{script: strings.NewReader(tt.server)}
			fc.r = fc.script
			tr := NewTranscript()
			tr.AddSecret("hunter2")
			c := NewConn(fc, tr)
			rep, err := c.Cmd("NOOP")
			checkErr(t, err, tt.err)
			checkReply(t, rep, Reply{Code: 250, Lines: []string{"ok"}})
			checkLines(t, tr, tt.lines)
			var ue *UnsolicitedError
			if errors.As(err, &ue) != !tt.closing || (ue != nil && ue.Bytes != tt.bytes) {
				t.Errorf("error %#v, want %d unsolicited bytes", err, tt.bytes)
			}
			var re *ReplyError
			if errors.As(err, &re) != tt.closing || (re != nil && re.Reply.Code != 421) {
				t.Errorf("error %#v, want a 421 reply: %v", err, tt.closing)
			}
		})
	}
}
