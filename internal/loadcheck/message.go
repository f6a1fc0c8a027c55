package loadcheck

import (
	"bytes"
	"strings"
	"time"
)

// Message is the one message every session sends: a few headers that say
// what it is (so that a filter can drop it) and a body padded to size
// bytes. The same bytes go out each time, as smtp-source sends them: the
// load is the server's work, not ours.
func Message(from string, to []string, size int, date time.Time) []byte {
	var b bytes.Buffer
	b.WriteString("From: <" + from + ">\r\n")
	b.WriteString("To: <" + strings.Join(to, ">, <") + ">\r\n")
	b.WriteString("Subject: smtpcheck load test\r\n")
	b.WriteString("Date: " + date.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("X-Smtpcheck-Load: check_smtp_load\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	b.WriteString("This message was sent by check_smtp_load to measure how much mail this server takes.\r\n")
	const line = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	if pad := size - b.Len(); pad >= 2 {
		b.WriteString(strings.Repeat("x", pad-2) + "\r\n")
	}
	return b.Bytes()
}
