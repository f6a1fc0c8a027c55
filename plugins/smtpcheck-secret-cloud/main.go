// Command smtpcheck-secret-cloud reads one aws-sm: or azure-kv: reference
// for smtpcheck-secret, which runs it from its own directory: the request
// as JSON on stdin, the value or a one-line error as JSON on stdout. It is
// a program of its own so that the AWS and Azure SDKs' start-up is paid by
// these references only, not by every keyring: or vault: read.
package main

import (
	"io"
	"os"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	_ "github.com/smtpcheck/smtpcheck/internal/prefault" // a cheaper start, as for the plugins
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/cloud"
)

const help = secret.CloudHelperName + ` reads aws-sm: (AWS Secrets Manager) and azure-kv:
(Azure Key Vault) secret references for ` + secret.HelperName + `, which runs it
from its own directory. It is not meant to be run by hand.

Usage: ` + secret.CloudHelperName + ` < REQUEST
       ` + secret.CloudHelperName + ` -h | --help | -V | --version

More: man ` + secret.HelperName + `
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is smtpcheck-secret's run (see secret.HelperProgram).
func run(args []string, in io.Reader, out, errOut io.Writer) int {
	return secret.HelperProgram{Name: secret.CloudHelperName, Help: help, Version: plugin.VersionString(),
		Caller: secret.HelperName + " sends its", Read: cloud.Read}.Run(args, in, out, errOut)
}
