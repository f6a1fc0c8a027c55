// Command check_smtp_tls checks an SMTP server's TLS: the certificate chain
// (trust, name, expiry of every element, keys and signatures), the
// negotiated protocol, the stapled OCSP response and, on request, the
// versions accepted, DANE (TLSA records) and the MTA-STS policy.
package main

import (
	"os"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

func main() {
	p := nagios.NewPlugin()
	defer p.ReturnCheckResults() // first defer: it prints the verdict and exits

	var o tlscheck.Options
	plugin.Run(p, tlscheck.Name, tlscheck.Service, os.Args[1:], &o, tlscheck.Check)
}
