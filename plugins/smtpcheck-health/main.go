// Command smtpcheck-health serves the results of smtpcheck's checks over
// HTTP for load balancers, Kubernetes probes and dashboards: GET
// /health/NAME answers 200 or 503 with a JSON body, from profiles in
// /etc/smtpcheck/health.ini run in-process and cached. See package health.
package main

import (
	"os"

	"github.com/smtpcheck/smtpcheck/internal/health"
)

func main() { os.Exit(health.Main(os.Args[1:], os.Stdout, os.Stderr)) }
