package probe

import (
	"context"
	"strconv"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// SmuggleEnd sends, after a 354, text ending with end instead of the
// proper CRLF.CRLF, as it is (the SMTP smuggling probe: go-smtp's and our
// WriteData make every line end CRLF and cannot send it), and waits at
// most wait for a reply. A reply means the server took end as the end of
// the message; a zero reply and no error, that it waited for more. Either
// way the session is hung up (HangUp): after a 354 any command would be
// more text of the message, and the proper end is never sent, so a server
// that waits delivers nothing.
func (s *Session) SmuggleEnd(ctx context.Context, text []byte, end string, wait time.Duration) (smtp.Reply, error) {
	var rep smtp.Reply
	s.HangUp()
	err := s.timed(ctx, PhaseMessage, func() error {
		msg := append(append([]byte{}, text...), end...)
		if err := s.conn.WriteRaw(msg, "message of "+strconv.Itoa(len(msg))+" bytes, ending "+strconv.Quote(end)+", not CRLF.CRLF"); err != nil {
			return err
		}
		var err error
		rep, err = s.readWithin(ctx, wait)
		return err
	})
	if err != nil {
		return rep, fail(ctx, PhaseMessage, err)
	}
	return rep, nil
}
