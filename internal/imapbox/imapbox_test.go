package imapbox

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func query(token string) Query {
	return Query{Header: probeField, Token: token, Poll: 50 * time.Millisecond}
}

// The round trip over IMAPS: found in INBOX at once, its header section
// read, then deleted by UID: the unrelated message stays.
func TestFoundInInboxIMAPSAndDeleted(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit})
	ts.deliver(t, "INBOX", plainMsg("unrelated"), time.Now())
	ts.deliver(t, "INBOX", probeMsg("inst.tok1", "probe"), time.Now())
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	if b.TLS == nil || b.VerifyErr != nil || b.CertErr != nil {
		t.Fatalf("TLS %v, VerifyErr %v, CertErr %v", b.TLS != nil, b.VerifyErr, b.CertErr)
	}
	s, err := b.Wait(ctx, query("inst.tok1"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Found || s.Folder != "INBOX" || !slices.Equal(s.UIDs, []UID{2}) || s.Polls != 1 || s.Seen.IsZero() {
		t.Fatalf("sighting %+v", s)
	}
	m, err := b.Headers(ctx, s.Folder, s.UIDs[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	wantRcvd := []string{
		"from mx2.example.test by mx1.example.test; Fri, 4 Dec 2026 08:00:02 +0000",
		"from client.example.test by mx2.example.test; Fri, 4 Dec 2026 08:00:01 +0000",
	}
	if got := m.Fields("Received"); !slices.Equal(got, wantRcvd) {
		t.Errorf("Received %q, want %q", got, wantRcvd)
	}
	if got := m.Fields("authentication-results"); !slices.Equal(got, []string{"mx1.example.test; spf=pass smtp.mailfrom=example.test"}) {
		t.Errorf("Authentication-Results %q", got)
	}
	if m.Truncated || m.Size == 0 || m.InternalDate.IsZero() {
		t.Errorf("message %+v", m)
	}
	c, err := b.Delete(ctx, s.Folder, s.UIDs)
	if err != nil {
		t.Fatal(err)
	}
	if c.How != Expunged {
		t.Errorf("removal %v, want Expunged", c.How)
	}
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, ph := range []probe.Phase{PhaseConnect, PhaseTLS, PhaseGreeting, PhaseLogin, PhaseSelect, PhaseSearch, PhaseFetch, PhaseCleanup, PhaseLogout} {
		if _, ok := b.Duration(ph); !ok {
			t.Errorf("phase %s not timed", ph)
		}
	}
	if got := ts.contents(t, "INBOX"); !slices.Equal(got, []string{"subject unrelated"}) {
		t.Errorf("INBOX holds %q", got)
	}
	// BODY.PEEK: reading the header did not mark anything seen.
	if strings.Contains(ts.log.String(), `BODY[HEADER]`) && !strings.Contains(ts.log.String(), `BODY.PEEK[HEADER]`) {
		t.Error("the header was fetched without PEEK")
	}
}

// A header section longer than asked is cut and said to be.
func TestHeadersBounded(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit})
	ts.deliver(t, "INBOX", probeMsg("inst.big", strings.Repeat("x", 500)), time.Now())
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	defer b.Close(ctx)
	m, err := b.Headers(ctx, "INBOX", 1, 200)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || len(m.Header) != 200 || len(m.Fields("Received")) != 2 {
		t.Fatalf("truncated %v, %d bytes, Received %q", m.Truncated, len(m.Header), m.Fields("Received"))
	}
}

// The probe in the SPECIAL-USE \Junk folder is found there, and deleted
// there.
func TestFoundInJunk(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit, folders: []string{"Spam", "Archive"},
		special: map[string]imap.MailboxAttr{"Spam": imap.MailboxAttrJunk}})
	ts.deliver(t, "Archive", probeMsg("inst.junk", "elsewhere"), time.Now())
	ts.deliver(t, "Spam", plainMsg("spam"), time.Now())
	ts.deliver(t, "Spam", probeMsg("inst.junk", "probe"), time.Now())
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	s, err := b.Wait(ctx, query("inst.junk"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Found || s.Folder != "Spam" || s.Junk != "Spam" || !slices.Equal(s.UIDs, []UID{2}) {
		t.Fatalf("sighting %+v", s)
	}
	if _, err := b.Delete(ctx, s.Folder, s.UIDs); err != nil {
		t.Fatal(err)
	}
	b.Close(ctx)
	if got := ts.contents(t, "Spam"); !slices.Equal(got, []string{"subject spam"}) {
		t.Errorf("Spam holds %q", got)
	}
	if got := ts.contents(t, "Archive"); len(got) != 1 {
		t.Errorf("Archive holds %q", got)
	}
}

// A Junk folder given by name is searched although LIST marks none; with
// NoJunk only INBOX is.
func TestJunkByName(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit, folders: []string{"Junk-E-Mail"}})
	ts.deliver(t, "Junk-E-Mail", probeMsg("inst.named", "probe"), time.Now())
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	defer b.Close(ctx)
	q := query("inst.named")
	q.Junk = "Junk-E-Mail"
	s, err := b.Find(ctx, q)
	if err != nil || !s.Found || s.Folder != "Junk-E-Mail" {
		t.Fatalf("sighting %+v, %v", s, err)
	}
	q.NoJunk = true
	if s, err = b.Find(ctx, q); err != nil || s.Found || s.Polls != 1 || s.Junk != "" {
		t.Fatalf("NoJunk: sighting %+v, %v", s, err)
	}
	q.NoJunk, q.Junk = false, "Nonexistent"
	_, err = b.Find(ctx, q)
	if e := AsError(err); e == nil || e.Phase != PhaseSearch || e.Kind != probe.KindReply || e.Code != "NONEXISTENT" {
		t.Fatalf("missing Junk folder: %#v", e)
	}
}

