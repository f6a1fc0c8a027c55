// Command smtpcheck-secret reads one vault:, keyring:, aws-sm:, azure-kv: or
// gpg: reference for a plugin: the request (the reference, the plugin's
// secret-store flags and its deadline) as JSON on stdin, the value or a
// one-line error as JSON on stdout. The plugins run it from their own
// directory only when a reference needs a secret store, so that their own
// start stays free of vault/api and keyring; it is not meant to be run by
// hand, but says so on --help. aws-sm: and azure-kv: it hands on to
// smtpcheck-secret-cloud beside it.
package main

import (
	"io"
	"os"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	_ "github.com/smtpcheck/smtpcheck/internal/prefault" // a cheaper start, as for the plugins
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/store"
)

const help = secret.HelperName + ` reads vault:, keyring:, aws-sm:, azure-kv: and gpg:
secret references, and fetches OAuth 2 access tokens, for the smtpcheck
plugins (check_smtp_auth); aws-sm: and azure-kv: through ` + secret.CloudHelperName + `
beside it.
The plugins run it themselves, from their own directory, when a credential
needs a secret store; env: and file: references they read on their own. It
is not meant to be run by hand or by a monitoring engine.

Usage: ` + secret.HelperName + ` < REQUEST
       ` + secret.HelperName + ` -h | --help | -V | --version

REQUEST is one JSON object from a plugin (the reference, the plugin's
secret-store options, its deadline); the value, or a one-line error that never
holds a secret, goes back as JSON on stdout. Exit 0 with an answer, 3 when the
request cannot be read.

The secret-store options: check_smtp_auth --help. More: man ` + secret.HelperName + `
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run serves one request when there are no arguments, as the plugins call
// it (see secret.HelperProgram).
func run(args []string, in io.Reader, out, errOut io.Writer) int {
	return secret.HelperProgram{Name: secret.HelperName, Help: help, Version: plugin.VersionString(),
		Caller: "plugins send their", Read: store.Read}.Run(args, in, out, errOut)
}
