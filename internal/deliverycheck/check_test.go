package deliverycheck

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

const (
	smtpUser = "sender@example.test"
	smtpPass = "Smtp-S3cret-pass"
	imapUser = "monitor@example.test"
	imapPass = `Imap-S3cret"pa\ss`
)

// lab is an SMTP server feeding an IMAP server, both on loopback with
// certificates of one test CA.
type lab struct {
	smtp   *smtptest.Server
	imap   *smtptest.IMAPServer
	caFile string
	state  string // --state-dir

	mu      sync.Mutex
	fed     int    // messages of smtp handed to imap
	folder  string // where they go: "INBOX", "Junk"; "" discards them
	headers string // header lines the delivery adds, above its Received hop
	stopped chan struct{}
}

type labOpts struct {
	smtp smtptest.Config
	imap smtptest.IMAPConfig
}

func newLab(t *testing.T, o labOpts) *lab {
	t.Helper()
	ca := smtptest.MustNewCA(t, "deliverycheck test CA")
	cert := ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mail.example.test"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	l := &lab{caFile: filepath.Join(t.TempDir(), "ca.pem"), state: filepath.Join(t.TempDir(), "state"), folder: "INBOX", stopped: make(chan struct{})}
	if err := ca.WriteCAFile(l.caFile); err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	o.smtp.TLS = tlsCfg
	if o.smtp.Users == nil {
		o.smtp.Users = map[string]string{smtpUser: smtpPass}
	}
	l.smtp = smtptest.MustStart(t, o.smtp)
	o.imap.User, o.imap.Password, o.imap.TLS, o.imap.Implicit = imapUser, imapPass, tlsCfg, true
	if o.imap.Special == nil {
		o.imap.Folders, o.imap.Special = []string{"Junk", "Trash"}, map[string]imap.MailboxAttr{"Junk": imap.MailboxAttrJunk, "Trash": imap.MailboxAttrTrash}
	}
	l.imap = smtptest.StartIMAP(t, o.imap)
	go l.feed(t)
	t.Cleanup(func() { close(l.stopped) })
	return l
}

// feed delivers what the SMTP server accepts into the IMAP store, as an
// MTA and its LDA would, adding a Received hop.
func (l *lab) feed(t *testing.T) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-l.stopped:
			return
		case <-tick.C:
		}
		msgs := l.smtp.Messages()
		l.mu.Lock()
		for ; l.fed < len(msgs); l.fed++ {
			if l.folder == "" {
				continue
			}
			hop := l.headers + "Received: from client by mail.example.test with ESMTPS id Q1; " + time.Now().Format(time.RFC1123Z) + "\r\n"
			l.imap.Deliver(t, l.folder, append([]byte(hop), msgs[l.fed].Data...), time.Now())
		}
		l.mu.Unlock()
	}
}

func (l *lab) setFolder(f string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.folder = f
}

// args are a working command line against the lab.
func (l *lab) args(extra ...string) []string {
	return append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(l.smtp.Port), "--verify-name", "mail.example.test", "--ca-file", l.caFile,
		"--user", smtpUser, "--password-ref", "env:DL_SMTP_PASS",
		"--imap-port", strconv.Itoa(l.imap.Port), "--imap-user", imapUser, "--imap-password-ref", "env:DL_IMAP_PASS",
		"--from", smtpUser, "--to", imapUser, "--state-dir", l.state, "--instance", "test-inst", "--poll-interval", "0.1", "-t", "5"}, extra...)
}

func run(t *testing.T, args ...string) plugintest.Outcome {
	t.Helper()
	t.Setenv("DL_SMTP_PASS", smtpPass)
	t.Setenv("DL_IMAP_PASS", imapPass)
	return runEnv(t, args...)
}

// runEnv runs the plugin with the environment as the test set it.
func runEnv(t *testing.T, args ...string) plugintest.Outcome {
	t.Helper()
	return plugintest.Run(t, Name, Service, &Options{}, Check, args...)
}

