package main

import (
	"crypto/tls"
	"net"
	"net/smtp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// What the lab's SMTP side accepts for the lab user shows up over IMAPS and
// IMAP+STARTTLS: in INBOX, or in the folder LIST marks \Junk when it asks
// to be junk or is sent to user+junk@; mail for other addresses stays out.
func TestMailboxFedBySMTP(t *testing.T) {
	ca := smtptest.MustNewCA(t, "lab test CA")
	cert := ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.lab.test"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	s := smtptest.MustStart(t, smtptest.Config{Domain: "mx.lab.test"})
	box, err := startMailbox("demo", "pw", "demo@lab.test", "mx.lab.test", cert, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	stop := make(chan struct{})
	defer close(stop)
	go box.feed(s, stop)

	send := func(to, headers string) {
		t.Helper()
		msg := headers + "From: a@lab.test\r\n\r\nbody\r\n"
		if err := smtp.SendMail(s.Addr, nil, "a@lab.test", []string{to}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	send("demo@lab.test", "Subject: one\r\n")
	send("DEMO@lab.test", "Subject: two [JUNK]\r\n")
	send("demo@lab.test", "Subject: three\r\nX-Lab-Junk: yes\r\n")
	send("demo+junk@lab.test", "Subject: four\r\n")
	send("other@lab.test", "Subject: not ours\r\n")
	waitFiled(t, box, 4)

	tlsCfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "mx.lab.test"}
	for _, mode := range []string{"imaps", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			var c *imapclient.Client
			var err error
			opts := &imapclient.Options{TLSConfig: tlsCfg}
			if mode == "imaps" {
				c, err = imapclient.DialTLS("127.0.0.1:"+strconv.Itoa(box.imaps), opts)
			} else {
				c, err = imapclient.DialStartTLS("127.0.0.1:"+strconv.Itoa(box.imap), opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login("demo", "pw").Wait(); err != nil {
				t.Fatal(err)
			}
			list, err := c.List("", "*", nil).Collect()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range list {
				got = append(got, l.Mailbox+fmtAttrs(l.Attrs))
			}
			if want := []string{"INBOX", `Junk \Junk`, `Trash \Trash`}; !slices.Equal(got, want) {
				t.Errorf("LIST = %q, want %q", got, want)
			}
			for folder, want := range map[string][]string{"INBOX": {"one"}, "Junk": {"two [JUNK]", "three", "four"}, "Trash": nil} {
				if got := subjects(t, c, folder); !slices.Equal(got, want) {
					t.Errorf("%s holds %q, want %q", folder, got, want)
				}
			}
		})
	}
}

func TestMailboxRefusesLoginBeforeTLS(t *testing.T) {
	ca := smtptest.MustNewCA(t, "lab test CA")
	cert := ca.MustIssue(t, smtptest.LeafOptions{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	box, err := startMailbox("demo", "pw", "demo@lab.test", "mx.lab.test", cert, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	c, err := imapclient.DialInsecure("127.0.0.1:"+strconv.Itoa(box.imap), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("demo", "pw").Wait(); err == nil {
		t.Fatal("LOGIN without TLS succeeded")
	}
}

func fmtAttrs(as []imap.MailboxAttr) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(" " + string(a))
	}
	return b.String()
}

// waitFiled waits until the feed has filed n messages (or 2 s passed).
func waitFiled(t *testing.T, box *mailbox, n uint32) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var sum uint32
		for _, f := range labFolders {
			st, err := box.user.Status(f.name, &imap.StatusOptions{NumMessages: true})
			if err != nil {
				t.Fatal(err)
			}
			sum += *st.NumMessages
		}
		if sum >= n {
			return
		}
	}
}

// subjects lists the subjects in folder, in order.
func subjects(t *testing.T, c *imapclient.Client, folder string) []string {
	t.Helper()
	var got []string
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: sel.NumMessages}}, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		got = append(got, m.Envelope.Subject)
	}
	return got
}
