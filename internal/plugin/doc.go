// Package plugin is what every check shares: the common options and the TLS
// flag group, the Result a check fills with judged findings, details and
// perfdata, the one place that turns findings into a state, the one table
// that gives a failed session its state (FailureState, from the facts of a
// probe.Error), the wording of the probe's facts (Describe, Hint), the run's
// lifecycle (Run: parse, validate, one deadline, a watchdog) and the
// rendering through go-nagios or JSON. It opens no socket and speaks no SMTP.
//
// # Adding a plugin
//
// A plugin is a package internal/<name>check and a thin main in
// plugins/check_smtp_<name>; check_smtp_conn (internal/conncheck) is the
// model. The package holds:
//
//   - options.go: Options embedding Common, Server and, if it speaks TLS,
//     TLS (the shared flag group: same names, same port → mode defaults);
//     Validate(ctx) refuses what cannot run as a *UsageError before anything
//     is dialled, and derives what the run needs.
//   - session.go: Facts, which embed probe.Outcome and add the plugin's own
//     facts as data (timings and replies, never sentences: the load mode and
//     the health endpoint aggregate them), and Gather(ctx, o) *Facts, which
//     does all the network and file work: one probe.Plan run by probe.Run
//     (dial → banner → EHLO → STARTTLS → the plugin's Steps → polite QUIT),
//     and side jobs beside it through internal/fanout.
//   - judge.go: (o *Options) Judge(f *Facts, now) *Result, pure, the one
//     place the plugin decides states: FailureState for a failed session,
//     Describe and Hint for its words, SessionLines and SessionPerf for the
//     standard long output and perfdata (the same phase labels, "total"
//     and "time", in every plugin).
//   - Check(ctx, o) = o.Judge(Gather(ctx, o), time.Now()), which main hands
//     to Run with its Name and Service.
//
// Tests go beside it: scripted hostile servers (internal/smtptest), golden
// outputs (internal/plugintest), and a row in internal/statetable when the
// plugin meets a fact another plugin judges too.
package plugin
