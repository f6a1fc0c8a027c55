package plugin

import (
	"strconv"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// hints are short advice for replies operators meet often, keyed by code and
// enhanced code (RFC 3463, RFC 4954, RFC 7504). They tell what to do, not
// what the reply means: the reply itself is shown beside them.
var hints = map[string]string{
	"535 5.7.8":  "wrong user name or password",
	"535 5.7.3":  "the account is not allowed to authenticate here (disabled, or wrong mechanism)",
	"534 5.7.9":  "the provider wants an app password or a stronger mechanism (e.g. XOAUTH2)",
	"538 5.7.11": "encryption is required for this mechanism: use STARTTLS or implicit TLS",
	"454 4.7.0":  "temporary server-side problem (TLS or authentication backend down): look at the server's log",
	"554 5.7.1":  "the server refuses this client or relay: check its access rules",
	"550 5.7.1":  "the server refuses this client or relay: check its access rules",
	"550 5.1.1":  "the recipient does not exist on this server",
	"553 5.7.1":  "the sender address is not allowed for this client or login",
	"421":        "the server is closing the connection (overload, shutdown or rate limit): retry later, look at its log",
	"554":        "the server refuses service to this client: check its access rules and blocklists",
	"451":        "temporary local error on the server: look at its log",
	"452":        "the server is short of storage or limits recipients",
	"535":        "authentication failed: check user name, password and mechanism",
	"530":        "the server wants authentication first: add -A/-U/-P, or use check_smtp_auth",
}

// Hint returns advice for a reply the server gave in phase, or "" when
// there is none.
func Hint(phase probe.Phase, r smtp.Reply) string {
	code := strconv.Itoa(r.Code)
	if code == "530" {
		// 530 5.7.0 means both "authenticate first" and "STARTTLS first" (RFC 3207, 4954).
		switch {
		case strings.Contains(strings.ToUpper(r.Text()), "STARTTLS"):
			return "STARTTLS is required first: add -S (or -s for port 465)"
		case phase == probe.PhaseAuth: // a login was just attempted: "log in first" does not fit
			return "the server wants another step before AUTH (often STARTTLS): use -S or -s, and look at its log"
		}
	}
	if authCodes[r.Code] && phase != probe.PhaseAuth {
		return "" // a login's advice, for a reply to something else
	}
	tables := []map[string]string{hints}
	if phase == probe.PhaseMessage {
		tables = []map[string]string{messageHints, hints}
	}
	for _, t := range tables {
		if h, ok := t[code+" "+r.Enhanced]; ok && r.Enhanced != "" {
			return h
		}
		if h, ok := t[code]; ok {
			return h
		}
	}
	return ""
}

// messageHints replace hints for the reply to a message's end: the client
// and its relay were accepted at MAIL and RCPT, so a refusal now is about
// the message (RFC 5321 4.2.5: 554 "Transaction failed").
var messageHints = map[string]string{
	"554 5.7.1": "the server rejected the message by policy (spam or content filter): look at its log for the reason",
	"550 5.7.1": "the server rejected the message by policy (spam or content filter): look at its log for the reason",
	"554":       "the server rejected the message (content filter, virus scan or policy): look at its log for the reason",
}

// authCodes are the replies RFC 4954 gives AUTH; their hints are about the
// login, and mean nothing in answer to another command.
var authCodes = map[int]bool{534: true, 535: true, 538: true}
