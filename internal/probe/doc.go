// Package probe runs an SMTP session against one target: resolve once, dial,
// PROXY header, implicit TLS or STARTTLS, banner, EHLO, further commands, QUIT.
// Every phase is timed and every failure carries its phase. It returns facts
// and never decides a monitoring state.
//
// One deadline bounds the session: the context's deadline is set on the socket
// and the socket is closed when the context ends, so no read can outlive it.
package probe
