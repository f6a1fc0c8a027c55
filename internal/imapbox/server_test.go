package imapbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

const (
	testUser   = "monitor@example.test"
	testPass   = "S3cret-imap-pass"
	probeField = "X-Smtpcheck-Probe"
)

// serverOpts shape a go-imap in-memory server.
type serverOpts struct {
	mode    probe.TLSMode // TLSImplicit (default in newServer callers), TLSStartTLS or TLSNone
	caps    []imap.Cap    // beside IMAP4rev1; nil: UIDPLUS, MOVE
	noIdle  bool          // strip IDLE from the capabilities
	special map[string]imap.MailboxAttr
	folders []string // created besides INBOX
}

// testServer is an in-memory IMAP server on loopback.
type testServer struct {
	port   int
	user   *imapmemserver.User
	caFile string
	mode   probe.TLSMode
	log    *smtptest.LockedBuffer // everything the server read and wrote
}

func newServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	ca := smtptest.MustNewCA(t, "imapbox test CA")
	cert := ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"imap.example.test"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	ts := &testServer{caFile: filepath.Join(t.TempDir(), "ca.pem"), mode: o.mode}
	if err := ca.WriteCAFile(ts.caFile); err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if o.mode == probe.TLSNone {
		tlsCfg = nil
	}
	srv := smtptest.StartIMAP(t, smtptest.IMAPConfig{User: testUser, Password: testPass, TLS: tlsCfg, Implicit: o.mode == probe.TLSImplicit,
		Caps: o.caps, NoIdle: o.noIdle, Special: o.special, Folders: o.folders})
	ts.port, ts.user, ts.log = srv.Port, srv.User, srv.Log
	return ts
}

// target is the server as the plugin would describe it, verified against
// the test CA.
func (ts *testServer) target(t *testing.T, mode probe.TLSMode) probe.Target {
	t.Helper()
	roots, err := probe.LoadRoots(context.Background(), "--ca-file", ts.caFile)
	if err != nil {
		t.Fatal(err)
	}
	return probe.Target{Host: "127.0.0.1", Port: ts.port, TLS: mode, VerifyName: "imap.example.test", Roots: roots}
}

// deliver stores a message in folder as a mail server would.
func (ts *testServer) deliver(t *testing.T, folder, msg string, date time.Time, flags ...imap.Flag) {
	t.Helper()
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	if _, err := ts.user.Append(folder, bytes.NewReader([]byte(msg)), &imap.AppendOptions{Time: date, Flags: flags}); err != nil {
		t.Fatal(err)
	}
}

// contents lists the probe header values left in folder, with " (deleted)"
// after those flagged \Deleted, and the subjects of the other messages.
func (ts *testServer) contents(t *testing.T, folder string) []string {
	t.Helper()
	b := dialLogin(t, context.Background(), ts, ts.mode)
	defer b.Close(context.Background())
	// The SELECT data, not the client's mailbox state, which go-imap may
	// not have filled in yet.
	data, err := b.c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	sect := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	if data.NumMessages == 0 {
		return nil
	}
	msgs, err := b.c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{sect}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var l []string
	for _, m := range msgs {
		h := parseHeader(m.BodySection[0].Bytes)
		s := h.Get(probeField)
		if s == "" {
			s = "subject " + h.Get("Subject")
		}
		for _, f := range m.Flags {
			if f == imap.FlagDeleted {
				s += " (deleted)"
			}
		}
		l = append(l, s)
	}
	return l
}

// dialLogin opens a session to ts in mode and logs in.
func dialLogin(t *testing.T, ctx context.Context, ts *testServer, mode probe.TLSMode) *Box {
	t.Helper()
	b, err := Dial(ctx, Config{Target: ts.target(t, mode), Redact: &redact.Set{}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if err := b.Login(ctx, sasl.Credentials{User: testUser, Password: testPass}, "", mode == probe.TLSNone); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return b
}

func probeMsg(token, subject string) string {
	return "Received: from mx2.example.test by mx1.example.test; Fri, 4 Dec 2026 08:00:02 +0000\n" +
		"Received: from client.example.test\n by mx2.example.test; Fri, 4 Dec 2026 08:00:01 +0000\n" +
		"Authentication-Results: mx1.example.test; spf=pass smtp.mailfrom=example.test\n" +
		probeField + ": " + token + "\n" +
		"Subject: " + subject + "\n" +
		"Date: Fri, 4 Dec 2026 08:00:00 +0000\n\nprobe body\n"
}

func plainMsg(subject string) string {
	return "Subject: " + subject + "\nDate: Fri, 4 Dec 2026 08:00:00 +0000\n\nhello\n"
}
