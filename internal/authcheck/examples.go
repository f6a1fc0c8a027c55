package authcheck

import "github.com/smtpcheck/smtpcheck/internal/plugin"

// Examples end --help and make the man page's EXAMPLES: commands that work
// against a real server (tried against the lab server, make demo).
func (*Options) Examples() []plugin.Example {
	return []plugin.Example{
		{Command: "check_smtp_auth -H smtp.example.org --user monitor@example.org --password-ref file:/etc/smtpcheck/monitor.pass", Checks: "Log in over STARTTLS on port 587 with the strongest mechanism offered; the file must not be readable by group or others."},
		{Command: "SMTPCHECK_PASSWORD=... check_smtp_auth -H smtp.example.org --user monitor@example.org --password-ref env:SMTPCHECK_PASSWORD", Checks: "The password from the plugin's environment."},
		{Command: "check_smtp_auth -H smtp.example.org -p 465 --user monitor@example.org --password-ref vault:secret/monitoring/smtp#password", Checks: "Implicit TLS; the password from HashiCorp Vault (VAULT_ADDR, VAULT_TOKEN), read by smtpcheck-secret."},
		{Command: "check_smtp_auth -H smtp.example.org --user monitor --password-ref keyring:smtp/monitor --keyring-backend keyctl", Checks: "The password from the kernel keyring of the plugin's user."},
	}
}
