package smtp

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestBatch: pipelined commands go out in one write; the replies that wait
// between them are expected, what follows the last one is not.
func TestBatch(t *testing.T) {
	tests := []struct {
		name, server string
		err          string // of the last Next
		lines        []string
	}{
		{
			name: "three replies in one segment", server: "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n",
			lines: []string{"C: MAIL FROM:<a@x>", "C: RCPT TO:<b@x>", "C: DATA", "S: 250 2.1.0 Ok", "S: 250 2.1.5 Ok", "S: 354 End data"},
		},
		{
			name: "bytes after the last reply", server: "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n250 2.0.0 queued\r\n",
			err:   `the server sent "250 2.0.0 queued" after its reply, before the next command`,
			lines: []string{"C: MAIL FROM:<a@x>", "C: RCPT TO:<b@x>", "C: DATA", "S: 250 2.1.0 Ok", "S: 250 2.1.5 Ok", "S: 354 End data"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeConn{script: strings.NewReader(tt.server)}
			fc.r = fc.script // everything in one read, as a server flushes pipelined replies
			tr := NewTranscript()
			c := NewConn(fc, tr)
			b, err := c.SendBatch("MAIL FROM:<a@x>", "RCPT TO:<b@x>", "DATA")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fc.w.String(), "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"; got != want {
				t.Errorf("wrote %q, want %q", got, want)
			}
			for i, code := range []int{250, 250, 354} {
				rep, err := b.Next()
				if i < 2 {
					checkErr(t, err, "")
				} else {
					checkErr(t, err, tt.err)
				}
				if rep.Code != code {
					t.Errorf("reply %d = %d, want %d", i, rep.Code, code)
				}
			}
			if b.Pending() != 0 {
				t.Errorf("pending %d", b.Pending())
			}
			_, err = b.Next()
			checkErr(t, err, "no reply is pending")
			checkLines(t, tr, tt.lines)
		})
	}
}

func TestBatchRefusesInjection(t *testing.T) {
	c, fc, _ := dial("", false)
	_, err := c.SendBatch("MAIL FROM:<a@x>", "RCPT TO:<b@x>\r\nDATA")
	if !errors.Is(err, ErrInjection) || fc.w.Len() != 0 {
		t.Errorf("err %v, wrote %q: want ErrInjection and nothing written", err, fc.w.String())
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"a\r\nb\r\n":        "a\r\nb\r\n",
		"a\nb":              "a\r\nb\r\n",
		"a\rb\r\n":          "a\r\nb\r\n",
		"a\r\r\nb\n\r\n":    "a\r\n\r\nb\r\n\r\n",
		"x\r":               "x\r\n",
		"\n.\n":             "\r\n.\r\n",
		"ok\r\n.\r\nnot\r":  "ok\r\n.\r\nnot\r\n",
		"\x00\r\n\xff\r\n1": "\x00\r\n\xff\r\n1\r\n",
	} {
		if got := string(Canonical([]byte(in))); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
	msg := []byte("a\r\nb\r\n")
	if out := Canonical(msg); &out[0] != &msg[0] {
		t.Error("a canonical message was copied")
	}
}

// TestWriteData: line ends made CRLF, leading dots doubled (bare CR and LF
// too: "\n.\n" must not end the message early), the end CRLF.CRLF.
func TestWriteData(t *testing.T) {
	c, fc, tr := dial("250 2.0.0 Ok: queued as 4XyZ\r\n", false)
	msg := "Subject: x\n\n.hidden\r\n..two\rend\n.\n"
	if err := c.WriteData(context.Background(), []byte(msg)); err != nil {
		t.Fatal(err)
	}
	want := "Subject: x\r\n\r\n..hidden\r\n...two\r\nend\r\n..\r\n.\r\n"
	if got := fc.w.String(); got != want {
		t.Errorf("wrote %q\n want %q", got, want)
	}
	rep, err := c.ReadReply()
	checkErr(t, err, "")
	checkReply(t, rep, Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"2.0.0 Ok: queued as 4XyZ"}})
	checkLines(t, tr, []string{"* message of 38 bytes", "C: .", "S: 250 2.0.0 Ok: queued as 4XyZ"})
}

// countingConn counts writes and their largest size.
type countingConn struct {
	fakeConn
	writes, largest int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes++
	c.largest = max(c.largest, len(p))
	return c.fakeConn.Write(p)
}

// TestWriteLargeInChunks: a message of several chunks goes out in pieces
// of at most dataChunk bytes, intact.
func TestWriteLargeInChunks(t *testing.T) {
	line := strings.Repeat("x", 76) + "\r\n"
	msg := strings.Repeat(line, 3*dataChunk/len(line)+5)
	for _, bdat := range []bool{false, true} {
		cc := &countingConn{fakeConn: *newFakeConn("", false)}
		c := NewConn(cc, nil)
		var err error
		want := msg + ".\r\n"
		if bdat {
			err = c.WriteBDAT(context.Background(), []byte(msg))
			want = BDATCommand(len(msg)) + "\r\n" + msg
		} else {
			err = c.WriteData(context.Background(), []byte(msg))
		}
		if err != nil {
			t.Fatal(err)
		}
		if cc.w.String() != want {
			t.Errorf("bdat %v: the message arrived changed (%d bytes, want %d)", bdat, cc.w.Len(), len(want))
		}
		if cc.writes != 4 || cc.largest != dataChunk {
			t.Errorf("bdat %v: %d writes, largest %d; want 4 of at most %d", bdat, cc.writes, cc.largest, dataChunk)
		}
	}
}

// TestWriteDataCancelled: a context that has ended stops the message
// before its first write.
func TestWriteDataCancelled(t *testing.T) {
	c, fc, _ := dial("", false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.WriteData(ctx, bytes.Repeat([]byte("y\r\n"), dataChunk))
	if !errors.Is(err, context.Canceled) || fc.w.Len() != 0 {
		t.Errorf("err %v, wrote %d bytes; want context.Canceled and nothing", err, fc.w.Len())
	}
}

// TestWriteBDAT: the size counts the canonical message; no dot-stuffing.
func TestWriteBDAT(t *testing.T) {
	c, fc, tr := dial("", false)
	if err := c.WriteBDAT(context.Background(), []byte(".a\nb")); err != nil {
		t.Fatal(err)
	}
	if got, want := fc.w.String(), "BDAT 7 LAST\r\n.a\r\nb\r\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
	checkLines(t, tr, []string{"C: BDAT 7 LAST", "* message of 7 bytes"})
}
