package loadcheck

import "github.com/smtpcheck/smtpcheck/internal/plugin"

// Examples end --help and make the man page's EXAMPLES (tried against
// Postfix's smtp-sink and the lab server of make demo).
func (*Options) Examples() []plugin.Example {
	return []plugin.Example{
		{Command: "check_smtp_load -H mx.example.org --to sink@discard.example.org --sessions 20 --messages 5000 --warning-rate 200: --critical-errors 5",
			Checks: "20 sessions at once, a new connection per message, until 5000 are answered (at most 10 s); WARNING below 200 accepted messages per second, CRITICAL above 5 % errors."},
		{Command: "check_smtp_load -H mx.example.org --to sink@discard.example.org --rate 100 --sessions 50 --duration 30 -t 40 -w 1 -c 5",
			Checks: "An open loop of 100 messages per second for 30 s; WARNING when the p99 of a message's time, late replies counted in, passes 1 s, CRITICAL past 5 s."},
		{Command: "check_smtp_load -H mail.example.org -p 587 --user load@example.org --password-ref env:SMTPCHECK_PASSWORD --to sink@example.org --sessions 5 --per-session 100 --warmup 50 --output json",
			Checks: "STARTTLS and AUTH in every session, 100 messages per connection, the first 50 left out; the whole result with its histograms as JSON."},
	}
}