// Not arrived: Wait ends when its context does, not later, says so
// without an error, and the session is still good for the cleanup.
func TestNotFoundByDeadline(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit})
	ts.deliver(t, "INBOX", probeMsg("inst.other", "someone else's"), time.Now())
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	for _, idle := range []bool{true, false} {
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		q := query("inst.never")
		if idle {
			q.Poll = time.Hour // only the context ends the IDLE
		}
		start := time.Now()
		s, err := b.Wait(wctx, q)
		took := time.Since(start)
		cancel()
		if err != nil || s.Found || s.Idle != true {
			t.Fatalf("sighting %+v, %v", s, err)
		}
		if took < 300*time.Millisecond || took > 2*time.Second {
			t.Errorf("Wait took %v for a 300ms context", took)
		}
		if !idle && s.Polls < 3 {
			t.Errorf("%d polls at 50ms in 300ms", s.Polls)
		}
	}
	if _, err := b.Delete(ctx, "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatalf("the session did not survive the wait: %v", err)
	}
}

// With IDLE, new mail wakes the wait at once, long before the poll.
func TestIdleWakesOnDelivery(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit})
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	defer b.Close(ctx)
	time.AfterFunc(150*time.Millisecond, func() { ts.deliver(t, "INBOX", probeMsg("inst.idle", "probe"), time.Now()) })
	q := query("inst.idle")
	q.Poll = time.Hour
	start := time.Now()
	s, err := b.Wait(ctx, q)
	if err != nil || !s.Found || !s.Idle || s.Polls != 2 {
		t.Fatalf("sighting %+v, %v", s, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("found after %v", took)
	}
	if !strings.Contains(ts.log.String(), " IDLE\r\n") {
		t.Error("no IDLE sent")
	}
}

// Without IDLE: NOOP and SEARCH every poll interval.
func TestNoIdlePolls(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit, noIdle: true})
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	defer b.Close(ctx)
	time.AfterFunc(180*time.Millisecond, func() { ts.deliver(t, "INBOX", probeMsg("inst.poll", "probe"), time.Now()) })
	s, err := b.Wait(ctx, query("inst.poll"))
	if err != nil || !s.Found || s.Idle || s.Polls < 3 {
		t.Fatalf("sighting %+v, %v", s, err)
	}
	log := ts.log.String()
	if strings.Contains(log, " IDLE\r\n") || !strings.Contains(log, " NOOP\r\n") {
		t.Errorf("IDLE sent or no NOOP:\n%s", log)
	}
}

// bareExpunge is an EXPUNGE command that is not UID EXPUNGE.
var bareExpunge = regexp.MustCompile(`(?m)^T\d+ EXPUNGE\r?$`)

