// Command check_smtp_delivery checks that mail submitted through an SMTP
// server arrives, and how fast: it sends a probe with a unique header,
// finds it over IMAP (INBOX, then Junk), measures the delay on its own
// clock and deletes the probe again, never more than its own. Secrets come
// from references (env:, file:, vault:, keyring:) and never reach the output.
package main

import (
	"os"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/deliverycheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

func main() {
	p := nagios.NewPlugin()
	defer p.ReturnCheckResults() // first defer: it prints the verdict and exits

	var o deliverycheck.Options
	plugin.Run(p, deliverycheck.Name, deliverycheck.Service, os.Args[1:], &o, deliverycheck.Check)
}
