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
	// roleAdvice replaces advice for a role where the fix differs.
	roleAdvice map[Role]string
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
	idRcptEnum    = "rcpt_enum"
	idInjection   = "injection"
	idBanner      = "banner"
	idWeakTLS     = "weak_tls"
	idRate        = "rate_limit"
	idSmuggling   = "smuggling"
	idMX          = "mx"
	idSPF         = "spf"
	idDMARC       = "dmarc"
	idMTASTS      = "mta_sts"
	idTLSRPT      = "tls_rpt"
	idTLSA        = "tlsa"
)

var (
	ok   = plugin.OK
	warn = plugin.Warning
	crit = plugin.Critical
)

// subchecks are every sub-check, in the order of the output.
var subchecks = []subcheck{
	{idStartTLS, "STARTTLS offered", map[Role]plugin.State{RoleMX: warn, RoleSubmission: crit},
		"Postfix: smtpd_tls_cert_file, smtpd_tls_key_file and smtpd_tls_security_level = may (mx) or encrypt (submission); Exim: tls_certificate, tls_privatekey and tls_advertise_hosts = *", "", nil},
	{idTLSRequired, "STARTTLS required before MAIL", map[Role]plugin.State{RoleSubmission: crit},
		"Postfix: -o smtpd_tls_security_level=encrypt on the submission service in master.cf; Exim: in acl_smtp_mail, deny !encrypted = * (and auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}})", "", nil},
	{idAuthPlain, "no AUTH before STARTTLS", map[Role]plugin.State{RoleMX: warn, RoleSubmission: crit},
		"Postfix: smtpd_tls_auth_only = yes (and smtpd_sasl_auth_enable = no on port 25); Exim: auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}", "", nil},
	{idAuthRelay, "relay only after AUTH", map[Role]plugin.State{RoleSubmission: crit, RoleSubmissions: crit},
		"Postfix: -o smtpd_relay_restrictions=permit_sasl_authenticated,reject on the submission services; Exim: in acl_smtp_rcpt, accept authenticated = * and deny everything else that is not for a local domain", "", nil},
	{idOpenRelay, "not an open relay", map[Role]plugin.State{RoleMX: crit},
		"Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, with a tight mynetworks; Exim: in acl_smtp_rcpt, require verify = recipient and deny domains = !+local_domains unless relay_from_hosts or authenticated. A probe from inside mynetworks / relay_from_hosts is allowed to relay: run it from outside", "", nil},
	{idVRFY, "VRFY does not confirm users", map[Role]plugin.State{RoleMX: warn, RoleSubmission: warn, RoleSubmissions: warn},
		"Postfix: disable_vrfy_command = yes; Exim: no acl_smtp_vrfy (the default refuses VRFY) or an acl_smtp_vrfy that denies", "", nil},
	{idEXPN, "EXPN does not expand lists", map[Role]plugin.State{RoleMX: warn, RoleSubmission: warn, RoleSubmissions: warn},
		"Postfix has no EXPN; Exim: no acl_smtp_expn (the default refuses EXPN)", "", nil},
	{idRcptEnum, "RCPT does not tell users apart", map[Role]plugin.State{RoleMX: ok, RoleSubmission: warn, RoleSubmissions: warn}, "", "", map[Role]string{
		RoleMX:          harvestAdvice,
		RoleSubmission:  "refuse MAIL or RCPT before a login: Postfix: -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject on the submission service in master.cf; Exim: in acl_smtp_rcpt, accept authenticated = * and deny everything else",
		RoleSubmissions: "refuse MAIL or RCPT before a login: Postfix: -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject on the submissions service in master.cf; Exim: in acl_smtp_rcpt, accept authenticated = * and deny everything else",
	}},
	{idInjection, "STARTTLS command injection", map[Role]plugin.State{RoleMX: crit, RoleSubmission: crit},
		"upgrade or replace the server software: it runs commands sent in clear text before the TLS handshake as if they came encrypted (CVE-2011-0411 class); Postfix discards them since 2.7.3 (and 2.4.16, 2.5.12, 2.6.9), and so does Exim; a middlebox that terminates TLS may be the culprit", "", nil},
	{idBanner, "software not disclosed", map[Role]plugin.State{RoleMX: ok, RoleSubmission: ok, RoleSubmissions: ok},
		"Postfix: smtpd_banner = $myhostname ESMTP; Exim: smtp_banner = $smtp_active_hostname ESMTP $tod_full (informational: --state banner=warning makes it count)", "", nil},
	{idWeakTLS, "no old TLS or weak ciphers", map[Role]plugin.State{RoleMX: warn, RoleSubmission: warn, RoleSubmissions: warn},
		"Postfix: smtpd_tls_protocols = >=TLSv1.2, smtpd_tls_mandatory_protocols = >=TLSv1.2 and smtpd_tls_exclude_ciphers = RC4, 3DES, aNULL, eNULL, EXPORT; Exim: tls_require_ciphers = SECURE192:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2 (GnuTLS) or openssl_options = +no_tlsv1 +no_tlsv1_1", "", nil},
	{idRate, "connections rate-limited", map[Role]plugin.State{RoleMX: warn, RoleSubmission: warn, RoleSubmissions: warn},
		"Postfix: smtpd_client_connection_rate_limit and smtpd_client_connection_count_limit (anvil(8); clients in smtpd_client_event_limit_exceptions, by default $mynetworks, are exempt); Exim: smtp_accept_max_per_host and ratelimit in acl_smtp_connect", "rate-probe", nil},
	{idSmuggling, "no SMTP smuggling", map[Role]plugin.State{RoleMX: crit},
		"Postfix: smtpd_forbid_bare_newline = normalize (3.9; yes in 3.5.23, 3.6.13, 3.7.9, 3.8.4) or reject_unauth_pipelining in smtpd_data_restrictions, and smtpd_forbid_bare_newline_exclusions without your trusted networks; Exim: upgrade to 4.97.1 or later", "smuggling-rcpt", nil},
	{idMX, "MX records present", allRoles(warn),
		"publish MX records for the domain (a null MX, MX 0 \".\", RFC 7505, if it receives no mail)", "domain", nil},
	{idSPF, "one parseable SPF record", allRoles(warn),
		"publish exactly one TXT record \"v=spf1 mx -all\" (or ~all), listing every host that sends as the domain in at most 10 DNS-lookup terms (include, a, mx, ptr, exists, redirect)", "domain", nil},
	{idDMARC, "DMARC policy enforced", allRoles(warn),
		"publish _dmarc TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@DOMAIN\" (p=reject once the reports are clean)", "domain", nil},
	{idMTASTS, "MTA-STS enforced", allRoles(warn),
		"publish _mta-sts TXT \"v=STSv1; id=...\" and https://mta-sts.DOMAIN/.well-known/mta-sts.txt with mode: enforce and an mx: line for every MX host (RFC 8461); start with mode: testing and a TLS-RPT record", "domain", nil},
	{idTLSRPT, "TLS-RPT record", allRoles(warn),
		"publish _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tls-reports@DOMAIN\" (RFC 8460) to hear of failed TLS deliveries", "domain", nil},
	{idTLSA, "DANE TLSA records usable", allRoles(warn),
		"publish TLSA records at _25._tcp.MXHOST (e.g. 3 1 1, the SHA-256 of the key) in a DNSSEC-signed zone; Postfix: smtp_dns_support_level = dnssec, smtp_tls_security_level = dane on the sending side", "domain", nil},
}

// harvestAdvice is rcpt_enum's advice on an MX, which must refuse unknown
// recipients at RCPT (accepting them and bouncing later is backscatter):
// it can only make harvesting slow.
const harvestAdvice = "an MX must refuse unknown recipients at RCPT (accepting and bouncing later sends backscatter), so limit harvesting instead: Postfix: smtpd_hard_error_limit (e.g. 5), smtpd_error_sleep_time, smtpd_junk_command_limit and postscreen in front of smtpd; Exim: smtp_accept_max_nonmail and a ratelimit ACL on failed recipients (ratelimit = 5 / 1h / per_rcpt / strict in acl_smtp_rcpt when verify = recipient fails)"

// allRoles gives a sub-check the same state for every role.
func allRoles(st plugin.State) map[Role]plugin.State {
	return map[Role]plugin.State{RoleMX: st, RoleSubmission: st, RoleSubmissions: st}
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
