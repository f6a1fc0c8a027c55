// Command smtpcheck-secret reads one vault: or keyring: reference for a
// plugin: the request (the reference, the plugin's secret-store flags and
// its deadline) as JSON on stdin, the value or a one-line error as JSON on
// stdout. The plugins run it from their own directory only when a reference
// needs a secret store, so that their own start stays free of vault/api and
// keyring; it is not meant to be run by hand.
package main

import (
	"os"

	_ "github.com/smtpcheck/smtpcheck/internal/prefault" // a cheaper start, as for the plugins
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/store"
)

func main() {
	os.Exit(secret.Serve(os.Stdin, os.Stdout, store.Read))
}
