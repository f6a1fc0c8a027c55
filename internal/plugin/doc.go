// Package plugin is what every check shares: the common options, the Result a
// check fills with judged findings, details and perfdata, the one place that
// turns findings into a state, and the rendering through go-nagios or JSON.
// It knows nothing of sockets or SMTP.
package plugin
