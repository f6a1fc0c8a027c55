// Command check_smtp_auth logs in to an SMTP submission service with a SASL
// mechanism (SCRAM-SHA-256/1, CRAM-MD5, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER)
// and reports whether the credentials work, with each phase timed. Secrets
// come from references (env:, file:, vault:, keyring:) and never reach the
// output; check_smtp's -A/-U/-P still work.
package main

import (
	"os"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

func main() {
	p := nagios.NewPlugin()
	defer p.ReturnCheckResults() // first defer: it prints the verdict and exits

	var o authcheck.Options
	plugin.Run(p, authcheck.Name, authcheck.Service, os.Args[1:], &o, authcheck.Check)
}
