package imapbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
)

// hostile is a scripted IMAP server that logs in, lists and selects like
// a real one and hands every other command to other; it returns when
// other returns false or the connection ends.
func hostile(t *testing.T, other func(c scriptConn, tag, cmd string) bool) *scriptServer {
	return hostileWith(t, "IMAP4rev1 UIDPLUS", nil, other)
}

// hostileWith is hostile with the capabilities after login, and the
// answers of first (by the command's start) before the usual ones.
func hostileWith(t *testing.T, caps string, first map[string]func(c scriptConn, tag string), other func(c scriptConn, tag, cmd string) bool) *scriptServer {
	return startScript(t, func(c scriptConn) {
		c.Send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready")
	commands:
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			tag, cmd, _ := strings.Cut(line, " ")
			for start, f := range first {
				if strings.HasPrefix(cmd, start) {
					f(c, tag)
					continue commands
				}
			}
			switch {
			case strings.HasPrefix(cmd, "AUTHENTICATE"):
				c.Send(tag + " OK [CAPABILITY " + caps + "] logged in")
			case strings.HasPrefix(cmd, "LIST"):
				c.Send(`* LIST () "/" INBOX`, tag+" OK done")
			case strings.HasPrefix(cmd, "SELECT"), strings.HasPrefix(cmd, "EXAMINE"):
				c.Send("* 1 EXISTS", "* OK [UIDVALIDITY 1] ok", tag+" OK [READ-WRITE] done")
			case strings.HasPrefix(cmd, "LOGOUT"):
				c.Send("* BYE bye", tag+" OK done")
				return
			default:
				if !other(c, tag, cmd) {
					return
				}
			}
		}
	})
}

