package deliverycheck

import (
	"regexp"
	"strings"
	"sync"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// queueIDForms are the replies to the end of a message that name the
// server's id for it, as real servers word them; the first group is the id.
// An id is what the server's logs and message trace search by. Compiled on
// the first reply that needs them, not at every start (-V, a usage error).
var queueIDForms = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		// Postfix: "250 2.0.0 Ok: queued as 4XyZ1x2abcz" (short or long ids)
		regexp.MustCompile(`(?i)\bqueued as ([0-9A-Za-z]+)(?:\s|$)`),
		// Exim: "250 OK id=1tXyZa-0001Ab-Cd", 4.97+: "id=1xBuT1-000000003QH-0Qqz"
		regexp.MustCompile(`(?i)^OK id=([0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})(?:\s|$)`),
		// Exchange and Microsoft 365: "250 2.6.0 <msgid@host> [InternalId=…, Hostname=…] … Queued mail for delivery"
		regexp.MustCompile(`(?i)^(<[^<>\s]+>)(?:\s.*)?\squeued mail for delivery\b`),
		// Gmail: "250 2.0.0 OK  1712345678 d1-20020a…72 - gsmtp"
		regexp.MustCompile(`(?i)^OK\s+[0-9]+\s+(\S+) - gsmtp$`),
		// Sendmail "250 2.0.0 4B3M1abc012345 Message accepted for delivery";
		// OpenSMTPD "250 2.0.0 7c1d2e3f Message accepted for delivery" (older: "2.0.0:")
		regexp.MustCompile(`(?i)^([0-9A-Za-z]{8,20}) Message accepted for delivery$`),
		// qmail: "250 ok 1712345678 qp 12345"; its log names the message by qp
		regexp.MustCompile(`(?i)^ok [0-9]+ (qp [0-9]+)(?:\s|$)`),
	}
})

// QueueID is the server's id for the message in rep, the reply to its end,
// or "" when rep is no 250 or words it in a form not known here: a guess
// could name another message.
func QueueID(rep smtp.Reply) string {
	if rep.Code != 250 || len(rep.Lines) == 0 {
		return ""
	}
	return queueID(rep.Lines[0])
}

// queueID reads text, the first line of a 250 reply after the code.
func queueID(text string) string {
	text = strings.TrimSpace(text)
	// The enhanced status code ("2.0.0", OpenSMTPD's "2.0.0:") is no part of any form.
	if f, rest, ok := strings.Cut(text, " "); ok && strings.Count(strings.TrimSuffix(f, ":"), ".") == 2 && strings.HasPrefix(f, "2.") {
		text = strings.TrimSpace(rest)
	}
	for _, re := range queueIDForms() {
		if m := re.FindStringSubmatch(text); m != nil {
			return m[1]
		}
	}
	return ""
}
