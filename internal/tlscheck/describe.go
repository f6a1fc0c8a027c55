package tlscheck

import (
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// describe words a failure as every plugin does (probe.Error.Describe), but
// names --min-tls when the server refused every version we offered.
func (o *Options) describe(e *probe.Error, where string) string {
	if e.Kind == probe.KindTLS && protocolVersionAlert(e.Err) {
		return e.Phase.String() + ": TLS handshake failed: " + probe.PlainErr(e.Err) + " (" + where + ") - the server accepts no TLS version from " +
			tlsaudit.VersionName(o.MinVersion()) + " up (--min-tls)"
	}
	return e.Describe(where, o.Timeout.Duration)
}

// protocolVersionAlert matches alert 70 (protocol_version): crypto/tls
// reports remote alerts with an unexported type, so only the text is left.
func protocolVersionAlert(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "protocol version not supported") || strings.Contains(msg, "unsupported protocol version")
}

func modeName(m probe.TLSMode) string {
	if m == probe.TLSImplicit {
		return "implicit TLS"
	}
	return "STARTTLS"
}
