// Package health is smtpcheck-health: an HTTP endpoint that answers "is
// this SMTP service healthy?" for load balancers, Kubernetes probes and
// dashboards. Its checks are profiles, sections of an ini file in the
// format --extra-opts reads, each naming a plugin (conn, tls or auth) and
// that plugin's options; the plugin's own parser and Validate read them,
// and its Check (Gather, then Judge) runs in-process.
//
// GET or HEAD /health/NAME answers one check, /health all of them (the
// worst state wins): 200 for OK, 200 or 503 for WARNING (--warning-status),
// 503 otherwise, with a JSON body. Results are cached for --max-age and a
// check has at most one probe in flight, so a flood of requests costs the
// mail server at most one session per check per max-age; --interval
// refreshes them in the background. /metrics gives the same facts in
// Prometheus' text format.
package health