// contents lists the X-Smtpcheck-Probe values in folder (or "subject S"
// for other messages), with " (deleted)" for those flagged \Deleted.
func (l *lab) contents(t *testing.T, folder string) []string {
	t.Helper()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(l.imap.Port), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sel.NumMessages == 0 {
		return nil
	}
	sect := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{sect}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		h := string(m.BodySection[0].Bytes)
		s := "subject " + field(h, "Subject")
		if v := field(h, ProbeHeader); v != "" {
			s = v
		}
		if slices.Contains(m.Flags, imap.FlagDeleted) {
			s += " (deleted)"
		}
		out = append(out, s)
	}
	return out
}

func field(h, name string) string {
	for _, line := range strings.Split(h, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func probeOf(token string) []byte {
	return []byte(ProbeHeader + ": " + token + "\nSubject: someone's probe\n\nx\n")
}

// TestRoundTrip: submitted with AUTH over STARTTLS, found over IMAPS,
// deleted; an unrelated message, another instance's probe, a young probe
// of this instance not in the state and a message flagged \Deleted by
// someone else are all left as they were.
func TestRoundTrip(t *testing.T) {
	l := newLab(t, labOpts{smtp: smtptest.Config{AuthRequiresTLS: true, RequireAuth: true}})
	old := time.Now().Add(-time.Minute)
	l.imap.Deliver(t, "INBOX", []byte("Subject: hello\n\nunrelated\n"), old)
	l.imap.Deliver(t, "INBOX", probeOf("test-inst-other.AAAAAAAAAAAAAAAAAAAAAA"), old.Add(-2*time.Hour))
	l.imap.Deliver(t, "INBOX", probeOf("test-inst.BBBBBBBBBBBBBBBBBBBBBB"), old)
	l.imap.Deliver(t, "INBOX", []byte("Subject: theirs\n\nflagged by someone else\n"), old, imap.FlagDeleted)
	out := run(t, l.args("-w", "3", "-c", "4")...)
	out.Expect(t, 0, "SMTP DELIVERY OK - probe delivered to INBOX in T s (submitted in T s), queue id none")
	out.Contains(t, "found: INBOX UID 5 after", "cleanup: UID 5 deleted from INBOX (UID EXPUNGE)",
		"received (server clocks): hop 1 by mail.example.test at ", "'delay'=", "s;3;4;0;", "'polls'=", "'imap_login'=", "'submit'=")
	want := []string{"subject hello", "test-inst-other.AAAAAAAAAAAAAAAAAAAAAA", "test-inst.BBBBBBBBBBBBBBBBBBBBBB", "subject theirs (deleted)"}
	if got := l.contents(t, "INBOX"); !slices.Equal(got, want) {
		t.Errorf("INBOX after the run:\n got %q\nwant %q", got, want)
	}
	if _, err := os.Stat(statePath(l.state, "test-inst")); !os.IsNotExist(err) {
		t.Errorf("state file left with nothing pending: %v", err)
	}
}

// TestDiscardedThenLate: a server that accepts and discards gives
// CRITICAL at the deadline, not later; the probe is kept pending, and
// when it arrives during the next run that run reports it late and
// deletes it.
func TestDiscardedThenLate(t *testing.T) {
	l := newLab(t, labOpts{})
	l.setFolder("")
	out := run(t, l.args("-t", "2")...)
	out.Within(t, 2*time.Second)
	out.Expect(t, 2, `SMTP DELIVERY CRITICAL - probe not found in INBOX or "Junk" within T s; queue id none`)
	out.Contains(t, "stays pending: a later run reports it as late")
	b, err := os.ReadFile(statePath(l.state, "test-inst"))
	if err != nil || !strings.Contains(string(b), `"token":"test-inst.`) {
		t.Fatalf("state file: %v %s", err, b)
	}
	if st, _ := os.Stat(statePath(l.state, "test-inst")); st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v", st.Mode())
	}
	// The lost probe turns up late; the next run's own one arrives at once.
	msgs := l.smtp.Messages()
	l.imap.Deliver(t, "INBOX", msgs[0].Data, time.Now())
	l.setFolder("INBOX")
	out = run(t, l.args()...)
	out.Expect(t, 0, "SMTP DELIVERY OK - probe delivered to INBOX in T s (submitted in T s), queue id none")
	out.Contains(t, "late: probe test-inst.", "found in INBOX after")
	if got := l.contents(t, "INBOX"); len(got) != 0 {
		t.Errorf("INBOX after the late run: %q", got)
	}
	if _, err := os.Stat(statePath(l.state, "test-inst")); !os.IsNotExist(err) {
		t.Errorf("state file left: %v", err)
	}
}

// TestLostForgotten: a pending probe older than --stale-age that never
// arrives is said lost once and forgotten.
func TestLostForgotten(t *testing.T) {
	l := newLab(t, labOpts{})
	if err := prepareDir(l.state); err != nil {
		t.Fatal(err)
	}
	old := Pending{Token: "test-inst.CCCCCCCCCCCCCCCCCCCCCC", Sent: time.Now().Add(-2 * time.Hour)}
	if err := saveState(t.Context(), l.state, "test-inst", nil, []Pending{old}); err != nil {
		t.Fatal(err)
	}
	out := run(t, l.args()...)
	out.Expect(t, 0, "SMTP DELIVERY OK - probe delivered to INBOX in T s (submitted in T s), queue id none")
	out.Contains(t, "lost: probe test-inst.CCCCCCCCCCCCCCCCCCCCCC sent ", "was not seen within --stale-age 1h0m0s; forgotten")
	out = run(t, l.args()...)
	if strings.Contains(out.Out, "lost:") {
		t.Errorf("lost said twice:\n%s", out.Out)
	}
}

// TestStaleRemoved: a probe of this instance older than --stale-age is
// removed; a younger one is not.
func TestStaleRemoved(t *testing.T) {
	l := newLab(t, labOpts{})
	l.imap.Deliver(t, "INBOX", probeOf("test-inst.DDDDDDDDDDDDDDDDDDDDDD"), time.Now().Add(-3*time.Hour))
	l.imap.Deliver(t, "INBOX", probeOf("test-inst.EEEEEEEEEEEEEEEEEEEEEE"), time.Now().Add(-10*time.Minute))
	out := run(t, l.args()...)
	out.Expect(t, 0, "SMTP DELIVERY OK - probe delivered to INBOX in T s (submitted in T s), queue id none")
	out.Contains(t, "stale: 1 probes of this instance older than --stale-age 1h0m0s removed")
	if got := l.contents(t, "INBOX"); !slices.Equal(got, []string{"test-inst.EEEEEEEEEEEEEEEEEEEEEE"}) {
		t.Errorf("INBOX: %q", got)
	}
}

// TestFoundInJunk: WARNING, naming the folder.
func TestFoundInJunk(t *testing.T) {
	l := newLab(t, labOpts{})
	l.setFolder("Junk")
	out := run(t, l.args()...)
	out.Expect(t, 1, `SMTP DELIVERY WARNING - probe delivered to the Junk folder "Junk", not INBOX, in T s; queue id none`)
	out.Contains(t, "cleanup: UID 1 deleted from Junk (UID EXPUNGE)")
	if got := l.contents(t, "Junk"); len(got) != 0 {
		t.Errorf("Junk: %q", got)
	}
}

// TestNoUIDPlusNoIdle: without IDLE the mailbox is polled; without
// UIDPLUS and MOVE the probe is left flagged, and the output says so
// (the state stays OK; no bare EXPUNGE).
func TestNoUIDPlusNoIdle(t *testing.T) {
	l := newLab(t, labOpts{imap: smtptest.IMAPConfig{Caps: []imap.Cap{}, NoIdle: true}})
	l.imap.Deliver(t, "INBOX", []byte("Subject: theirs\n\nflagged\n"), time.Now(), imap.FlagDeleted)
	out := run(t, l.args()...)
	out.Expect(t, 0, "SMTP DELIVERY OK - probe delivered to INBOX in T s (submitted in T s), queue id none")
	out.Contains(t, "cleanup: UID 2 left in INBOX flagged \\Deleted: the server offers neither UIDPLUS nor MOVE")
	if strings.Contains(l.imap.Log.String(), " EXPUNGE\r\n") || strings.Contains(l.imap.Log.String(), " IDLE\r\n") {
		t.Errorf("EXPUNGE or IDLE sent:\n%s", l.imap.Log)
	}
	got := l.contents(t, "INBOX")
	if len(got) != 2 || got[0] != "subject theirs (deleted)" || !strings.HasSuffix(got[1], " (deleted)") {
		t.Errorf("INBOX: %q", got)
	}
}

// TestRefusals: the SMTP transaction's refusals and the IMAP login's, each
// with its phase, the server's words and the state table's state.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name   string
		smtp   smtptest.Config
		args   []string
		code   int
		status string
	}{
		{"sender", smtptest.Config{RejectMail: &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Sender not owned by user"}}, nil,
			2, `SMTP DELIVERY CRITICAL - mail: "553 5.7.1 Sender not owned by user" (127.0.0.1:PORT)`},
		{"recipient", smtptest.Config{RejectRcpt: map[string]*gosmtp.SMTPError{imapUser: {Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "User unknown"}}}, nil,
			2, `SMTP DELIVERY CRITICAL - rcpt: "550 5.1.1 User unknown" (127.0.0.1:PORT)`},
		{"452", smtptest.Config{RejectRcpt: map[string]*gosmtp.SMTPError{imapUser: {Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}}}, nil,
			1, `SMTP DELIVERY WARNING - rcpt: "452 4.2.2 Mailbox full" (127.0.0.1:PORT)`},
		{"imap login", smtptest.Config{}, []string{"--imap-user", "nobody@example.test"},
			2, `SMTP DELIVERY CRITICAL - imap_login: NO [AUTHENTICATIONFAILED] Authentication failed (IMAP 127.0.0.1:PORT) - check the IMAP user and password (--imap-user, --imap-password-ref, or --user and --password-ref for both)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLab(t, labOpts{smtp: c.smtp})
			out := run(t, l.args(c.args...)...)
			status := strings.NewReplacer(":"+strconv.Itoa(l.smtp.Port)+")", ":PORT)", ":"+strconv.Itoa(l.imap.Port)+")", ":PORT)").Replace(out.Status())
			if out.Code != c.code || !strings.HasPrefix(status, c.status) {
				t.Errorf("got %d %q\nwant %d %q\n%s", out.Code, status, c.code, c.status, out.Out)
			}
		})
	}
}

// TestRejectedAfterDot: 554 to the message's end, from a scripted server.
func TestRejectedAfterDot(t *testing.T) {
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		_ = c.Greet()
		_ = c.EHLO("PIPELINING")
		_, _ = c.Expect("MAIL FROM")
		_, _ = c.Expect("RCPT TO")
		_, _ = c.Expect("DATA")
		_ = c.Send("250 2.1.0 Ok", "250 2.1.5 Ok", "354 go ahead")
		for {
			line, err := c.ReadLine()
			if err != nil || line == "." {
				break
			}
		}
		_ = c.Send("554 5.7.1 Message rejected as spam")
		_, _ = c.Expect("QUIT")
		_ = c.Send("221 bye")
	})
	_, port, _ := net.SplitHostPort(srv.Addr)
	out := run(t, "-H", "127.0.0.1", "-p", port, "--no-tls", "--from", smtpUser, "--to", imapUser, "--send-only", "-t", "3")
	out.Expect(t, 2, `SMTP DELIVERY CRITICAL - message: "554 5.7.1 Message rejected as spam" (127.0.0.1:`+port+`) - the server rejected the message by policy (spam or content filter): look at its log for the reason`)
}

// TestSendOnly: no IMAP, no state file.
func TestSendOnly(t *testing.T) {
	l := newLab(t, labOpts{})
	out := run(t, "-H", "127.0.0.1", "-p", strconv.Itoa(l.smtp.Port), "--verify-name", "mail.example.test", "--ca-file", l.caFile,
		"--user", smtpUser, "--password-ref", "env:DL_SMTP_PASS", "--from", smtpUser, "--to", imapUser, "--send-only", "--state-dir", l.state)
	out.Expect(t, 0, "SMTP DELIVERY OK - probe accepted by 127.0.0.1:"+strconv.Itoa(l.smtp.Port)+" in T s, queue id none (--send-only: not looked for)")
	if _, err := os.Stat(l.state); !os.IsNotExist(err) {
		t.Errorf("--send-only touched the state dir: %v", err)
	}
}

// TestStateDirRefused: a state directory others may write to is refused
// before anything is sent: UNKNOWN.
func TestStateDirRefused(t *testing.T) {
	l := newLab(t, labOpts{})
	if err := os.MkdirAll(l.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(l.state, 0o777); err != nil {
		t.Fatal(err)
	}
	out := run(t, l.args()...)
	out.Expect(t, 3, "SMTP DELIVERY UNKNOWN - state: --state-dir "+l.state+" is writable by group or others (mode 0777): chmod 700 it, or give another --state-dir")
	if n := len(l.smtp.Messages()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
}

// TestUsage: what cannot run is UNKNOWN before anything is dialled.
func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "a@b"}, "SMTP DELIVERY UNKNOWN - give the probe's --from and --to (or --imap-only to send nothing)"},
		{[]string{"--from", "a@b", "--to", "a@b", "--send-only", "--imap-only"}, "SMTP DELIVERY UNKNOWN - --send-only and --imap-only exclude each other"},
		{[]string{"--from", "a@b", "--to", "a@b"}, "SMTP DELIVERY UNKNOWN - no IMAP credentials: give --imap-user and --imap-password-ref (or --user and --password-ref for both servers), or --send-only"},
		{[]string{"--from", "a@b", "--to", "a@b", "--send-only", "--imap-port", "143"}, "SMTP DELIVERY UNKNOWN - --imap-port and --send-only exclude each other: --send-only does not look for the probe"},
		{[]string{"--from", "a@b", "--to", "a@b", "--send-only", "--instance", "a b"}, `SMTP DELIVERY UNKNOWN - probe instance "a b": use 1 to 64 letters, digits, '-', '_' and inner dots`},
	} {
		out := run(t, append([]string{"-H", "127.0.0.1", "-p", "1"}, c.args...)...)
		out.Expect(t, 3, c.want+" (see check_smtp_delivery --help)")
	}
}

// TestDefaults: -t is 50 s (below the engines' 60 s), the instance is
// stable per definition and differs between definitions, the state lives
// under $XDG_STATE_HOME for a non-root user.
func TestDefaults(t *testing.T) {
	parse := func(args ...string) *Options {
		t.Helper()
		o := &Options{}
		if _, _, err := plugin.Parse(t.Context(), Name, args, o); err != nil {
			t.Fatal(err)
		}
		if err := o.Validate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return o
	}
	t.Setenv("XDG_STATE_HOME", "/srv/state")
	base := []string{"-H", "mail.example.test", "--user", "m@example.test", "--password-ref", "env:X"}
	a, b := parse(base...), parse(base...)
	c := parse(append(base, "--to", "other@example.test")...)
	if a.Timeout.Duration != 50*time.Second || a.Port != 587 || a.IMAP.Port != 993 || a.From != "m@example.test" || !slices.Equal(a.To, []string{"m@example.test"}) {
		t.Errorf("defaults: -t %v, -p %d, --imap-port %d, --from %q, --to %q", a.Timeout.Duration, a.Port, a.IMAP.Port, a.From, a.To)
	}
	if a.Instance != b.Instance || a.Instance == c.Instance || len(a.Instance) != 13 {
		t.Errorf("instances %q %q %q", a.Instance, b.Instance, c.Instance)
	}
	if os.Geteuid() != 0 && a.StateDir != "/srv/state/smtpcheck" || os.Geteuid() == 0 && a.StateDir != "/var/lib/smtpcheck" {
		t.Errorf("--state-dir %q", a.StateDir)
	}
	if o := parse(append(base, "--imap-port", "143")...); o.imapMode != probe.TLSStartTLS {
		t.Errorf("--imap-port 143: mode %v", o.imapMode)
	}
}
