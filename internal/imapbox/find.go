package imapbox

import (
	"context"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Inbox is the folder every search starts in.
const Inbox = "INBOX"

// DefaultPoll is Query.Poll when none is given.
const DefaultPoll = time.Second

// UID is a message's unique id in its folder.
type UID uint32

// Query is the probe to look for.
type Query struct {
	Header string // the header field that carries the token, e.g. X-Smtpcheck-Probe
	Token  string // its value
	// Junk is the folder searched after INBOX: "" means the folder LIST
	// marks as SPECIAL-USE \Junk, if any; NoJunk searches INBOX alone.
	Junk   string
	NoJunk bool
	// Poll is how often INBOX is searched again (NOOP first) when the
	// server offers no IDLE, and how often the Junk folder is searched
	// while INBOX idles; 0: DefaultPoll.
	Poll time.Duration
	// Quick, if not 0, is the pause between the rounds of the wait's
	// first quickUntil, when less than Poll: these rounds poll (NOOP,
	// SEARCH) even where IDLE is offered, and search INBOX alone but
	// every quickJunk-th. A probe just submitted often arrives within
	// milliseconds, and a server's IDLE update can come much later
	// (Dovecot's about 0.5 s after the delivery).
	Quick time.Duration
}

// quickUntil ends the quick rounds: past it, IDLE (or Poll) waits;
// quickJunk is how often they search the Junk folder too.
const (
	quickUntil = 500 * time.Millisecond
	quickJunk  = 5
)

// Sighting is what Wait saw.
type Sighting struct {
	Found  bool
	Folder string    // where the probe was found
	UIDs   []UID     // the messages that carry the token: one, unless delivered twice
	Seen   time.Time // our clock, when the search that found it was answered
	Polls  int       // the searches made (one round: INBOX, then Junk)
	Idle   bool      // IDLE was used between them
	Junk   string    // the Junk folder searched; "" when none
}

// folders are the special folders LIST named.
type folders struct{ junk, trash string }

// specialFolders asks LIST once for the SPECIAL-USE \Junk and \Trash
// folders; servers that know them mark them in a plain LIST (RFC 6154).
func (b *Box) specialFolders() (*folders, error) {
	if b.folders != nil {
		return b.folders, nil
	}
	list, err := b.c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	f := &folders{}
	for _, l := range list {
		for _, a := range l.Attrs {
			switch {
			case a == imap.MailboxAttrJunk && f.junk == "":
				f.junk = l.Mailbox
			case a == imap.MailboxAttrTrash && f.trash == "":
				f.trash = l.Mailbox
			}
		}
	}
	b.folders = f
	return f, nil
}

// selectFolder selects name unless it is selected already; readOnly
// EXAMINEs it (a folder only searched), and a read-only selection is not
// enough for one that will be changed.
func (b *Box) selectFolder(name string, readOnly bool) error {
	if b.selected == name && (readOnly || !b.readOnly) {
		return nil
	}
	b.selected = ""
	data, err := b.c.Select(name, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		return err
	}
	b.selected, b.readOnly = name, readOnly
	if name == Inbox {
		// Mail that arrived while another folder was selected shows only
		// here, not as an update that wakes IDLE: a round searched INBOX,
		// then Junk, and reselects INBOX to idle in it.
		seen := inboxMark{data.UIDNext, data.NumMessages}
		if b.inbox != (inboxMark{}) && seen != b.inbox {
			b.wake()
		}
		b.inbox = seen
	}
	return nil
}

// inboxMark tells whether INBOX changed between two selections.
type inboxMark struct {
	next imap.UID
	n    uint32
}

// Wait looks for the probe in INBOX, then in the Junk folder, until it is
// found or ctx ends: between rounds it IDLEs in INBOX where the server
// offers IDLE (woken by new mail, or after q.Poll to search Junk again),
// else it waits q.Poll and sends NOOP. ctx bounds the waiting only: when
// it ends before the probe is found, Wait returns a Sighting with Found
// false and no error, and the session is still open for the cleanup, if
// the session's own deadline (Dial's ctx) allows.
func (b *Box) Wait(ctx context.Context, q Query) (*Sighting, error) {
	return b.look(ctx, q, false)
}

func (b *Box) look(ctx context.Context, q Query, once bool) (*Sighting, error) {
	s := &Sighting{Idle: b.has(imap.CapIdle)}
	if q.Poll <= 0 {
		q.Poll = DefaultPoll
	}
	err := b.timed(ctx, PhaseSelect, func() error {
		if !q.NoJunk && q.Junk == "" {
			f, err := b.specialFolders()
			if err != nil {
				return err
			}
			q.Junk = f.junk
		}
		return b.selectFolder(Inbox, false)
	})
	if err != nil {
		return s, b.fail(ctx, PhaseSelect, err)
	}
	if !q.NoJunk {
		s.Junk = q.Junk
	}
	if err := b.timed(ctx, PhaseSearch, func() error { return b.wait(ctx, q, s, once) }); err != nil {
		return s, b.fail(ctx, PhaseSearch, err)
	}
	return s, nil
}

func (b *Box) wait(ctx context.Context, q Query, s *Sighting, once bool) error {
	quickEnd := time.Now().Add(quickUntil)
	for {
		s.Polls++
		b.meter.step() // each round its own budget: a long wait is many steps
		quick := q.Quick > 0 && q.Quick < q.Poll && time.Now().Before(quickEnd)
		if err := b.round(q, s, quick && s.Polls%quickJunk != 1); err != nil || s.Found || once {
			return err
		}
		pause, idle := q.Poll, s.Idle
		if quick {
			pause, idle = q.Quick, false
		}
		if err := b.pause(ctx, pause, idle); err != nil || ctx.Err() != nil {
			return err
		}
	}
}

// round searches INBOX, then, unless inboxOnly, the Junk folder.
func (b *Box) round(q Query, s *Sighting, inboxOnly bool) error {
	where := []string{Inbox}
	if s.Junk != "" && s.Junk != Inbox && !inboxOnly {
		where = append(where, s.Junk)
	}
	for _, folder := range where {
		// Junk is only searched (EXAMINE); INBOX is where IDLE waits
		// and is selected read-write, ready for the cleanup.
		if err := b.selectFolder(folder, folder != Inbox); err != nil {
			return err
		}
		uids, err := b.search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: q.Header, Value: q.Token}}})
		if err == nil && len(uids) > 0 {
			// SEARCH HEADER matches a substring, and a server may answer
			// with any UIDs at all: what counts, and is deleted later, is
			// only a message whose header carries exactly our token.
			uids, err = b.carrying(uids, q.Header, func(v string) bool { return v == q.Token })
		}
		if err != nil {
			return err
		}
		if len(uids) > 0 {
			s.Found, s.Folder, s.UIDs, s.Seen = true, folder, uids, time.Now()
			return nil
		}
	}
	return b.selectFolder(Inbox, false)
}

