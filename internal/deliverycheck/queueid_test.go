package deliverycheck

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// TestQueueID reads the id from the real texts servers send after the
// end of a message; unknown forms give "" rather than a wrong id.
func TestQueueID(t *testing.T) {
	for text, want := range map[string]string{
		// Postfix, short and long queue ids
		"250 2.0.0 Ok: queued as 7523C1BEFA":  "7523C1BEFA",
		"250 2.0.0 Ok: queued as 4XyZ1x2abcz": "4XyZ1x2abcz",
		"250 Ok: queued as 4Gxz3y6Bz9zDqRW":   "4Gxz3y6Bz9zDqRW",
		// Exim, the classic and the 4.97+ form
		"250 OK id=1l3vRq-0000HP-OZ":        "1l3vRq-0000HP-OZ",
		"250 OK id=1xBuT1-000000003QH-0Qqz": "1xBuT1-000000003QH-0Qqz",
		// Sendmail and OpenSMTPD (with and without the colon)
		"250 2.0.0 n54CEgvI018278 Message accepted for delivery": "n54CEgvI018278",
		"250 2.0.0 7c1d2e3f Message accepted for delivery":       "7c1d2e3f",
		"250 2.0.0: 7c1d2e3f Message accepted for delivery":      "7c1d2e3f",
		// Exchange and Microsoft 365
		"250 2.6.0 <WEB01JswFCHOzyfyz5b000015ac@smtprelay.eqonline.com> Queued mail for delivery":                                                                                                          "<WEB01JswFCHOzyfyz5b000015ac@smtprelay.eqonline.com>",
		"250 2.6.0 <173698220910.787872.8328578722038804350@msi> [InternalId=29072633627620, Hostname=DU0P192MB2073.EURP192.PROD.OUTLOOK.COM] 9803 bytes in 0.195, 49.066 KB/sec Queued mail for delivery": "<173698220910.787872.8328578722038804350@msi>",
		// Gmail
		"250 2.0.0 OK  1642091984 z24sm9037572pjq.17 - gsmtp":                                  "z24sm9037572pjq.17",
		"250 2.0.0 OK  1696150000 d9-20020a170902bd8900b001234567890asi1234567plh.100 - gsmtp": "d9-20020a170902bd8900b001234567890asi1234567plh.100",
		// qmail
		"250 ok 1375388751 qp 26627": "qp 26627",
		// unknown or not ids
		"250 2.0.0 Ok":                       "",
		"250 Message accepted for delivery":  "",
		"250 2.0.0 Ok: queued as abc-def":    "",
		"250 OK id=":                         "",
		"554 5.7.1 Ok: queued as 7523C1BEFA": "",
		"250 2.6.0 <a@b> Queued mail":        "",
		"250 ok dirdel":                      "",
	} {
		code := 0
		for _, c := range text[:3] {
			code = code*10 + int(c-'0')
		}
		rep := smtp.Reply{Code: code, Lines: []string{text[4:]}}
		if got := QueueID(rep); got != want {
			t.Errorf("QueueID(%q) = %q, want %q", text, got, want)
		}
	}
}

// FuzzQueueID: any text gives an id that is part of it, without spaces
// except qmail's "qp N", and never panics.
func FuzzQueueID(f *testing.F) {
	f.Add("2.0.0 Ok: queued as 7523C1BEFA")
	f.Add("OK id=1l3vRq-0000HP-OZ")
	f.Add("2.6.0 <a@b> [InternalId=1] Queued mail for delivery")
	f.Add("2.0.0 OK  1 x - gsmtp")
	f.Add("ok 1 qp 2")
	f.Fuzz(func(t *testing.T, text string) {
		id := QueueID(smtp.Reply{Code: 250, Lines: []string{text}})
		if id == "" {
			return
		}
		if !strings.Contains(text, id) || strings.ContainsAny(id, "\r\n\t") || strings.Contains(id, " ") && !strings.HasPrefix(id, "qp ") {
			t.Errorf("QueueID(%q) = %q", text, id)
		}
	})
}
