// Command check_smtp_security audits what an SMTP server must refuse:
// relaying for strangers, mail and AUTH in clear text, user enumeration,
// commands injected before STARTTLS, old TLS. Each sub-check gives its own
// state with the server's replies as evidence; it never sends DATA.
package main

import (
	"os"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/securitycheck"
)

func main() {
	p := nagios.NewPlugin()
	defer p.ReturnCheckResults() // first defer: it prints the verdict and exits

	var o securitycheck.Options
	plugin.Run(p, securitycheck.Name, securitycheck.Service, os.Args[1:], &o, securitycheck.Check)
}
