package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// labFolders are the lab user's mailboxes. go-imap's in-memory server
// keeps no SPECIAL-USE attributes (it ignores CREATE's), so the lab's LIST
// names them itself, as Dovecot does in a plain LIST (RFC 6154).
var labFolders = []struct {
	name string
	attr imap.MailboxAttr
}{{"INBOX", ""}, {"Junk", imap.MailboxAttrJunk}, {"Trash", imap.MailboxAttrTrash}}

// mailbox is the lab user's IMAP side: one in-memory user served over
// IMAPS and over IMAP with STARTTLS (LOGIN only after TLS on both).
type mailbox struct {
	user          *imapmemserver.User
	srv           *imapserver.Server
	imaps, imap   int // ports
	address, host string
}

func startMailbox(user, pass, address, host string, cert tls.Certificate, imapsAddr, imapAddr string) (*mailbox, error) {
	m := &mailbox{user: imapmemserver.NewUser(user, pass), address: address, host: host}
	for _, f := range labFolders {
		if err := m.user.Create(f.name, nil); err != nil {
			return nil, err
		}
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	m.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &labSession{UserSession: imapmemserver.NewUserSession(m.user), user: m.user}, nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapMove: {}, imap.CapSpecialUse: {}},
		// STARTTLS on the plain port; LOGIN is refused before TLS because
		// InsecureAuth stays false.
		TLSConfig: tlsCfg,
	})
	for _, l := range []struct {
		addr string
		port *int
		tls  bool
	}{{imapsAddr, &m.imaps, true}, {imapAddr, &m.imap, false}} {
		raw, err := net.Listen("tcp", l.addr)
		if err != nil {
			m.srv.Close()
			return nil, err
		}
		*l.port = raw.Addr().(*net.TCPAddr).Port
		var ln net.Listener = raw
		if l.tls {
			ln = tls.NewListener(raw, tlsCfg)
		}
		go func() { _ = m.srv.Serve(ln) }()
	}
	return m, nil
}

func (m *mailbox) Close() error { return m.srv.Close() }

// feed files what the SMTP side accepts for the lab user, in order. go-smtp
// gives smtptest no delivery hook, so feed looks every few milliseconds.
func (m *mailbox) feed(s *smtptest.Server, stop <-chan struct{}) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	seen := 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		msgs := s.Messages()
		for _, msg := range msgs[seen:] {
			if err := m.deliver(msg, time.Now()); err != nil {
				fmt.Fprintf(os.Stderr, "lab: IMAP delivery: %v\n", err)
			}
		}
		seen = len(msgs)
	}
}

// deliver files msg in INBOX, or in Junk when it asks to be junk (for the
// demo's WARNING), with a Received: hop like an MTA's, if the lab user is
// among its recipients.
func (m *mailbox) deliver(msg smtptest.Message, now time.Time) error {
	ours, junk := m.addressed(msg.To)
	if !ours {
		return nil
	}
	with := "ESMTP"
	if msg.TLS {
		with += "S"
	}
	if msg.User != "" {
		with += "A"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Return-Path: <%s>\r\nDelivered-To: %s\r\nReceived: from 127.0.0.1 by %s (smtpcheck lab) with %s\r\n\tfor <%s>; %s\r\n",
		msg.From, m.address, m.host, with, m.address, now.Format(time.RFC1123Z))
	b.Write(msg.Data)
	folder := "INBOX"
	if junk || isJunk(msg.Data) {
		folder = "Junk"
	}
	_, err := m.user.Append(folder, bytes.NewReader(b.Bytes()), &imap.AppendOptions{Time: now})
	return err
}

// addressed tells whether the lab user is a recipient, and whether as
// user+junk@ (a subaddress the lab files into Junk, like a Sieve rule would).
func (m *mailbox) addressed(to []string) (ours, junk bool) {
	local, domain, _ := strings.Cut(m.address, "@")
	for _, t := range to {
		t = strings.Trim(t, "<>")
		switch {
		case strings.EqualFold(t, m.address):
			ours = true
		case strings.EqualFold(t, local+"+junk@"+domain):
			ours, junk = true, true
		}
	}
	return ours, junk
}

// isJunk: a Subject with "[junk]" or the header X-Lab-Junk: yes (the same
// header the Sieve rule of .ci/mailserver.sh files into Junk).
func isJunk(data []byte) bool {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return false
	}
	return strings.Contains(strings.ToLower(msg.Header.Get("Subject")), "[junk]") ||
		strings.EqualFold(strings.TrimSpace(msg.Header.Get("X-Lab-Junk")), "yes")
}

// labSession is the in-memory session of the one lab user, with LIST
// marking the special folders.
type labSession struct {
	*imapmemserver.UserSession
	user *imapmemserver.User
}

func (s *labSession) Login(username, password string) error {
	if err := s.user.Login(username, password); err != nil {
		return imapserver.ErrAuthFailed
	}
	return nil
}

func (s *labSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 { // LIST "" "": the hierarchy delimiter
		return s.UserSession.List(w, ref, patterns, options)
	}
	for _, f := range labFolders {
		if !matchAny(f.name, ref, patterns) || options.SelectSpecialUse && f.attr == "" {
			continue
		}
		data := imap.ListData{Mailbox: f.name, Delim: '/'}
		if f.attr != "" {
			data.Attrs = []imap.MailboxAttr{f.attr}
		}
		if options.ReturnStatus != nil {
			st, err := s.user.Status(f.name, options.ReturnStatus)
			if err != nil {
				return err
			}
			data.Status = st
		}
		if err := w.WriteList(&data); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if imapserver.MatchList(name, '/', ref, p) {
			return true
		}
	}
	return false
}