func hostileBox(t *testing.T, ctx context.Context, srv *scriptServer, tr Noter) *Box {
	t.Helper()
	b, err := Dial(ctx, Config{Target: probe.Target{Host: "127.0.0.1", Port: srv.Port}, Redact: &redact.Set{}, Transcript: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Login(ctx, sasl.Credentials{User: testUser, Password: testPass}, "", true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.abort)
	return b
}

// allocated runs f and returns the bytes allocated meanwhile (the heap's
// total, all goroutines: the test's own are few).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A FETCH literal far larger than the header section asked for (here
// 256 MiB, streamed while the client reads) ends the session once
// MaxStepRead is spent: the memory held stays a few MiB, and the error
// names the phase and says why.
func TestHugeLiteral(t *testing.T) {
	srv := hostile(t, func(c scriptConn, tag, cmd string) bool {
		c.Send("* 1 FETCH (UID 1 INTERNALDATE \"04-Dec-2026 08:00:00 +0000\" RFC822.SIZE 9 BODY[HEADER]<0> {268435456}")
		chunk := bytes.Repeat([]byte("X-Junk: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n"), 1<<10)
		for sent := 0; sent < 256<<20; sent += len(chunk) {
			if c.SendRaw(chunk) != nil {
				return false
			}
		}
		return false
	})
	ctx := testCtx(t, 20*time.Second)
	b := hostileBox(t, ctx, srv, nil)
	var err error
	n := allocated(func() { _, err = b.Headers(ctx, Inbox, 1, 0) })
	e := AsError(err)
	if e == nil || e.Phase != PhaseFetch || e.Kind != probe.KindProtocol || !e.Overflow {
		t.Fatalf("error %#v", e)
	}
	if want := "imap_fetch: the server sent more than 2048 KiB in this phase, far more than a search or a header section takes (a flood of responses, or an oversized literal): session ended"; e.Error() != want {
		t.Errorf("error %q\nwant %q", e.Error(), want)
	}
	if n > 32<<20 {
		t.Errorf("%d MiB allocated reading a literal of 256 MiB", n>>20)
	}
}

// An untagged flood (* OK [ALERT], as fast as the socket takes it) during
// a search ends the same way, and the transcript keeps at most
// MaxTranscript lines of it, then says how many more there were.
func TestAlertFlood(t *testing.T) {
	srv := hostile(t, func(c scriptConn, tag, cmd string) bool {
		chunk := bytes.Repeat([]byte("* OK [ALERT] the flood goes on and on and on\r\n"), 1<<10)
		for c.SendRaw(chunk) == nil {
		}
		return false
	})
	ctx := testCtx(t, 20*time.Second)
	tr := &notes{}
	b := hostileBox(t, ctx, srv, tr)
	var err error
	n := allocated(func() { _, err = b.Wait(ctx, query("inst.x")) })
	e := AsError(err)
	if e == nil || e.Phase != PhaseSearch || !e.Overflow {
		t.Fatalf("error %#v", e)
	}
	if ctx.Err() != nil {
		t.Error("the flood ran to the deadline")
	}
	if n > 32<<20 {
		t.Errorf("%d MiB allocated during the flood", n>>20)
	}
	b.abort()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.lines) != MaxTranscript+1 || !strings.HasPrefix(tr.lines[MaxTranscript], "imap: (") || !strings.HasSuffix(tr.lines[MaxTranscript], " more lines not kept)") {
		t.Errorf("%d transcript lines, the last %q", len(tr.lines), tr.lines[len(tr.lines)-1])
	}
}

// A flood slow enough to stay within the budget ends at the deadline as
// a timeout of the phase, with the lines it sent counted.
func TestSlowFloodTimesOut(t *testing.T) {
	srv := hostile(t, func(c scriptConn, tag, cmd string) bool {
		lines := strings.Repeat("* OK still searching\r\n", 50)
		for c.SendRaw([]byte(lines)) == nil && c.Pause(5*time.Millisecond) == nil {
		}
		return false
	})
	ctx := testCtx(t, time.Second)
	b := hostileBox(t, ctx, srv, nil)
	_, err := b.Wait(ctx, query("inst.x"))
	e := AsError(err)
	if e == nil || e.Phase != PhaseSearch || e.Kind != probe.KindTimeout || e.Flood < floodLines || e.Overflow {
		t.Fatalf("error %#v", e)
	}
}

// The transcript holds a long line's start only, whatever its length,
// and never a secret cut at that start.
func TestTranscriptLongLine(t *testing.T) {
	set := &redact.Set{}
	set.Add("0123456789-secret")
	n := &notes{}
	d := &debugLines{set: set, out: n, m: &meter{}}
	long := strings.Repeat("a", maxLine-5) + "0123456789-secret" + strings.Repeat("b", 1<<20)
	d.Write([]byte(long[:1000]))
	d.Write([]byte(long[1000:] + "\r\nnext\r\n"))
	d.flush()
	want := []string{"imap: " + strings.Repeat("a", maxLine-5) + redact.Redacted + " ...", "imap: next"}
	if strings.Join(n.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines %q\nwant %q", n.lines, want)
	}
	if d.buf.Cap() > 4<<10 {
		t.Errorf("buffer grew to %d bytes", d.buf.Cap())
	}
}

// Mail that arrives while Junk is searched shows only in the next SELECT
// of INBOX (a higher UIDNEXT), not as an IDLE update: the wait searches
// again at once instead of idling until the poll.
func TestInboxChangedWhileAway(t *testing.T) {
	selects := 0
	srv := hostileWith(t, "IMAP4rev1 UIDPLUS IDLE", map[string]func(c scriptConn, tag string){
		"LIST": func(c scriptConn, tag string) {
			c.Send(`* LIST () "/" INBOX`, `* LIST (\Junk) "/" Junk`, tag+" OK done")
		},
		"SELECT": func(c scriptConn, tag string) {
			selects++
			c.Send(fmt.Sprintf("* %d EXISTS", selects), fmt.Sprintf("* OK [UIDNEXT %d] next", selects+1), tag+" OK [READ-WRITE] done")
		},
		"EXAMINE": func(c scriptConn, tag string) { c.Send("* 0 EXISTS", tag+" OK [READ-ONLY] done") },
	}, func(c scriptConn, tag, cmd string) bool {
		switch {
		case strings.HasPrefix(cmd, "UID SEARCH") && selects >= 2:
			c.Send("* SEARCH 2", tag+" OK done")
		case strings.HasPrefix(cmd, "UID SEARCH"):
			c.Send("* SEARCH", tag+" OK done")
		case strings.HasPrefix(cmd, "UID FETCH"):
			hdr := probeField + ": inst.away\r\n\r\n"
			c.Send(fmt.Sprintf("* 2 FETCH (UID 2 BODY[HEADER.FIELDS (%s)] {%d}", probeField, len(hdr)))
			c.SendRaw([]byte(hdr + ")\r\n" + tag + " OK done\r\n"))
		case strings.HasPrefix(cmd, "IDLE"):
			c.Send("+ idling") // and no update, ever
			if _, err := c.ReadLine(); err != nil {
				return false
			}
			c.Send(tag + " OK idle done")
		default:
			c.Send(tag + " OK")
		}
		return true
	})
	ctx := testCtx(t, 5*time.Second)
	b := hostileBox(t, ctx, srv, nil)
	q := query("inst.away")
	q.Poll = time.Hour
	s, err := b.Wait(ctx, q)
	if err != nil || !s.Found || s.Polls != 2 {
		t.Fatalf("sighting %+v, %v", s, err)
	}
}

// A server that accepts SCRAM's first message at once never proves that it
// holds the password's keys: the login fails, as check_smtp_auth's does.
func TestSCRAMWithoutProof(t *testing.T) {
	srv := hostile(t, func(scriptConn, string, string) bool { return false })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := Dial(ctx, Config{Target: probe.Target{Host: "127.0.0.1", Port: srv.Port}, Redact: &redact.Set{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.abort)
	err = b.Login(ctx, sasl.Credentials{User: testUser, Password: testPass}, sasl.SCRAMSHA256, true)
	if !errors.Is(err, sasl.ErrNoServerProof) {
		t.Errorf("Login = %v, want %v", err, sasl.ErrNoServerProof)
	}
}
