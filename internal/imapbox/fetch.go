package imapbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/textproto"
)

// MaxHeader is the most of a header section Headers reads unless told: a
// probe's header section (a dozen Received hops, DKIM signatures,
// Authentication-Results) fits many times over.
const MaxHeader = 64 << 10

// Message is a found message's header section and what the server knows of it.
type Message struct {
	Folder       string
	UID          UID
	InternalDate time.Time // when the server stored it (the server's clock)
	Size         int64     // RFC822.SIZE
	Header       []byte    // the header section, at most the size asked for
	Truncated    bool      // the header section was longer

	fields textproto.Header
}

// Headers fetches the header section of message uid in folder (BODY.PEEK:
// the message stays unseen), at most max bytes (0: MaxHeader).
func (b *Box) Headers(ctx context.Context, folder string, uid UID, max int) (*Message, error) {
	if max <= 0 {
		max = MaxHeader
	}
	m := &Message{Folder: folder, UID: uid}
	err := b.timed(ctx, PhaseFetch, func() error {
		if err := b.selectFolder(folder, true); err != nil {
			return err
		}
		// One byte more than asked tells whether there was more.
		sect := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true,
			Partial: &imap.SectionPartial{Offset: 0, Size: int64(max) + 1}}
		msgs, err := b.c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{
			UID: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{sect},
		}).Collect()
		if err != nil {
			return err
		}
		if len(msgs) != 1 {
			return fmt.Errorf("the server returned %d messages for UID %d in %s (expected one): it may have been deleted meanwhile", len(msgs), uid, folder)
		}
		m.InternalDate, m.Size = msgs[0].InternalDate, msgs[0].RFC822Size
		// The one section asked for; matching it by its <0> partial
		// would depend on how the server echoes it.
		if bs := msgs[0].BodySection; len(bs) > 0 {
			m.Header = bs[0].Bytes
		}
		return nil
	})
	if err != nil {
		return m, b.fail(ctx, PhaseFetch, err)
	}
	if len(m.Header) > max {
		m.Header, m.Truncated = m.Header[:max], true
	}
	m.fields = parseHeader(m.Header)
	return m, nil
}

// Fields returns the values of the header field name, top (the last hop)
// first, unfolded.
func (m *Message) Fields(name string) []string { return fieldValues(m.fields, name) }

func fieldValues(h textproto.Header, name string) []string {
	var vals []string
	for _, v := range h.Values(name) {
		v = strings.NewReplacer("\r\n", "", "\n", "").Replace(v)
		vals = append(vals, strings.TrimSpace(v))
	}
	return vals
}

// parseHeader reads what it can of a header section; a truncated one up to
// its last whole line.
func parseHeader(raw []byte) textproto.Header {
	if i := bytes.LastIndex(raw, []byte("\n")); i >= 0 {
		raw = raw[:i+1]
	}
	raw = append(bytes.Clone(bytes.TrimRight(raw, "\r\n")), "\r\n\r\n"...)
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw))) // what parses is kept
	return h
}