// carrying fetches the header field of uids in the selected folder and
// keeps those with a value that ours accepts.
func (b *Box) carrying(uids []UID, header string, ours func(value string) bool) ([]UID, error) {
	msgs, err := b.fetchField(uids, header, false)
	if err != nil {
		return nil, err
	}
	var kept []UID
	for _, m := range msgs {
		if len(m.BodySection) > 0 && slices.ContainsFunc(fieldValues(parseHeader(m.BodySection[0].Bytes), header), ours) {
			kept = append(kept, UID(m.UID))
		}
	}
	return kept, nil
}

// fetchField fetches the header field of uids (peeking: no \Seen), with
// their flags and internal dates when meta is asked for.
func (b *Box) fetchField(uids []UID, header string, meta bool) ([]*imapclient.FetchMessageBuffer, error) {
	sect := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{header}, Peek: true}
	return b.c.Fetch(uidSet(uids), &imap.FetchOptions{
		UID: true, Flags: meta, InternalDate: meta, BodySection: []*imap.FetchItemBodySection{sect},
	}).Collect()
}

// search runs UID SEARCH in the selected folder.
func (b *Box) search(c *imap.SearchCriteria) ([]UID, error) {
	data, err := b.c.UIDSearch(c, nil).Wait()
	if err != nil {
		return nil, err
	}
	var uids []UID
	for _, u := range data.AllUIDs() {
		uids = append(uids, UID(u))
	}
	return uids, nil
}

// pause waits for the next round: in IDLE until new mail, poll or the end
// of ctx; without IDLE for poll, then NOOP (some servers, Gmail among them,
// show new mail only after a command that asks for updates).
func (b *Box) pause(ctx context.Context, poll time.Duration, idle bool) error {
	timer := time.NewTimer(poll)
	defer timer.Stop()
	if !idle {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		return b.c.Noop().Wait()
	}
	cmd, err := b.c.Idle()
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-timer.C:
	case <-b.notify:
	case <-b.c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	return cmd.Wait()
}

// Find searches INBOX and then the Junk folder once, without waiting:
// for the probes of earlier runs that were not seen then (late, not lost).
func (b *Box) Find(ctx context.Context, q Query) (*Sighting, error) {
	return b.look(ctx, q, true)
}
