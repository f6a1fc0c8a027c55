package main

import (
	"fmt"
	"strings"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/deliverycheck"
	"github.com/smtpcheck/smtpcheck/internal/loadcheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/securitycheck"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

// manExtra is what a plugin's man page says beyond its options and its
// examples (the plugin's Examples, shared with --help). The perfdata labels
// come from runs against the lab server (make demo): keep them to what the
// plugin really prints.
type manExtra struct {
	perf []string // the perfdata labels it can emit, keys of perfLabels
}

var manExtras = map[string]manExtra{
	conncheck.Name: {
		perf: []string{"dns", "connect", "tls", "banner", "ehlo", "starttls", "ehlo_tls", "auth", "mail", "rcpt", "rset", "command", "quit", "total", "time", "cert_days"},
	},
	tlscheck.Name: {
		perf: []string{"dns", "connect", "tls", "banner", "ehlo", "starttls", "ehlo_tls", "handshake", "quit", "time", "cert_days", "chain_min_days"},
	},
	authcheck.Name: {
		perf: []string{"dns", "connect", "tls", "banner", "ehlo", "starttls", "ehlo_tls", "auth", "quit", "total", "time"},
	},
	deliverycheck.Name: {
		perf: []string{"dns", "connect", "tls", "banner", "ehlo", "starttls", "ehlo_tls", "auth", "mail", "rcpt", "data", "message", "rset", "quit", "submit", "delay",
			"imap_dns", "imap_connect", "imap_tls", "imap_greeting", "imap_starttls", "imap_login", "imap_select", "imap_search", "imap_fetch", "imap_cleanup", "imap_logout", "polls", "total", "time"},
	},
	loadcheck.Name: {
		perf: []string{"rate", "accepted", "rejected", "failed", "error_rate", "sessions", "elapsed", "PHASE_p50", "PHASE_p90", "PHASE_p99", "PHASE_max", "time"},
	},
	securitycheck.Name: {
		perf: []string{"passed", "warned", "failed", "skipped", "time_plain", "time_tls", "time_relay", "time_injection", "time_scan", "total", "time"},
	},
}

// perfLabels says what each perfdata label measures.
var perfLabels = map[string]string{
	"rate":           "check_smtp_load: accepted messages per second over the measured run; \\-\\-warning\\-rate and \\-\\-critical\\-rate apply to it.",
	"accepted":       "check_smtp_load: messages whose end was answered 250.",
	"rejected":       "check_smtp_load: messages refused with a reply to MAIL, RCPT, DATA or their end.",
	"error_rate":     "check_smtp_load: per cent of messages rejected or failed; \\-\\-warning\\-errors (default 1) and \\-\\-critical\\-errors apply to it.",
	"sessions":       "check_smtp_load: sessions opened, the warm-up left out.",
	"elapsed":        "check_smtp_load: the measured window, from the first measured message's start to the last one's end, in seconds.",
	"PHASE_p50":      "check_smtp_load: the median of a phase (connect, tls, banner, ehlo, starttls, ehlo_tls, auth, mail, rcpt, data, message, rset, quit; total is a message's whole time, total_corrected the same in the open loop with held-back messages counted in), in seconds.",
	"PHASE_p90":      "check_smtp_load: the 90th percentile of a phase, in seconds.",
	"PHASE_p99":      "check_smtp_load: the 99th percentile of a phase, in seconds; \\-w and \\-c apply to total_p99 (total_corrected_p99 in the open loop).",
	"PHASE_max":      "check_smtp_load: the longest time of a phase, in seconds.",
	"dns":            "Name resolution, in seconds.",
	"connect":        "TCP connect, in seconds.",
	"tls":            "TLS handshake of implicit TLS (\\-s, port 465), in seconds.",
	"banner":         "Wait for the 220 greeting, in seconds.",
	"ehlo":           "EHLO (or HELO, LHLO) and its reply, in seconds.",
	"starttls":       "STARTTLS and its TLS handshake, in seconds.",
	"ehlo_tls":       "EHLO again after STARTTLS, in seconds.",
	"handshake":      "The TLS handshake alone, in seconds.",
	"auth":           "The AUTH exchange, in seconds; \\-w and \\-c of check_smtp_auth apply to it.",
	"mail":           "MAIL FROM, in seconds.",
	"rcpt":           "RCPT TO, in seconds (each).",
	"rset":           "RSET after the envelope, in seconds.",
	"command":        "The \\-C command, in seconds.",
	"quit":           "QUIT, in seconds.",
	"data":           "DATA and its 354, in seconds (pipelined: the wait for its reply).",
	"message":        "The message and the reply to its end (after the dot, or BDAT LAST), in seconds.",
	"submit":         "The mail transaction, MAIL FROM to the reply to the message's end, in seconds.",
	"delay":          "The delivery delay, from the server's 250 to the message to the probe's IMAP sighting, on this host's clock, in seconds; \\-w and \\-c of check_smtp_delivery apply to it.",
	"imap_dns":       "IMAP: name resolution, in seconds.",
	"imap_connect":   "IMAP: TCP connect, in seconds.",
	"imap_tls":       "IMAP: the TLS handshake of IMAPS, in seconds.",
	"imap_greeting":  "IMAP: the wait for the greeting, in seconds.",
	"imap_starttls":  "IMAP: greeting, STARTTLS and its handshake, in seconds.",
	"imap_login":     "IMAP: the login, in seconds.",
	"imap_select":    "IMAP: LIST of the special folders and SELECT, in seconds.",
	"imap_search":    "IMAP: searching for the probe and waiting for it (IDLE or polls), in seconds.",
	"imap_fetch":     "IMAP: fetching the probe's header (its Received hops), in seconds.",
	"imap_cleanup":   "IMAP: deleting the probe and the probes of earlier runs, in seconds.",
	"imap_logout":    "IMAP: LOGOUT, in seconds.",
	"polls":          "Searches made until the probe was found or the wait ended (INBOX, then Junk, is one).",
	"total":          "The whole session, in seconds; \\-w and \\-c of check_smtp_conn apply to it.",
	"time":           "The plugin's run time, in seconds, as check_smtp reports it.",
	"cert_days":      "Days until the server certificate expires, with its limits (check_smtp_conn: with \\-D only).",
	"chain_min_days": "Days until the first element of the chain expires, with the limits of \\-w and \\-c.",
	"passed":         "check_smtp_security: sub-checks that found nothing wrong (informational ones included).",
	"warned":         "check_smtp_security: sub-checks that gave WARNING.",
	"failed":         "check_smtp_security: sub-checks that gave CRITICAL or UNKNOWN; check_smtp_load: messages that got no verdict (the session could not be set up, broke or timed out).",
	"skipped":        "check_smtp_security: sub-checks of the role left out (\\-\\-only, \\-\\-skip) or that could not apply (no STARTTLS offered).",
	"time_plain":     "check_smtp_security: the session in clear text (EHLO, HELP, VRFY, EXPN, MAIL), in seconds.",
	"time_tls":       "check_smtp_security: the session inside TLS (submission), in seconds.",
	"time_relay":     "check_smtp_security: the longest of the relay attempts' sessions, in seconds.",
	"time_injection": "check_smtp_security: the STARTTLS injection session, with its wait for an injected reply (at most 1 s), in seconds.",
	"time_scan":      "check_smtp_security: the TLS version scan, one handshake at a time, in seconds.",
}

// A timing is only emitted for a phase that ran: the labels above are what
// each plugin can print, not what every run prints.
const perfNote = "Labels are lower_snake, times in seconds with unit s and minimum 0, days without a unit. A phase that did not run has no label; one that ran before a failure keeps its timing."

// allowValues adds the allowed values of every enumerated option to its
// description while the man page is written (go-flags' page does not list
// them; the engine configs show them their own way); restore undoes it.
func allowValues(opts []*flags.Option) (restore func()) {
	was := make([]string, len(opts))
	for i, o := range opts {
		was[i] = o.Description
		if len(o.Choices) > 0 {
			sep := ". "
			if strings.HasSuffix(o.Description, ".") {
				sep = " "
			}
			o.Description += sep + "Allowed values: " + strings.Join(o.Choices, ", ") + "."
		}
	}
	return func() {
		for i, o := range opts {
			o.Description = was[i]
		}
	}
}

// hasOption reports whether opts hold the long option name.
func hasOption(opts []*flags.Option, long string) bool {
	for _, o := range opts {
		if o.LongNameWithNamespace() == long {
			return true
		}
	}
	return false
}

// manSections are the PERFDATA, ENVIRONMENT and EXAMPLES sections of a
// plugin's page; the environment follows from the options it has.
func manSections(pd pluginDef, opts []*flags.Option) (perfdata, environment, examples string, err error) {
	extra, ok := manExtras[pd.name]
	if !ok || len(extra.perf) == 0 {
		return "", "", "", fmt.Errorf("%s: no perfdata labels in packaging/gen's manExtras", pd.name)
	}
	var ex []plugin.Example
	if e, ok := pd.opts.(plugin.Exampler); ok {
		ex = e.Examples()
	}
	if len(ex) == 0 {
		return "", "", "", fmt.Errorf("%s: no examples: give its Options an Examples method", pd.name)
	}
	var b strings.Builder
	b.WriteString(".SH PERFDATA\n" + perfNote + "\n")
	for _, l := range extra.perf {
		what, ok := perfLabels[l]
		if !ok {
			return "", "", "", fmt.Errorf("%s: perfdata label %q has no description in perfLabels", pd.name, l)
		}
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fP\n%s\n", l, what)
	}
	perfdata = b.String()

	b.Reset()
	b.WriteString(".SH ENVIRONMENT\n")
	env := [][2]string{
		{"MP_CONFIG_FILE", "The ini file \\fB\\-\\-extra\\-opts\\fP reads when it names none; then the files monitoring\\-plugins.ini, plugins.ini and nagios\\-plugins.ini in each directory of NAGIOS_CONFIG_PATH (colon\\-separated); then the first of these that exists:\n.RS\n.nf\n" + roff(strings.Join(plugin.DefaultIniFiles(), "\n")) + "\n.fi\n.RE"},
		{"NAGIOS_CONFIG_PATH", "See MP_CONFIG_FILE."},
	}
	if hasOption(opts, "ca-file") {
		env = append(env, [2]string{"SSL_CERT_FILE, SSL_CERT_DIR", "The system CA bundle and directory that certificates are verified against when \\fB\\-\\-ca\\-file\\fP is not given (as for every Go program)."})
	}
	if hasOption(opts, "keyring-backend") {
		env = append(env,
			[2]string{"NAME of env:NAME", "An \\fBenv:\\fP reference reads the variable it names; unset or empty is an error."},
			[2]string{"VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, VAULT_NAMESPACE, VAULT_TLS_SERVER_NAME, VAULT_CLIENT_TIMEOUT, VAULT_AGENT_ADDR", "For \\fBvault:\\fP references: Vault's own client variables. The token is VAULT_TOKEN unless \\fB\\-\\-vault\\-token\\-file\\fP or an AppRole login (\\fB\\-\\-vault\\-approle\\-role\\-id\\fP) gives one, or a Vault Agent at VAULT_AGENT_ADDR adds it."},
			[2]string{"DBUS_SESSION_BUS_ADDRESS", "The session bus of the \\fBsecret\\-service\\fP keyring backend. Unset, no bus is tried (and no \\fBdbus\\-launch\\fP started)."},
			[2]string{"PASSWORD_STORE_DIR, GNUPGHOME", "Where the \\fBpass\\fP keyring backend and gpg find the store and the keys."},
			[2]string{"AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_EC2_METADATA_DISABLED", "For \\fBaws\\-sm:\\fP references: the AWS SDK's own variables (its default credential chain). See \\fBsmtpcheck\\-secret\\fP(1)."},
			[2]string{"AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, AZURE_TOKEN_CREDENTIALS", "For \\fBazure\\-kv:\\fP references: azidentity's own variables (DefaultAzureCredential). See \\fBsmtpcheck\\-secret\\fP(1)."},
		)
	}
	for _, e := range env {
		fmt.Fprintf(&b, ".TP\n%s\n%s\n", e[0], e[1])
	}
	environment = b.String()

	b.Reset()
	b.WriteString(".SH EXAMPLES\n")
	for _, e := range ex {
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fP\n%s\n", roff(e.Command), e.Checks)
	}
	examples = b.String()
	return perfdata, environment, examples, nil
}

// roff escapes a command line for a man page: '-' is a minus there, so that
// it can be copied and pasted.
func roff(s string) string { return strings.ReplaceAll(s, "-", "\\-") }

// noHyphenation keeps names and options whole across lines: hyphenated,
// "smtpcheck" became "smt‐ pcheck" and could not be searched for.
const noHyphenation = ".nh\n"

// minusSigns turns every '-' of a page's text (not its requests) into
// roff's \-: groff breaks lines after a plain '-', even with .nh, which
// split "smtpcheck-secret" and "--allow-plaintext", and renders it as a
// hyphen that does not paste into a shell.
func minusSigns(page string) string {
	var b strings.Builder
	for line := range strings.Lines(page) {
		if strings.HasPrefix(line, ".") {
			b.WriteString(line)
			continue
		}
		for i := 0; i < len(line); i++ {
			if line[i] == '-' && (i == 0 || line[i-1] != '\\') {
				b.WriteByte('\\')
			}
			b.WriteByte(line[i])
		}
	}
	return b.String()
}
