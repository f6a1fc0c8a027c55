// Package plugin is what every check shares: the common options, the Result a
// check fills with judged findings, details and perfdata, the one place that
// turns findings into a state, the one table that gives a failed session its
// state (FailureState, from the facts of a probe.Error), and the rendering
// through go-nagios or JSON. It opens no socket and speaks no SMTP.
package plugin