// Without UIDPLUS: MOVE to the \Trash folder where MOVE is offered, else
// flag only; never a bare EXPUNGE, so the message someone else flagged
// \Deleted stays.
func TestCleanupWithoutUIDPlus(t *testing.T) {
	for _, tc := range []struct {
		name  string
		caps  []imap.Cap
		how   Removal
		inbox []string
		trash []string
	}{
		{"move", []imap.Cap{imap.CapMove}, MovedToTrash,
			[]string{"subject theirs (deleted)", "subject unrelated"}, []string{"inst.a"}},
		{"flag", []imap.Cap{imap.CapNamespace}, FlaggedOnly,
			[]string{"subject theirs (deleted)", "inst.a (deleted)", "subject unrelated"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newServer(t, serverOpts{mode: probe.TLSImplicit, caps: tc.caps, folders: []string{"Deleted Items"},
				special: map[string]imap.MailboxAttr{"Deleted Items": imap.MailboxAttrTrash}})
			ts.deliver(t, "INBOX", plainMsg("theirs"), time.Now(), imap.FlagDeleted)
			ts.deliver(t, "INBOX", probeMsg("inst.a", "probe"), time.Now())
			ts.deliver(t, "INBOX", plainMsg("unrelated"), time.Now())
			ctx := testCtx(t, 10*time.Second)
			b := dialLogin(t, ctx, ts, probe.TLSImplicit)
			s, err := b.Wait(ctx, query("inst.a"))
			if err != nil || !s.Found {
				t.Fatalf("sighting %+v, %v", s, err)
			}
			c, err := b.Delete(ctx, s.Folder, s.UIDs)
			if err != nil {
				t.Fatal(err)
			}
			if c.How != tc.how || (tc.how == MovedToTrash && c.Trash != "Deleted Items") {
				t.Errorf("cleanup %+v, want %v", c, tc.how)
			}
			b.Close(ctx)
			if got := ts.contents(t, "INBOX"); !slices.Equal(got, tc.inbox) {
				t.Errorf("INBOX holds %q, want %q", got, tc.inbox)
			}
			if got := ts.contents(t, "Deleted Items"); !slices.Equal(got, tc.trash) {
				t.Errorf("Trash holds %q, want %q", got, tc.trash)
			}
			if bareExpunge.MatchString(ts.log.String()) {
				t.Errorf("a bare EXPUNGE was sent:\n%s", ts.log)
			}
		})
	}
}

// Stale probes: only this instance's ("inst." exactly), only those old
// enough, never one someone else flagged \Deleted, never other mail.
func TestStaleCleanup(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit})
	old, now := time.Now().Add(-48*time.Hour), time.Now()
	// Random parts as check_smtp_delivery writes them: 22 characters of
	// unpadded URL-safe base64.
	r := func(i int) string { return strings.Repeat("A", 21) + string("AQgw"[i]) }
	ts.deliver(t, "INBOX", probeMsg("inst."+r(0), "ours, old"), old)
	ts.deliver(t, "INBOX", probeMsg("inst."+r(1), "ours, fresh"), now)
	ts.deliver(t, "INBOX", probeMsg("other."+r(0), "other instance"), old)
	ts.deliver(t, "INBOX", probeMsg("xinst."+r(0), "instance name containing ours"), old)
	ts.deliver(t, "INBOX", probeMsg("inst.b."+r(0), "instance inst.b, whose name starts with ours"), old)
	ts.deliver(t, "INBOX", probeMsg("inst.forged", "not a token we write"), old)
	ts.deliver(t, "INBOX", probeMsg("inst."+r(2), "ours, flagged by someone"), old, imap.FlagDeleted)
	ts.deliver(t, "INBOX", plainMsg("inst. in the subject only"), old)
	ts.deliver(t, "INBOX", probeMsg("inst."+r(3), "ours, old"), old)
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	stale, err := b.Stale(ctx, "INBOX", probeField, "inst", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var toks []string
	for _, p := range stale {
		toks = append(toks, p.Token)
	}
	if !slices.Equal(toks, []string{"inst." + r(0), "inst." + r(3)}) {
		t.Fatalf("stale %q", toks)
	}
	c, err := b.Delete(ctx, "INBOX", UIDs(stale))
	if err != nil || c.How != Expunged {
		t.Fatalf("cleanup %+v, %v", c, err)
	}
	b.Close(ctx)
	want := []string{"inst." + r(1), "other." + r(0), "xinst." + r(0), "inst.b." + r(0), "inst.forged", "inst." + r(2) + " (deleted)", "subject inst. in the subject only"}
	if got := ts.contents(t, "INBOX"); !slices.Equal(got, want) {
		t.Errorf("INBOX holds %q, want %q", got, want)
	}
	if bareExpunge.MatchString(ts.log.String()) {
		t.Error("a bare EXPUNGE was sent")
	}
}

