package securitycheck

import (
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// subcheck is one question the audit asks. states holds, per role it runs
// for, the state it gives when it finds the problem (--state overrides).
type subcheck struct {
	id     string
	title  string
	states map[Role]plugin.State
	advice string // how to fix it on Postfix and Exim
	optIn  string // the flag that turns it on; "" for the default audit
}

// The sub-check ids (also perfdata labels).
const (
	idStartTLS    = "starttls"
	idTLSRequired = "tls_required"
	idAuthPlain   = "auth_plain"
	idAuthRelay   = "auth_relay"
	idOpenRelay   = "open_relay"
	idVRFY        = "vrfy"
	idEXPN        = "expn"
	idInjection   = "injection"
	idBanner      = "banner"
	idWeakTLS     = "weak_tls"
	idRate        = "rate_limit"
	idSmuggling   = "smuggling"
)

var (
	ok   = plugin.OK
	warn = plugin.Warning
	crit = plugin.Critical
)

// subchecks are every sub-check, in the order of the output.
var subchecks = []subcheck{
	{idStartTLS, "STARTTLS offered", map[Role]plugin.State{RoleMX: warn, RoleSubmission: crit},
		"Postfix: smtpd_tls_cert_file, smtpd_tls_key_file and smtpd_tls_security_level = may (mx) or encrypt (submission); Exim: tls_certificate, tls_privatekey and tls_advertise_hosts = *", ""},
	{idTLSRequired, "STARTTLS required before MAIL", map[Role]plugin.State{RoleSubmission: crit},
		"Postfix: -o smtpd_tls_security_level=encrypt on the submission service in master.cf; Exim: in acl_smtp_mail, deny !encrypted = * (and auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}})", ""},
	{idAuthPlain, "no AUTH before STARTTLS", map[Role]plugin.State{RoleMX: warn, RoleSubmission: crit},
		"Postfix: smtpd_tls_auth_only = yes (and smtpd_sasl_auth_enable = no on port 25); Exim: auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}", ""},
	{idAuthRelay, "relay only after AUTH", map[Role]plugin.State{RoleSubmission: crit, RoleSubmissions: crit},
		"Postfix: -o smtpd_relay_restrictions=permit_sasl_authenticated,reject on the submission services; Exim: in acl_smtp_rcpt, accept authenticated = * and deny everything else that is not for a local domain", ""},
	{idOpenRelay, "not an open relay", map[Role]plugin.State{RoleMX: crit},
		"Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, with a tight mynetworks; Exim: in acl_smtp_rcpt, require verify = recipient and deny domains = !+local_domains unless relay_from_hosts or authenticated. A probe from inside mynetworks / relay_from_hosts is allowed to relay: run it from outside", ""},
	{idVRFY, "VRFY does not confirm users", map[Role]plugin.State{RoleMX: warn, RoleSubmission: warn, RoleSubmissions: warn},
		"Postfix: disable_vrfy_command = yes; Exim: no acl_smtp_vrfy (the default refuses VRFY) or an acl_smtp_vrfy that denies", ""},
	{idEXPN, "EXPN does not expand lists", map[Role]plugin.State{RoleMX: warn, RoleSubmission: warn, RoleSubmissions: warn},
		"Postfix has no EXPN; Exim: no acl_smtp_expn (the default refuses EXPN)", ""},
	{idInjection, "STARTTLS command injection", map[Role]plugin.State{RoleMX: crit, RoleSubmission: crit},
		"upgrade or replace the server software: it runs commands sent in clear text before the TLS handshake as if they came encrypted (CVE-2011-0411 class); Postfix discards them since 2.7.3 (and 2.4.16, 2.5.12, 2.6.9), and so does Exim; a middlebox that terminates TLS may be the culprit", ""},
	{idBanner, "software not disclosed", map[Role]plugin.State{RoleMX: ok, RoleSubmission: ok, RoleSubmissions: ok},
		"Postfix: smtpd_banner = $myhostname ESMTP; Exim: smtp_banner = $smtp_active_hostname ESMTP $tod_full (informational: --state banner=warning makes it count)", ""},
	{idWeakTLS, "no old TLS or weak ciphers", map[Role]plugin.State{RoleMX: warn, RoleSubmission: warn, RoleSubmissions: warn},
		"Postfix: smtpd_tls_protocols = >=TLSv1.2, smtpd_tls_mandatory_protocols = >=TLSv1.2 and smtpd_tls_exclude_ciphers = RC4, 3DES, aNULL, eNULL, EXPORT; Exim: tls_require_ciphers = SECURE192:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2 (GnuTLS) or openssl_options = +no_tlsv1 +no_tlsv1_1", ""},
	{idRate, "connections rate-limited", map[Role]plugin.State{RoleMX: warn, RoleSubmission: warn, RoleSubmissions: warn},
		"Postfix: smtpd_client_connection_rate_limit and smtpd_client_connection_count_limit (anvil(8); clients in smtpd_client_event_limit_exceptions, by default $mynetworks, are exempt); Exim: smtp_accept_max_per_host and ratelimit in acl_smtp_connect", "rate-probe"},
	{idSmuggling, "no SMTP smuggling", map[Role]plugin.State{RoleMX: crit},
		"Postfix: smtpd_forbid_bare_newline = normalize (3.9; yes in 3.5.23, 3.6.13, 3.7.9, 3.8.4) or reject_unauth_pipelining in smtpd_data_restrictions, and smtpd_forbid_bare_newline_exclusions without your trusted networks; Exim: upgrade to 4.97.1 or later", "smuggling-rcpt"},
}

// find is the sub-check with this id; nil when there is none.
func find(id string) *subcheck {
	for i := range subchecks {
		if subchecks[i].id == id {
			return &subchecks[i]
		}
	}
	return nil
}

// allIDs lists the ids, for messages.
func allIDs() []string {
	out := make([]string, len(subchecks))
	for i, sc := range subchecks {
		out[i] = sc.id
	}
	return out
}
