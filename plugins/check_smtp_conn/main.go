// Command check_smtp_conn checks that an SMTP server answers and behaves:
// banner, EHLO, STARTTLS or implicit TLS, optional AUTH and MAIL/RCPT, each
// phase timed. It accepts monitoring-plugins' check_smtp flags.
package main

import (
	"os"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

func main() {
	p := nagios.NewPlugin()
	defer p.ReturnCheckResults() // first defer: it prints the verdict and exits

	var o conncheck.Options
	plugin.Run(p, conncheck.Name, conncheck.Service, os.Args[1:], &o, conncheck.Check)
}