// STARTTLS on 143, verified against the CA.
func TestStartTLS(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSStartTLS})
	ts.deliver(t, "INBOX", probeMsg("inst.stls", "probe"), time.Now())
	ctx := testCtx(t, 10*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSStartTLS)
	defer b.Close(ctx)
	if b.TLS == nil || b.VerifyErr != nil {
		t.Fatalf("TLS %v, VerifyErr %v", b.TLS != nil, b.VerifyErr)
	}
	if _, ok := b.Duration(PhaseStartTLS); !ok {
		t.Error("STARTTLS not timed")
	}
	if s, err := b.Find(ctx, query("inst.stls")); err != nil || !s.Found {
		t.Fatalf("sighting %+v, %v", s, err)
	}
}

// The wrong password: the server's refusal, with its code, as a reply
// failure in the login phase.
func TestLoginRefused(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit})
	ctx := testCtx(t, 10*time.Second)
	b, err := Dial(ctx, Config{Target: ts.target(t, probe.TLSImplicit)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	err = b.Login(ctx, sasl.Credentials{User: testUser, Password: "wrong-password"}, "", false)
	e := AsError(err)
	if e == nil || e.Phase != PhaseLogin || e.Kind != probe.KindReply || e.Status != "NO" || e.Code != "AUTHENTICATIONFAILED" || e.Text == "" {
		t.Fatalf("login error %#v", e)
	}
	if e.Probe().Phase != PhaseLogin {
		t.Error("Probe() lost the phase")
	}
	// AUTHENTICATE PLAIN was used (offered), the LOGIN command as fallback only.
	if !strings.Contains(ts.log.String(), "AUTHENTICATE PLAIN") {
		t.Errorf("no AUTHENTICATE PLAIN:\n%s", ts.log)
	}
}

// Credentials are withheld over plaintext unless allowed, and over TLS
// whose certificate does not verify unless Insecure; nothing is sent.
func TestCredentialsWithheld(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	creds := sasl.Credentials{User: testUser, Password: testPass}

	plain := newServer(t, serverOpts{mode: probe.TLSNone})
	b, err := Dial(ctx, Config{Target: plain.target(t, probe.TLSNone)})
	if err != nil {
		t.Fatal(err)
	}
	e := AsError(b.Login(ctx, creds, "", false))
	if e == nil || e.Refused != RefuseNoTLS || e.Kind != probe.KindUsage {
		t.Fatalf("plaintext: %#v", e)
	}
	if err := b.Login(ctx, creds, "", true); err != nil {
		t.Fatalf("plaintext allowed: %v", err)
	}
	b.Close(ctx)

	tls := newServer(t, serverOpts{mode: probe.TLSImplicit})
	tgt := tls.target(t, probe.TLSImplicit)
	tgt.VerifyName = "other.example.test"
	b, err = Dial(ctx, Config{Target: tgt})
	if err != nil {
		t.Fatal(err)
	}
	e = AsError(b.Login(ctx, creds, "", false))
	if e == nil || e.Refused != RefuseUnverified || e.Kind != probe.KindTLS || !errors.Is(e, b.VerifyErr) {
		t.Fatalf("unverified: %#v", e)
	}
	b.Close(ctx)
	if strings.Contains(plain.log.String()+tls.log.String(), testPass) || strings.Count(plain.log.String(), "AUTHENTICATE") != 1 {
		t.Error("credentials sent where they should not have been")
	}

	tgt.Insecure = true
	b, err = Dial(ctx, Config{Target: tgt})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if b.VerifyErr != nil || b.CertErr == nil {
		t.Errorf("Insecure: VerifyErr %v, CertErr %v", b.VerifyErr, b.CertErr)
	}
	if err := b.Login(ctx, creds, "", false); err != nil {
		t.Fatalf("Insecure: %v", err)
	}
}

// Server text that echoes a secret (here an XOAUTH2 token) leaves the
// package redacted, and the token was registered before it was sent.
func TestRefusalTextRedacted(t *testing.T) {
	const token = "ya29.token-for-imap-0123456789"
	srv := startScript(t, func(c scriptConn) {
		c.Send("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=OAUTHBEARER SASL-IR] ready")
		line, _ := c.ReadLine()
		tag, _, _ := strings.Cut(line, " ")
		ir := line[strings.LastIndex(line, " ")+1:] // the initial response, base64
		c.Send(tag + " NO [AUTHENTICATIONFAILED] token " + token + " rejected for user " + testUser + " (" + ir + ")")
		if line, err := c.ReadLine(); err == nil { // LOGOUT
			tag, _, _ = strings.Cut(line, " ")
			c.Send("* BYE bye", tag+" OK done")
		}
	})
	ctx := testCtx(t, 10*time.Second)
	set := &redact.Set{}
	b, err := Dial(ctx, Config{Target: probe.Target{Host: "127.0.0.1", Port: srv.Port}, Redact: set})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	e := AsError(b.Login(ctx, sasl.Credentials{User: testUser, Token: token}, "", true))
	if e == nil || e.Kind != probe.KindReply || e.Code != "AUTHENTICATIONFAILED" {
		t.Fatalf("login error %#v", e)
	}
	want := "token <redacted> rejected for user " + testUser + " (<redacted>)"
	if e.Text != want || strings.Contains(e.Error(), token) {
		t.Errorf("text %q, error %q; want text %q", e.Text, e.Error(), want)
	}
	if !strings.Contains(srv.Lines(), "AUTHENTICATE XOAUTH2 ") {
		t.Errorf("XOAUTH2 not chosen: %q", srv.Lines())
	}
}

// A server that accepts and never answers ends at the deadline, as a
// timeout of the phase it hung in: the greeting, or a search.
func TestStalledServer(t *testing.T) {
	t.Run("greeting", func(t *testing.T) {
		srv := startScript(t, func(c scriptConn) { c.Hang() })
		ctx := testCtx(t, 300*time.Millisecond)
		start := time.Now()
		_, err := Dial(ctx, Config{Target: probe.Target{Host: "127.0.0.1", Port: srv.Port}})
		if e := AsError(err); e == nil || e.Phase != PhaseGreeting || e.Kind != probe.KindTimeout {
			t.Fatalf("error %#v", e)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %v for a 300ms deadline", took)
		}
	})
	t.Run("search", func(t *testing.T) {
		srv := hostile(t, func(c scriptConn, tag, cmd string) bool { // SEARCH: never answered
			c.Hang()
			return false
		})
		ctx := testCtx(t, 400*time.Millisecond)
		b, err := Dial(ctx, Config{Target: probe.Target{Host: "127.0.0.1", Port: srv.Port}})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Login(ctx, sasl.Credentials{User: testUser, Password: testPass}, "", true); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = b.Wait(ctx, query("inst.x"))
		if e := AsError(err); e == nil || e.Phase != PhaseSearch || e.Kind != probe.KindTimeout {
			t.Fatalf("error %#v", e)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %v for a 400ms deadline", took)
		}
		b.Close(ctx)
	})
}

// A session whose context is cancelled (no deadline: only the close on
// cancel ends the read) ends at once, as a timeout.
func TestCancelledSession(t *testing.T) {
	srv := startScript(t, func(c scriptConn) { c.Hang() })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := Dial(ctx, Config{Target: probe.Target{Host: "127.0.0.1", Port: srv.Port}})
	if e := AsError(err); e == nil || e.Phase != PhaseGreeting || e.Kind != probe.KindTimeout || !errors.Is(e, context.Canceled) {
		t.Fatalf("error %#v", e)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
}

// go-imap's own deadlines (30 s, or none while idle) never reach past the
// session's.
func TestBoundConn(t *testing.T) {
	dl := time.Now().Add(time.Second)
	c := &boundConn{deadline: dl}
	for _, tc := range []struct{ in, want time.Time }{
		{time.Time{}, dl},
		{dl.Add(30 * time.Second), dl},
		{dl.Add(-time.Millisecond), dl.Add(-time.Millisecond)},
	} {
		if got := c.bound(tc.in); !got.Equal(tc.want) {
			t.Errorf("bound(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := (&boundConn{}).bound(time.Time{}); !got.IsZero() {
		t.Errorf("no session deadline: %v", got)
	}
}

// Without AUTH=PLAIN the LOGIN command carries the password, registered
// before it is sent; with LOGINDISABLED too nothing is sent.
func TestLoginCommand(t *testing.T) {
	srv := startScript(t, func(c scriptConn) {
		c.Send("* OK [CAPABILITY IMAP4rev1] ready")
		line, _ := c.ReadLine()
		tag, _, _ := strings.Cut(line, " ")
		c.Send(tag + " NO [AUTHENTICATIONFAILED] no such user or password " + testPass)
		if line, err := c.ReadLine(); err == nil {
			tag, _, _ = strings.Cut(line, " ")
			c.Send("* BYE bye", tag+" OK done")
		}
	})
	ctx := testCtx(t, 10*time.Second)
	b, err := Dial(ctx, Config{Target: probe.Target{Host: "127.0.0.1", Port: srv.Port}})
	if err != nil {
		t.Fatal(err)
	}
	e := AsError(b.Login(ctx, sasl.Credentials{User: testUser, Password: testPass}, "", true))
	if e == nil || e.Code != "AUTHENTICATIONFAILED" || e.Text != "no such user or password <redacted>" {
		t.Fatalf("error %#v", e)
	}
	b.Close(ctx)
	if want := `T1 LOGIN "` + testUser + `" "` + testPass + `"`; !strings.HasPrefix(srv.Lines(), want) {
		t.Errorf("sent %q, want %q first", srv.Lines(), want)
	}

	off := startScript(t, func(c scriptConn) {
		c.Send("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready")
		c.Hang()
	})
	b, err = Dial(ctx, Config{Target: probe.Target{Host: "127.0.0.1", Port: off.Port}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.abort()
	e = AsError(b.Login(ctx, sasl.Credentials{User: testUser, Password: testPass}, "", true))
	if e == nil || e.Refused != RefuseNoMech {
		t.Fatalf("LOGINDISABLED: %#v", e)
	}
	if off.Lines() != "" {
		t.Errorf("sent %q", off.Lines())
	}
}

// IMAPS against a plaintext port: a TLS failure of the imap_tls phase.
func TestTLSHandshakeFails(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSNone})
	ctx := testCtx(t, 10*time.Second)
	_, err := Dial(ctx, Config{Target: ts.target(t, probe.TLSImplicit)})
	if e := AsError(err); e == nil || e.Phase != PhaseTLS || e.Kind != probe.KindTLS {
		t.Fatalf("error %#v", e)
	}
}

// TestFoundOnlyExact: UID SEARCH HEADER matches substrings (and a lying
// server may answer with any UIDs): only a message whose header carries
// exactly the token is found, and so deleted later.
func TestFoundOnlyExact(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit})
	ts.deliver(t, "INBOX", probeMsg("inst.tok-and-more", "longer token"), time.Now())
	ts.deliver(t, "INBOX", probeMsg("not-inst.tok", "token inside another"), time.Now())
	ts.deliver(t, "INBOX", probeMsg("inst.tok", "ours"), time.Now())
	ctx := testCtx(t, 5*time.Second)
	b := dialLogin(t, ctx, ts, probe.TLSImplicit)
	defer b.Close(ctx)
	s, err := b.Find(ctx, query("inst.tok"))
	if err != nil || !s.Found || !slices.Equal(s.UIDs, []UID{3}) {
		t.Fatalf("sighting %+v, %v: want UID 3 alone", s, err)
	}
}

// With Quick, the first rounds poll at short pauses, even where IDLE is
// offered: mail that arrives soon is found without waiting for the
// server's IDLE update; they search the Junk folder too, every
// quickJunk-th round.
func TestQuickRounds(t *testing.T) {
	for _, folder := range []string{"INBOX", "Spam"} {
		ts := newServer(t, serverOpts{mode: probe.TLSImplicit, folders: []string{"Spam"}, special: map[string]imap.MailboxAttr{"Spam": imap.MailboxAttrJunk}})
		ctx := testCtx(t, 10*time.Second)
		b := dialLogin(t, ctx, ts, probe.TLSImplicit)
		time.AfterFunc(100*time.Millisecond, func() { ts.deliver(t, folder, probeMsg("inst.quick", "probe"), time.Now()) })
		q := query("inst.quick")
		q.Poll, q.Quick = time.Hour, 10*time.Millisecond
		s, err := b.Wait(ctx, q)
		b.Close(ctx)
		if err != nil || !s.Found || s.Folder != folder || s.Polls < 3 {
			t.Fatalf("%s: sighting %+v, %v", folder, s, err)
		}
		log := ts.log.String()
		examined := strings.Count(log, ` EXAMINE "Spam"`) + strings.Count(log, " EXAMINE Spam")
		if strings.Contains(log, " IDLE\r\n") || !strings.Contains(log, " NOOP\r\n") || examined == 0 || examined > (s.Polls+quickJunk-1)/quickJunk {
			t.Errorf("%s: %d rounds, Spam examined %d times, IDLE sent or no NOOP:\n%s", folder, s.Polls, examined, log)
		}
	}
}
