// Package statetable holds no code: its test runs the same faulty servers
// through check_smtp_conn, check_smtp_tls and check_smtp_auth and asserts
// that the same facts give the same state in each (plugin.FailureState, the
// one state table; README "Exit codes").
package statetable
