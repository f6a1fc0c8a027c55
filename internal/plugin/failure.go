package plugin

import "github.com/smtpcheck/smtpcheck/internal/probe"

// FailureState is the one state table of all plugins: the state of a
// session that failed, decided from its facts alone (the phase, the kind of
// failure, the class of the server's reply) and the -t N:STATE setting.
// Following the Nagios plugin guidelines, UNKNOWN is kept for what is ours
// (usage, configuration, internal failure); whatever the server or the
// network did is WARNING or CRITICAL, the same in every plugin. README.md's
// "Exit codes" section carries the same table.
//
//	failure                                            state
//	-------------------------------------------------  ------------------
//	timeout (the -t deadline passed)                   -t's STATE (CRITICAL)
//	KindUsage: we refuse the request ourselves         UNKNOWN
//	4xx in a transaction phase (auth, mail, rcpt,      WARNING
//	  data, message: after the final dot)
//	  the server refuses one request, for now
//	  (but 421: the server closes the session,         CRITICAL
//	  RFC 5321 §3.8, as a 421 greeting)
//	4xx while establishing the session (banner, i.e.   CRITICAL
//	  a 421 greeting; ehlo, starttls, ehlo_tls):
//	  the service is unavailable now
//	everything else: DNS failure, refused, reset,      CRITICAL
//	  closed, TLS, protocol error, any 5xx
//
// A failed QUIT is not a failed session: each plugin judges it on its own
// (check_smtp_conn: WARNING, -q ignores it).
func FailureState(e *probe.Error, t Timeout) State {
	switch {
	case e == nil:
		return OK
	case e.Kind == probe.KindTimeout:
		return t.State
	case e.Kind == probe.KindUsage:
		return Unknown
	case e.Reply != nil && e.Reply.Class() == 4 && e.Reply.Code != 421 && transactionPhase(e.Phase):
		return Warning
	}
	return Critical
}

// transactionPhase reports whether ph is a request inside an established
// session, one a 4xx refuses only for now.
func transactionPhase(ph probe.Phase) bool {
	switch ph {
	case probe.PhaseAuth, probe.PhaseMail, probe.PhaseRcpt, probe.PhaseData, probe.PhaseMessage:
		return true
	}
	return false
}
