package plugin

import (
	"cmp"
	"slices"
	"strings"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Hints are short advice for replies operators meet often. They tell what
// to do, not what the reply means: the reply itself is shown beside them.
//
// A hint is keyed on the phase and the basic code first (RFC 5321, 3207,
// 4954, 7504), which every MTA sends, and refined by the enhanced code
// (RFC 3463) where one is sent: Exim and OpenSMTPD send none or other ones
// than Postfix. Where one code means two things (530: STARTTLS or a login
// first) the session's facts decide; the server's text is evidence only
// where nothing else tells (the word "relay" in a bare 550).

// Spelling is how one plugin's command line spells the options advice
// names, so that the advice names options that plugin has:
// check_smtp_conn logs in with check_smtp's -A/-U/-P, check_smtp_load with
// --user and --password-ref, check_smtp_security not at all. Parse fills
// it from the plugin's own flags; a field is "" where the plugin has no
// such option, and the advice then names none.
type Spelling struct {
	Login   string // how to give a login: "-A/-U/-P", "--user and --password-ref"
	Mech    string // the option that picks the SASL mechanism: "-A", "--mech"
	From    string // the envelope sender: "-f", "--from"
	Timeout string // the limit a timeout's advice says to raise: "-t"
}

// ConnSpelling is check_smtp_conn's, which the package-level Describe,
// Explain and Hint use: check_smtp's spellings.
var ConnSpelling = Spelling{Login: "-A/-U/-P", Mech: "-A", From: "-f", Timeout: "-t"}

// spellingOf reads a plugin's spelling from its parser.
func spellingOf(p *flags.Parser) Spelling {
	name := func(long string) string { // the short form where there is one
		switch o := p.FindOptionByLongName(long); {
		case o == nil:
			return ""
		case o.ShortName != 0:
			return "-" + string(o.ShortName)
		}
		return "--" + long
	}
	sp := Spelling{Mech: cmp.Or(name("authtype"), name("mech")), From: name("from"), Timeout: name("timeout")}
	switch {
	case name("authuser") != "" && name("authpass") != "":
		sp.Login = strings.TrimPrefix(name("authtype")+"/"+name("authuser")+"/"+name("authpass"), "/")
	case name("user") != "" && name("password-ref") != "":
		sp.Login = name("user") + " and " + name("password-ref")
	}
	return sp
}

// Spelling is the plugin's spelling, as Parse read it; check_smtp_conn's
// for options that were never parsed (a test that builds them).
func (c *Common) Spelling() Spelling {
	if c.spelling == (Spelling{}) {
		return ConnSpelling
	}
	return c.spelling
}

// with is " with FLAG", or "" for a plugin without one.
func with(flag string) string {
	if flag == "" {
		return ""
	}
	return " with " + flag
}

// Hint returns advice for a reply the server gave in phase, or "" when
// there is none, in check_smtp_conn's spelling.
func Hint(phase probe.Phase, r smtp.Reply, s *probe.Session) string {
	return ConnSpelling.Hint(phase, r, s)
}

// Hint returns advice for a reply the server gave in phase, or "" when
// there is none. s (nil when unknown) is the session so far: what the
// server offered, whether TLS is on, whether a login ran.
func (sp Spelling) Hint(phase probe.Phase, r smtp.Reply, s *probe.Session) string {
	var best *hintRule
	score := -1
	for i := range hintRules {
		h := &hintRules[i]
		if sc, ok := h.matches(phase, r); ok && sc > score {
			best, score = h, sc
		}
	}
	switch {
	case best == nil:
		return ""
	case best.pick != nil:
		f := factsOf(s)
		f.sp = sp
		return best.pick(phase, r, f)
	}
	return best.hint
}

// hintRule gives advice for a basic code in some phases, refined by an
// enhanced code when set.
type hintRule struct {
	phases   []probe.Phase // nil: every phase
	code     int
	enhanced string // "": any enhanced code, or none
	hint     string
	pick     func(probe.Phase, smtp.Reply, sessionFacts) string // instead of hint, when facts decide
}

// matches says whether h applies and how specific it is: an enhanced code
// outweighs a phase, which outweighs neither.
func (h *hintRule) matches(phase probe.Phase, r smtp.Reply) (int, bool) {
	score := 0
	if h.code != r.Code || (h.phases != nil && !slices.Contains(h.phases, phase)) {
		return 0, false
	}
	if h.phases != nil {
		score++
	}
	if h.enhanced != "" {
		if h.enhanced != r.Enhanced {
			return 0, false
		}
		score += 2
	}
	return score, true
}

// sessionFacts are what decides between two readings of one code.
type sessionFacts struct {
	encrypted bool // the session runs inside TLS
	startTLS  bool // the server offered STARTTLS before TLS
	plainAuth bool // the server offered AUTH before TLS
	loggedIn  bool // a login succeeded in this session
	refused   bool // a login was tried and refused (check_smtp_conn goes on to MAIL)
	authHere  bool // the last EHLO offered AUTH: a login was possible here
	noLogin   bool // no AUTH offered, nor a STARTTLS that may hide it: no login is possible on this port
	sp        Spelling
}

func factsOf(s *probe.Session) sessionFacts {
	if s == nil {
		return sessionFacts{}
	}
	plain := s.ExtPlain
	if plain == nil && !s.Encrypted() {
		plain = s.Ext // no STARTTLS was made: the only EHLO reply is the plain one
	}
	_, tried := s.Duration(probe.PhaseAuth)
	return sessionFacts{
		refused:   tried && !s.LoggedIn,
		encrypted: s.Encrypted(),
		startTLS:  plain.Has("STARTTLS"),
		plainAuth: plain.Has("AUTH"),
		loggedIn:  s.LoggedIn,
		authHere:  s.Ext.Has("AUTH"),
		noLogin:   s.HelloVerb != "HELO" && !s.Ext.Has("AUTH") && (s.Encrypted() || !s.Ext.Has("STARTTLS")), // after HELO nothing is known
	}
}

// Phase groups.
var (
	inGreeting  = []probe.Phase{probe.PhaseBanner, probe.PhaseEHLO, probe.PhaseEHLOTLS}
	inAuth      = []probe.Phase{probe.PhaseAuth}
	inStartTLS  = []probe.Phase{probe.PhaseStartTLS}
	inMail      = []probe.Phase{probe.PhaseMail}
	inRcpt      = []probe.Phase{probe.PhaseRcpt}
	inMessage   = []probe.Phase{probe.PhaseMessage}
	inRecipient = []probe.Phase{probe.PhaseRcpt, probe.PhaseMessage} // LMTP and some MTAs refuse recipients after the dot
)

const (
	hintCredentials   = "wrong user name or password"
	hintUnknownRcpt   = "the recipient does not exist on this server"
	hintMailboxFull   = "the recipient's mailbox is full"
	hintPolicy        = "the server rejected the message by policy (spam or content filter): look at its log for the reason"
	hintSenderRefused = "the sender address is not allowed for this client or login"
	hintService       = "the server refuses service to this client: check its access rules and blocklists"
	hintTooLarge      = "the message is larger than the server accepts"
	hintStartTLSFirst = "STARTTLS is required first: add -S (or -s for port 465)"
	hintTooManyRcpts  = "the server limits recipients per message"
	hintAccess        = "the server refuses this client, sender or relay by policy: check its access rules and blocklists"
	hintDeferClient   = "the server defers this client by policy (for example: no reverse DNS name): retry later, look at its log"
)

var hintRules = []hintRule{
	// Any phase.
	{code: 421, hint: "the server is closing the connection (overload, shutdown or rate limit): retry later, look at its log"},
	{code: 451, hint: "temporary local error on the server: look at its log"},
	{code: 452, hint: "the server is short of storage or limits recipients"},
	{code: 554, hint: hintService},
	{code: 530, pick: authOrTLSFirst},

	// The greeting and EHLO.
	{phases: inGreeting, code: 521, hint: "this host does not accept mail at all (RFC 7504): check that it is the right host"},
	{phases: inGreeting, code: 550, hint: hintService},

	// STARTTLS.
	{phases: inStartTLS, code: 454, hint: "the server cannot start TLS now (often an unreadable certificate or key): look at its TLS log"},

	// AUTH (RFC 4954 §6): 535 is the credentials whatever the enhanced code
	// says; a mechanism the server does not take is 504, one it finds too
	// weak 534.
	{phases: inAuth, code: 535, hint: hintCredentials},
	{phases: inAuth, code: 535, enhanced: "5.7.3", hint: hintCredentials + ", or the account may not log in here (disabled)"},
	{phases: inAuth, code: 535, enhanced: "5.7.139", hint: hintCredentials + ", or SMTP AUTH (basic authentication) is disabled for this account or tenant (Microsoft 365)"},
	{phases: inAuth, code: 504, pick: flagged("the server does not support this mechanism: pick one it offers%s", mech)},
	{phases: inAuth, code: 534, pick: flagged("the server finds this mechanism too weak: pick a stronger one%s", mech)},
	{phases: inAuth, code: 534, enhanced: "5.7.9", hint: "the provider wants an app password or a stronger mechanism (e.g. XOAUTH2)"},
	{phases: inAuth, code: 534, enhanced: "5.7.14", hint: "the provider wants this account to sign in through its web page first, or an app password or OAuth token"},
	{phases: inAuth, code: 538, hint: "encryption is required for this mechanism: use STARTTLS or implicit TLS"},
	{phases: inAuth, code: 454, hint: "temporary authentication failure: the server's authentication backend is down or slow, look at its log"},
	{phases: inAuth, code: 503, hint: "the server takes no AUTH at this point: it offers AUTH only in another state (often inside TLS), or a login already ran"},

	// MAIL.
	{phases: inMail, code: 550, pick: flagged("the server refuses this sender: check the sender address%s and the server's sender rules", from)},
	{phases: inMail, code: 553, hint: "the server refuses this sender address: check its syntax, and that this client or login may use it"},
	{phases: inMail, code: 550, enhanced: "5.7.1", hint: hintSenderRefused},
	{phases: inMail, code: 553, enhanced: "5.7.1", hint: hintSenderRefused},
	{phases: inMail, code: 554, enhanced: "5.7.1", hint: hintSenderRefused},
	{phases: inMail, code: 552, hint: hintTooLarge + " (the SIZE given with MAIL)"},

	// RCPT. A bare 550 is "mailbox unavailable": unknown user (Exim's
	// "Unrouteable address", OpenSMTPD's "Invalid recipient") unless the
	// server says relay. 5.7.1 is "not authorized" (RFC 3463 §3.8): a
	// refused relay, or (Postfix's smtpd_delay_reject) the client or
	// sender refused at RCPT.
	{phases: inRcpt, code: 550, pick: relayOr(hintUnknownRcpt)},
	{phases: inRcpt, code: 554, pick: relayOr("the server refuses this recipient by policy: look at its log")},
	{phases: inRcpt, code: 550, enhanced: "5.7.1", pick: relayOrLogin},
	{phases: inRcpt, code: 554, enhanced: "5.7.1", pick: relayOrLogin},
	{phases: inRcpt, code: 550, enhanced: "5.7.54", pick: relay},                   // Microsoft 365: "Unable to relay recipient in non-accepted domain"
	{phases: inRcpt, code: 454, enhanced: "4.7.1", pick: relayOr(hintDeferClient)}, // Postfix: defer_unauth_destination
	{phases: inRcpt, code: 450, enhanced: "4.7.1", pick: relayOr(hintDeferClient)},
	{phases: inRcpt, code: 551, hint: "the recipient is not local to this server: send to the server that holds its mailbox"},
	{phases: inRcpt, code: 553, hint: "the server refuses the recipient address as written: check its spelling"},
	{phases: inRcpt, code: 556, hint: "the recipient's domain does not accept mail (null MX, RFC 7504)"},
	{phases: inRcpt, code: 550, enhanced: "5.1.2", hint: "the server does not know the recipient's domain: check the address"},
	{phases: inRcpt, code: 450, hint: "the server defers this recipient (greylisting, or it cannot verify the address now): retry later"},
	{phases: inRcpt, code: 552, hint: "the recipient's mailbox is full, or the server limits recipients"},
	{phases: inRcpt, code: 504, enhanced: "5.5.2", hint: "the server wants a fully-qualified host name in EHLO: give one with -F"},
	{phases: inRcpt, code: 451, enhanced: "4.5.3", hint: hintTooManyRcpts}, // OpenSMTPD
	{phases: inRcpt, code: 452, enhanced: "4.5.3", hint: hintTooManyRcpts},
	{phases: inRcpt, code: 524, hint: "the recipient is an alias or list the server could not expand: look at its aliases and log"},
	{phases: inRcpt, code: 424, hint: "the recipient is an alias or list the server could not expand now: retry later, look at its log"},
	{phases: inRecipient, code: 550, enhanced: "5.1.1", hint: hintUnknownRcpt},
	{phases: inRecipient, code: 553, enhanced: "5.1.1", hint: hintUnknownRcpt},
	{phases: inRecipient, code: 550, enhanced: "5.1.10", hint: hintUnknownRcpt}, // Microsoft 365: RecipientNotFound
	{phases: inRecipient, code: 550, enhanced: "5.2.1", hint: "the recipient's mailbox is disabled"},
	{phases: inRecipient, code: 552, enhanced: "5.2.2", hint: hintMailboxFull},
	{phases: inRecipient, code: 452, enhanced: "4.2.2", hint: hintMailboxFull},

	// DATA: Postfix's "554 5.5.1 Error: no valid recipients".
	{phases: []probe.Phase{probe.PhaseData}, code: 554, hint: "the server took no recipient for this message: see the replies to RCPT"},

	// The message, after its final dot: the client and its relay were
	// accepted at MAIL and RCPT, so a refusal now is about the message
	// (RFC 5321 §4.2.5: 554 "Transaction failed").
	{phases: inMessage, code: 554, hint: "the server rejected the message (content filter, virus scan or policy): look at its log for the reason"},
	{phases: inMessage, code: 554, enhanced: "5.7.1", hint: hintPolicy},
	{phases: inMessage, code: 550, enhanced: "5.7.1", hint: hintPolicy},
	{phases: inMessage, code: 552, hint: hintTooLarge + ", or the recipient's mailbox is full"},
	{phases: inMessage, code: 552, enhanced: "5.3.4", hint: hintTooLarge},
	{phases: inMessage, code: 552, enhanced: "5.2.3", hint: hintTooLarge},
	{phases: inMessage, code: 550, enhanced: "5.7.26", hint: "the message fails the sender domain's SPF, DKIM or DMARC check: look at its DNS records and signing"},
}

// flagged fills format's %s with the option opt words from the plugin's
// spelling (" with -A", " (-f)"): nothing where the plugin lacks it.
func flagged(format string, opt func(Spelling) string) func(probe.Phase, smtp.Reply, sessionFacts) string {
	return func(_ probe.Phase, _ smtp.Reply, f sessionFacts) string {
		return strings.Replace(format, "%s", opt(f.sp), 1)
	}
}

func mech(sp Spelling) string { return with(sp.Mech) }

func from(sp Spelling) string {
	if sp.From == "" {
		return ""
	}
	return " (" + sp.From + ")"
}

// loginFlags is " (FLAGS)" for a plugin that logs in, else "".
func loginFlags(sp Spelling) string {
	if sp.Login == "" {
		return ""
	}
	return " (" + sp.Login + ")"
}

// saysRelay reports whether the server's text speaks of relaying (Postfix
// "Relay access denied", Exim "relay not permitted", Sendmail "Relaying
// denied", Exchange "Unable to relay."), as a word: not inside an address
// or host name such as <relay@example.org> or relay.example.org.
func saysRelay(text string) bool {
	for _, w := range strings.Fields(text) {
		w = strings.ToLower(strings.TrimRight(strings.TrimLeft(w, `<("'`), `.,;:!?)>"'`))
		if w == "relay" || w == "relaying" {
			return true
		}
	}
	return false
}

// relayOr gives the relay advice when the server's text speaks of relaying,
// else other.
func relayOr(other string) func(probe.Phase, smtp.Reply, sessionFacts) string {
	return func(ph probe.Phase, r smtp.Reply, f sessionFacts) string {
		if saysRelay(r.Text()) {
			return relay(ph, r, f)
		}
		return other
	}
}

// relayOrLogin advises on a 5.7.1 at RCPT that does not speak of relaying:
// where the server offered AUTH and no login succeeded, the policy is often
// "log in first" (Postfix's submission, permit_sasl_authenticated, reject:
// "554 5.7.1 <rcpt>: Recipient address rejected: Access denied").
func relayOrLogin(ph probe.Phase, r smtp.Reply, f sessionFacts) string {
	switch {
	case saysRelay(r.Text()):
		return relay(ph, r, f)
	case !f.authHere || f.loggedIn:
		return hintAccess
	case f.refused:
		return "the server refuses this client, sender or relay by policy, and the login was refused: fix the login first"
	}
	return "the server refuses this client, sender or relay by policy: it offers AUTH and no login succeeded here: if this port is for submission, it wants one" + loginFlags(f.sp) + "; else check its access rules and blocklists"
}

// relay advises on a relay refusal: without a login the client may send
// only to the server's own domains.
func relay(_ probe.Phase, _ smtp.Reply, f sessionFacts) string {
	switch {
	case f.loggedIn:
		return "the server does not relay for this login: check which senders and domains it may use"
	case f.refused:
		return "the server does not relay for this client, and its login was refused: fix the login first"
	case f.noLogin: // Exim's and Postfix's port 25: AUTH only on submission
		return "the server does not relay for this client: send to a domain it serves; this port offers no login, so relay through its submission port (587 or 465) with a login"
	}
	return "the server does not relay for this client: send to a domain it serves, or log in" + loginFlags(f.sp) + " to relay"
}

// authOrTLSFirst advises on a 530, which means both "STARTTLS first"
// (RFC 3207) and "authenticate first" (RFC 4954): what the server offered
// and what the session did tell which, not the server's wording (Exim's
// default says neither).
func authOrTLSFirst(ph probe.Phase, _ smtp.Reply, f sessionFacts) string {
	switch {
	case !f.encrypted && f.startTLS && (ph == probe.PhaseAuth || !f.plainAuth):
		return hintStartTLSFirst // AUTH refused in the clear, or offered only inside TLS
	case !f.encrypted && f.startTLS && f.sp.Login == "":
		return "the server wants a login first, inside TLS: check_smtp_auth -S tests one"
	case !f.encrypted && f.startTLS:
		return "the server wants a login first: add " + f.sp.Login + ", with -S so that the password travels inside TLS"
	case !f.encrypted && ph == probe.PhaseAuth:
		return "the server wants TLS before AUTH but offers no STARTTLS here: use its implicit-TLS port (-s, usually 465)"
	case ph == probe.PhaseAuth:
		return "the server wants another step before AUTH although TLS is on: look at its log"
	case f.loggedIn:
		return "the server still wants authentication after this login: look at its log, and whether this login may send"
	case f.refused:
		return "the server wants a login first, and the login was refused: fix the login first"
	case f.sp.Login == "":
		return "the server wants a login first: check_smtp_auth tests one"
	}
	return "the server wants a login first: add " + f.sp.Login + ", or use check_smtp_auth"
}
