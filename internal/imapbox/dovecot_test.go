package imapbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
)

// dovecot is the real Dovecot of .ci/mailserver.sh: skipped without it,
// unless SMTPCHECK_REQUIRE_REAL=1 makes that a failure.
func dovecot(t *testing.T) map[string]string {
	t.Helper()
	if os.Getenv("SMTPCHECK_IMAP") != "1" {
		if os.Getenv("SMTPCHECK_REQUIRE_REAL") == "1" {
			t.Fatal("SMTPCHECK_REQUIRE_REAL=1 but no Dovecot: source the env file of .ci/mailserver.sh start")
		}
		t.Skip("no real Dovecot: run .ci/mailserver.sh start and source its env file")
	}
	env := plugintest.Postfix(t)
	env["IMAP"], env["IMAPS"] = os.Getenv("SMTPCHECK_IMAP_ADDR"), os.Getenv("SMTPCHECK_IMAPS_ADDR")
	return env
}

func realTarget(t *testing.T, env map[string]string, addr string, mode probe.TLSMode) probe.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	roots, err := probe.LoadRoots(context.Background(), "--ca-file", env["CA"])
	if err != nil {
		t.Fatal(err)
	}
	return probe.Target{Host: host, Port: p, TLS: mode, VerifyName: env["HOSTNAME"], Roots: roots}
}

// Log in over IMAPS and over STARTTLS, and search: the real server
// understands what we send.
func TestDovecotLoginAndSearch(t *testing.T) {
	env := dovecot(t)
	for _, tc := range []struct {
		addr string
		mode probe.TLSMode
	}{{env["IMAPS"], probe.TLSImplicit}, {env["IMAP"], probe.TLSStartTLS}} {
		ctx := testCtx(t, 10*time.Second)
		set := &redact.Set{}
		b, err := Dial(ctx, Config{Target: realTarget(t, env, tc.addr, tc.mode), Redact: set})
		if err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		if b.VerifyErr != nil {
			t.Fatalf("%s: certificate: %v", tc.addr, b.VerifyErr)
		}
		if err := b.Login(ctx, sasl.Credentials{User: env["USER"], Password: env["PASSWORD"]}, "", false); err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		if set.Scrub(env["PASSWORD"]) != redact.Redacted {
			t.Error("the password sent was not registered")
		}
		s, err := b.Find(ctx, query("never."+randomToken(t)))
		if err != nil || s.Found || s.Polls != 1 {
			t.Fatalf("%s: sighting %+v, %v", tc.addr, s, err)
		}
		if err := b.Close(ctx); err != nil {
			t.Errorf("%s: %v", tc.addr, err)
		}
	}
}

// A wrong password: Dovecot's refusal comes back as a login reply failure.
func TestDovecotLoginRefused(t *testing.T) {
	env := dovecot(t)
	ctx := testCtx(t, 10*time.Second)
	b, err := Dial(ctx, Config{Target: realTarget(t, env, env["IMAPS"], probe.TLSImplicit)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	e := AsError(b.Login(ctx, sasl.Credentials{User: env["USER"], Password: "wrong-" + env["PASSWORD"]}, "", false))
	if e == nil || e.Phase != PhaseLogin || e.Kind != probe.KindReply || e.Code != "AUTHENTICATIONFAILED" {
		t.Fatalf("error %#v", e)
	}
}

// A message delivered by Postfix on port 25 is found by IDLE, its
// Received hops read, and deleted by UID: the mailbox holds no probe
// afterwards.
func TestDovecotRoundTrip(t *testing.T) {
	env := dovecot(t)
	token := "imapbox-test." + randomToken(t)
	msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: imapbox test %s\r\n%s: %s\r\n\r\nprobe\r\n",
		env["USER"], env["USER"], token, probeField, token)
	send(t, env, msg)
	ctx := testCtx(t, 20*time.Second)
	b, err := Dial(ctx, Config{Target: realTarget(t, env, env["IMAPS"], probe.TLSImplicit)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if err := b.Login(ctx, sasl.Credentials{User: env["USER"], Password: env["PASSWORD"]}, "", false); err != nil {
		t.Fatal(err)
	}
	q := query(token)
	q.Poll = 2 * time.Second
	s, err := b.Wait(ctx, q)
	if err != nil || !s.Found || s.Folder != Inbox || len(s.UIDs) != 1 || !s.Idle {
		t.Fatalf("sighting %+v, %v", s, err)
	}
	m, err := b.Headers(ctx, s.Folder, s.UIDs[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Fields("Received")) == 0 || m.Fields(probeField)[0] != token {
		t.Errorf("Received %q, probe field %q", m.Fields("Received"), m.Fields(probeField))
	}
	c, err := b.Delete(ctx, s.Folder, s.UIDs)
	if err != nil || c.How != Expunged {
		t.Fatalf("cleanup %+v, %v", c, err)
	}
	if s, err := b.Find(ctx, query(token)); err != nil || s.Found {
		t.Fatalf("still there after the cleanup: %+v, %v", s, err)
	}
}

func randomToken(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// send submits msg to Postfix on port 25, unauthenticated, to the local
// mailbox (net/smtp: the SMTP side is not under test here).
func send(t *testing.T, env map[string]string, msg string) {
	t.Helper()
	roots, err := probe.LoadRoots(context.Background(), "--ca-file", env["CA"])
	if err != nil {
		t.Fatal(err)
	}
	pool, err := roots.Pool()
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(env["SMTP"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := func() error {
		if err := c.StartTLS(&tls.Config{ServerName: env["HOSTNAME"], RootCAs: pool}); err != nil {
			return err
		}
		if err := c.Mail(env["USER"]); err != nil {
			return err
		}
		if err := c.Rcpt(env["USER"]); err != nil {
			return err
		}
		d, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := d.Write([]byte(msg)); err != nil {
			return err
		}
		if err := d.Close(); err != nil {
			return err
		}
		return c.Quit()
	}
	if err := w(); err != nil {
		t.Fatalf("sending through Postfix: %v", err)
	}
}
