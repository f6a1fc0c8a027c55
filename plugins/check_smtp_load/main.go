// Command check_smtp_load measures how much mail an SMTP server takes and
// where it breaks: many sessions at once (closed loop) or a fixed rate
// (open loop), bounded by --messages, --duration and -t, with throughput,
// errors by class and reply, and p50/p90/p99/max per phase. Secrets come
// from references (env:, file:, vault:, keyring:) and never reach the output.
package main

import (
	"os"

	"github.com/atc0005/go-nagios"

	"github.com/smtpcheck/smtpcheck/internal/loadcheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

func main() {
	p := nagios.NewPlugin()
	defer p.ReturnCheckResults() // first defer: it prints the verdict and exits

	var o loadcheck.Options
	plugin.Run(p, loadcheck.Name, loadcheck.Service, os.Args[1:], &o, loadcheck.Check)
}
