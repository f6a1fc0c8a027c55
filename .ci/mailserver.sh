#!/usr/bin/env bash
# .ci/mailserver.sh start|stop|status
#
# Brings up a private Postfix + Dovecot instance on loopback addresses only,
# for smtpcheck's tests against real servers. Everything it writes lives under
# $SMTPCHECK_MAIL_DIR (default /tmp/smtpcheck-mail), apart from a marked block
# in /etc/hosts (removed again by `stop`), the system user smtpcheck-vmail
# and, if missing, the Debian packages it needs.
#
# Listeners (all on loopback):
#   127.0.0.1:25   SMTP, STARTTLS offered (valid cert), no AUTH
#   127.0.0.1:587  submission, STARTTLS required, AUTH (Dovecot SASL) after TLS
#   127.0.0.1:465  submissions, implicit TLS, AUTH (Dovecot SASL)
#   127.0.0.2:25   SMTP, STARTTLS with an EXPIRED certificate
#   127.0.0.3:25   SMTP, STARTTLS with a certificate for wrong.example.invalid
#   127.0.0.4:25   SMTP, STARTTLS, and 127.0.0.4:587 submission with AUTH, both
#                  with a certificate that names only mail.smtpcheck.test (no IP
#                  address): a host known to the engine by its address
#   127.0.0.1:143  IMAP (STARTTLS), 127.0.0.1:993 IMAPS  (Dovecot)
#
# Every Postfix listener is hardened: VRFY off, smtpd_forbid_bare_newline,
# TLS 1.2 and later only. The deliberately open Postfix is .ci/postfix-open.sh.
#
# The test user's mailbox has Junk and Trash folders marked SPECIAL-USE (\Junk,
# \Trash). Where dovecot-sieve and dovecot-lmtpd are installable (Debian 12:
# yes), Postfix delivers through Dovecot LMTP and a Sieve rule files messages
# with the header `X-Lab-Junk: yes` into Junk (env SMTPCHECK_SIEVE_JUNK=1);
# otherwise Postfix's virtual(8) writes the Maildir and nothing lands in Junk.
#
# `start` writes $SMTPCHECK_MAIL_DIR/env (shell KEY=value lines) for tests:
#   SMTPCHECK_POSTFIX=1, SMTPCHECK_POSTFIX_CA, SMTPCHECK_POSTFIX_USER,
#   SMTPCHECK_POSTFIX_PASSWORD_FILE, SMTPCHECK_IMAP=1 (when IMAP answers), ...
#
# Must run as root. Safe to call `start` twice (it stops a running instance
# first); on failure it stops whatever it started and exits non-zero.

set -euo pipefail

MAIL_DIR="${SMTPCHECK_MAIL_DIR:-/tmp/smtpcheck-mail}"
case "$MAIL_DIR" in
  /*) ;;
  *) MAIL_DIR="$(pwd)/$MAIL_DIR" ;;
esac
MAIL_DIR="${MAIL_DIR%/}"
case "$MAIL_DIR" in
  *[[:space:]]* | "") echo "mailserver: SMTPCHECK_MAIL_DIR must be a path without whitespace" >&2; exit 2 ;;
esac

PF_CONF="$MAIL_DIR/postfix"        # config_directory (main.cf, master.cf, maps)
PF_QUEUE="$MAIL_DIR/spool"         # queue_directory
PF_DATA="$MAIL_DIR/data"           # data_directory
DC_DIR="$MAIL_DIR/dovecot"
DC_CONF="$DC_DIR/dovecot.conf"
DC_BASE="$DC_DIR/run"              # Dovecot base_dir
DC_STATE="$DC_DIR/state"
TLS_DIR="$MAIL_DIR/tls"
LOG_DIR="$MAIL_DIR/log"
VMAIL_DIR="$MAIL_DIR/mail"
CA_PEM="$MAIL_DIR/ca.pem"
PASSWORD_FILE="$MAIL_DIR/password"
ENV_FILE="$MAIL_DIR/env"

HOSTNAME_FQDN="mail.smtpcheck.test"
DOMAIN="smtpcheck.test"
TEST_USER="monitor@smtpcheck.test"
TEST_PASSWORD="monitor-secret"
VMAIL_USER="smtpcheck-vmail"

HOSTS_BEGIN="# BEGIN smtpcheck-mailserver (managed by .ci/mailserver.sh)"
HOSTS_END="# END smtpcheck-mailserver"

PACKAGES=(postfix dovecot-core dovecot-imapd monitoring-plugins-standard openssl ca-certificates)
# Optional: delivery through LMTP with a Sieve rule for the Junk path.
SIEVE_PACKAGES=(dovecot-lmtpd dovecot-sieve)
SIEVE=0
LOCAL_TRANSPORT=virtual

# host port kind(smtp|smtps|imap|imaps) description
LISTENERS=(
  "127.0.0.1 25 smtp SMTP+STARTTLS(valid-cert)"
  "127.0.0.1 587 smtp submission(STARTTLS-required,AUTH)"
  "127.0.0.1 465 smtps submissions(implicit-TLS,AUTH)"
  "127.0.0.2 25 smtp SMTP+STARTTLS(expired-cert)"
  "127.0.0.3 25 smtp SMTP+STARTTLS(wrong-name-cert)"
  "127.0.0.4 25 smtp SMTP+STARTTLS(DNS-name-only-cert)"
  "127.0.0.4 587 smtp submission(DNS-name-only-cert,AUTH)"
)
IMAP_LISTENERS=(
  "127.0.0.1 143 imap IMAP+STARTTLS"
  "127.0.0.1 993 imaps IMAPS"
)
READY_TIMEOUT=30
declare -A GREETING=()

log() { printf 'mailserver: %s\n' "$*" >&2; }
die() { printf 'mailserver: ERROR: %s\n' "$*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root"
}

# ---------------------------------------------------------------- install ---

POLICY_RC_CREATED=0
remove_policy_rc() {
  if [ "$POLICY_RC_CREATED" = 1 ]; then
    rm -f /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=0
  fi
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  log "installing: ${missing[*]}"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, from smtpcheck .ci/mailserver.sh: start no daemons\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=1
  fi
  local apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    log "apt-get install failed (rc=$rc); running apt-get update and retrying"
    rc=0
    apt-get update -q </dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null || rc=$?
    fi
  fi
  remove_policy_rc
  [ "$rc" -eq 0 ] || die "could not install ${missing[*]}"
}

ensure_vmail_user() {
  if ! getent passwd "$VMAIL_USER" >/dev/null; then
    log "creating system user $VMAIL_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --comment "smtpcheck test mail owner" "$VMAIL_USER"
  fi
  VMAIL_UID="$(id -u "$VMAIL_USER")"
  VMAIL_GID="$(id -g "$VMAIL_USER")"
}

# ------------------------------------------------------------ certificates ---

SERVER_EXT_COMMON='basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer'

x509_supports_not_before() {
  openssl x509 -help 2>&1 | grep -q -- '-not_before'
}

# sign_leaf NAME CN SAN validity...   validity: "days N" | "dates START END"
# (dates in YYYYMMDDHHMMSSZ form)
sign_leaf() {
  local name="$1" cn="$2" san="$3" mode="$4"
  local key="$TLS_DIR/$name.key" csr="$TLS_DIR/$name.csr" crt="$TLS_DIR/$name.crt"
  local ext="$TLS_DIR/$name.ext"
  printf '[ v3_srv ]\n%s\nsubjectAltName = %s\n' "$SERVER_EXT_COMMON" "$san" >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$key" -out "$csr" \
    -subj "/O=smtpcheck test/CN=$cn" 2>/dev/null
  chmod 0600 "$key"
  if [ "$mode" = days ]; then
    openssl x509 -req -in "$csr" -CA "$CA_PEM" -CAkey "$TLS_DIR/ca.key" \
      -CAcreateserial -CAserial "$TLS_DIR/ca.srl" -days "$5" -sha256 \
      -extfile "$ext" -extensions v3_srv -out "$crt" 2>/dev/null
  elif x509_supports_not_before; then
    openssl x509 -req -in "$csr" -CA "$CA_PEM" -CAkey "$TLS_DIR/ca.key" \
      -CAcreateserial -CAserial "$TLS_DIR/ca.srl" -not_before "$5" -not_after "$6" -sha256 \
      -extfile "$ext" -extensions v3_srv -out "$crt" 2>/dev/null
  else
    # OpenSSL < 3.4: `openssl ca` can set arbitrary (past) validity dates.
    local db="$TLS_DIR/ca-db"
    rm -rf "$db"
    mkdir -p "$db/newcerts"
    : >"$db/index.txt"
    openssl rand -hex 16 >"$db/serial"
    cat >"$db/ca.cnf" <<EOF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $db
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
certificate = $CA_PEM
private_key = $TLS_DIR/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
organizationName = optional
commonName = supplied
EOF
    openssl ca -batch -notext -config "$db/ca.cnf" -in "$csr" -out "$crt" \
      -startdate "$5" -enddate "$6" -extfile "$ext" -extensions v3_srv 2>/dev/null
  fi
  rm -f "$csr"
}

certs_usable() {
  local f
  for f in "$CA_PEM" "$TLS_DIR/ca.key" "$TLS_DIR/valid.crt" "$TLS_DIR/valid.key" \
    "$TLS_DIR/expired.crt" "$TLS_DIR/expired.key" "$TLS_DIR/wrongname.crt" "$TLS_DIR/wrongname.key" \
    "$TLS_DIR/dnsonly.crt" "$TLS_DIR/dnsonly.key"; do
    [ -s "$f" ] || return 1
  done
  # still valid for at least a week?
  openssl x509 -in "$CA_PEM" -noout -checkend 604800 >/dev/null 2>&1 || return 1
  openssl x509 -in "$TLS_DIR/valid.crt" -noout -checkend 604800 >/dev/null 2>&1 || return 1
  openssl x509 -in "$TLS_DIR/wrongname.crt" -noout -checkend 604800 >/dev/null 2>&1 || return 1
  openssl x509 -in "$TLS_DIR/dnsonly.crt" -noout -checkend 604800 >/dev/null 2>&1 || return 1
  openssl verify -CAfile "$CA_PEM" "$TLS_DIR/valid.crt" >/dev/null 2>&1 || return 1
  return 0
}

make_certs() {
  mkdir -p "$TLS_DIR"
  chmod 0755 "$TLS_DIR"
  if certs_usable; then
    log "reusing test CA and certificates in $TLS_DIR"
    return 0
  fi
  log "generating test CA and server certificates in $TLS_DIR"
  rm -f "$TLS_DIR"/*.crt "$TLS_DIR"/*.key "$TLS_DIR"/*.ext "$TLS_DIR"/ca.srl
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$TLS_DIR/ca.key" -out "$CA_PEM" \
    -subj "/O=smtpcheck test/CN=smtpcheck test CA" \
    -addext "basicConstraints = critical, CA:TRUE" \
    -addext "keyUsage = critical, keyCertSign, cRLSign" 2>/dev/null
  chmod 0600 "$TLS_DIR/ca.key"
  cp "$CA_PEM" "$TLS_DIR/ca.crt"
  sign_leaf valid "$HOSTNAME_FQDN" "DNS:$HOSTNAME_FQDN, DNS:localhost, IP:127.0.0.1" days 3650
  # Expired: the right names (plus its own address) so expiry is its only defect.
  sign_leaf expired "$HOSTNAME_FQDN" "DNS:$HOSTNAME_FQDN, DNS:localhost, IP:127.0.0.1, IP:127.0.0.2" \
    dates 20200101000000Z 20200201000000Z
  # Wrong name: valid dates and chain, but only for a name nobody asks for.
  sign_leaf wrongname "wrong.example.invalid" "DNS:wrong.example.invalid" days 3650
  # DNS name only, as most real certificates: verifies for mail.smtpcheck.test,
  # never for the address it is served on (.ci/steps/60-engines.sh).
  sign_leaf dnsonly "$HOSTNAME_FQDN" "DNS:$HOSTNAME_FQDN" days 3650
  openssl verify -CAfile "$CA_PEM" "$TLS_DIR/valid.crt" >/dev/null ||
    die "generated valid certificate does not verify"
  if openssl x509 -in "$TLS_DIR/expired.crt" -noout -checkend 0 >/dev/null 2>&1; then
    die "generated 'expired' certificate is not expired"
  fi
}

# ------------------------------------------------------------------ config ---

write_postfix_config() {
  mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DATA" "$LOG_DIR"
  chown root:root "$PF_CONF" "$PF_QUEUE"
  chmod 0755 "$PF_CONF" "$PF_QUEUE" "$LOG_DIR"
  chown postfix:postfix "$PF_DATA"
  chmod 0700 "$PF_DATA"

  cat >"$PF_CONF/main.cf" <<EOF
# Generated by .ci/mailserver.sh -- private smtpcheck test instance.
compatibility_level = 3.6
config_directory = $PF_CONF
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
mail_owner = postfix
setgid_group = postdrop
maillog_file = $LOG_DIR/postfix.log
maillog_file_prefixes = $LOG_DIR
biff = no
readme_directory = no
append_dot_mydomain = no

myhostname = $HOSTNAME_FQDN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination = \$myhostname, $DOMAIN, localhost
# Only 127.0.0.1 is an interface address; master.cf binds 127.0.0.2-.4 explicitly.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Nobody relays by IP address: only SASL-authenticated clients may.
mynetworks =
smtpd_banner = \$myhostname ESMTP \$mail_name (smtpcheck test)

# Keep all traffic on this machine.
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
default_transport = discard:smtpcheck test server delivers nothing remotely
relay_transport = discard:smtpcheck test server delivers nothing remotely
smtp_tls_security_level = none

# Local domain recipients: only these exist; others get 550 at RCPT.
alias_maps =
alias_database =
local_recipient_maps = texthash:$PF_CONF/recipients
unknown_local_recipient_reject_code = 550
virtual_alias_maps = texthash:$PF_CONF/virtual
# Local mail goes to a Maildir that Dovecot serves over IMAP.
local_transport = $LOCAL_TRANSPORT
virtual_mailbox_base = $VMAIL_DIR
virtual_mailbox_maps = texthash:$PF_CONF/vmailbox
virtual_minimum_uid = $VMAIL_UID
virtual_uid_maps = static:$VMAIL_UID
virtual_gid_maps = static:$VMAIL_GID

smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =

# Hardened as check_smtp_security wants it (the open counterpart is
# .ci/postfix-open.sh): no VRFY, no bare-LF end of data (SMTP smuggling; in
# Postfix 3.5.23, 3.6.13, 3.7.9, 3.8.4 and later), no TLS below 1.2.
disable_vrfy_command = yes
smtpd_forbid_bare_newline = yes
smtpd_forbid_bare_newline_exclusions =

# TLS (valid certificate unless a service overrides it).
smtpd_tls_cert_file = $TLS_DIR/valid.crt
smtpd_tls_key_file = $TLS_DIR/valid.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_session_cache_database = btree:\${data_directory}/smtpd_scache

# SASL through Dovecot (enabled per service in master.cf).
smtpd_sasl_auth_enable = no
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_security_options = noanonymous
broken_sasl_auth_clients = no
EOF

  cat >"$PF_CONF/master.cf" <<EOF
# Generated by .ci/mailserver.sh -- every listener is on loopback; no chroot.
# service            type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:25         inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/smtp-valid
127.0.0.1:587        inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:465        inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.2:25         inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/smtp-expired
  -o smtpd_tls_cert_file=$TLS_DIR/expired.crt
  -o smtpd_tls_key_file=$TLS_DIR/expired.key
127.0.0.3:25         inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/smtp-wrongname
  -o smtpd_tls_cert_file=$TLS_DIR/wrongname.crt
  -o smtpd_tls_key_file=$TLS_DIR/wrongname.key
127.0.0.4:25         inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/smtp-dnsonly
  -o smtpd_tls_cert_file=$TLS_DIR/dnsonly.crt
  -o smtpd_tls_key_file=$TLS_DIR/dnsonly.key
127.0.0.4:587        inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission-dnsonly
  -o smtpd_tls_cert_file=$TLS_DIR/dnsonly.crt
  -o smtpd_tls_key_file=$TLS_DIR/dnsonly.key
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
virtual    unix  -       n       n       -       -       virtual
lmtp       unix  -       -       n       -       -       lmtp
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
EOF

  cat >"$PF_CONF/recipients" <<EOF
postmaster@$DOMAIN OK
$TEST_USER OK
postmaster OK
monitor OK
EOF
  cat >"$PF_CONF/virtual" <<EOF
postmaster@$DOMAIN $TEST_USER
postmaster@$HOSTNAME_FQDN $TEST_USER
postmaster@localhost $TEST_USER
EOF
  cat >"$PF_CONF/vmailbox" <<EOF
$TEST_USER $TEST_USER/
EOF
}

# sieve_setup sets SIEVE=1 and LOCAL_TRANSPORT when dovecot-sieve and
# dovecot-lmtpd are installed or installable; a failed install is not fatal.
sieve_setup() {
  local p missing=()
  for p in "${SIEVE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing (optional, for the Sieve Junk rule): ${missing[*]}"
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2; then
      log "WARNING: ${missing[*]} not installable: no Sieve, nothing lands in Junk"
      return 0
    fi
  fi
  SIEVE=1
  LOCAL_TRANSPORT=lmtp:unix:private/dovecot-lmtp
}

# write_sieve: the global rule that files `X-Lab-Junk: yes` into Junk,
# compiled here (the LMTP process runs as the mail user and cannot write
# beside it).
write_sieve() {
  mkdir -p "$DC_DIR/sieve"
  cat >"$DC_DIR/sieve/junk.sieve" <<'SIEVE'
require ["fileinto"];
if header :is "X-Lab-Junk" "yes" {
  fileinto "Junk";
  stop;
}
SIEVE
  sievec -c "$DC_CONF" "$DC_DIR/sieve/junk.sieve" || die "sievec failed on $DC_DIR/sieve/junk.sieve"
  chmod 0755 "$DC_DIR/sieve"
  chmod 0644 "$DC_DIR/sieve/junk.sieve" "$DC_DIR/sieve/junk.svbin"
}

write_dovecot_config() {
  mkdir -p "$DC_DIR" "$DC_BASE" "$DC_STATE" "$VMAIL_DIR/$TEST_USER"
  chmod 0755 "$DC_DIR" "$DC_BASE"
  chown "$VMAIL_UID:$VMAIL_GID" "$VMAIL_DIR" "$VMAIL_DIR/$TEST_USER"
  chmod 0750 "$VMAIL_DIR"
  chmod 0700 "$VMAIL_DIR/$TEST_USER"

  # passwd-file: user:password:uid:gid:gecos:home:shell:extra
  # Plaintext storage so that PLAIN, LOGIN, CRAM-MD5 and SCRAM all work.
  # nodelay=yes: no failure delay/penalty where Dovecot honours it (CRAM-MD5
  # fails at once; PLAIN/LOGIN failures still take ~0.5 s, Dovecot's
  # failure-flush interval, with auth_failure_delay = 0).
  printf '%s:{PLAIN}%s:%s:%s::%s::nodelay=yes\n' "$TEST_USER" "$TEST_PASSWORD" \
    "$VMAIL_UID" "$VMAIL_GID" "$VMAIL_DIR/$TEST_USER" >"$DC_DIR/passwd"
  chown root:dovecot "$DC_DIR/passwd"
  chmod 0640 "$DC_DIR/passwd"

  umask 077
  printf '%s\n' "$TEST_PASSWORD" >"$PASSWORD_FILE"
  umask 022
  chmod 0600 "$PASSWORD_FILE"

  cat >"$DC_CONF" <<EOF
# Generated by .ci/mailserver.sh -- private smtpcheck test instance.
base_dir = $DC_BASE
state_dir = $DC_STATE
instance_name = smtpcheck-dovecot
protocols = imap
listen = 127.0.0.1
log_path = $LOG_DIR/dovecot.log
info_log_path = $LOG_DIR/dovecot.log
hostname = $HOSTNAME_FQDN
login_greeting = smtpcheck test IMAP ready

ssl = yes
ssl_cert = <$TLS_DIR/valid.crt
ssl_key = <$TLS_DIR/valid.key
ssl_min_protocol = TLSv1.2

disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
# Wrong-password tests must be fast.
auth_failure_delay = 0
auth_cache_size = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DC_DIR/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $DC_DIR/passwd
}
first_valid_uid = $VMAIL_UID
last_valid_uid = $VMAIL_UID
first_valid_gid = $VMAIL_GID
last_valid_gid = $VMAIL_GID
mail_location = maildir:$VMAIL_DIR/%u
# Junk and Trash exist for every user and are marked in LIST (RFC 6154).
namespace inbox {
  inbox = yes
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 143
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = 993
    ssl = yes
  }
}
service auth {
  unix_listener $PF_QUEUE/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
  if [ "$SIEVE" = 1 ]; then
    cat >>"$DC_CONF" <<EOF
# Postfix delivers through LMTP, so that the Sieve rule below runs.
protocols = imap lmtp
service lmtp {
  unix_listener $PF_QUEUE/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  mail_plugins = \$mail_plugins sieve
}
plugin {
  sieve_before = $DC_DIR/sieve/junk.sieve
}
EOF
  fi
  cat >>"$DC_CONF" <<EOF
# No growing per-IP penalty after failed logins (auth cannot reach anvil's
# penalty socket, so it disables the penalty).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

write_env_file() {
  local imap="$1"
  {
    echo "# Generated by .ci/mailserver.sh start"
    printf 'SMTPCHECK_MAIL_DIR=%q\n' "$MAIL_DIR"
    echo "SMTPCHECK_POSTFIX=1"
    printf 'SMTPCHECK_POSTFIX_CA=%q\n' "$CA_PEM"
    printf 'SMTPCHECK_POSTFIX_USER=%q\n' "$TEST_USER"
    printf 'SMTPCHECK_POSTFIX_PASSWORD_FILE=%q\n' "$PASSWORD_FILE"
    printf 'SMTPCHECK_POSTFIX_HOSTNAME=%q\n' "$HOSTNAME_FQDN"
    echo "SMTPCHECK_POSTFIX_SMTP=127.0.0.1:25"
    echo "SMTPCHECK_POSTFIX_SUBMISSION=127.0.0.1:587"
    echo "SMTPCHECK_POSTFIX_SUBMISSIONS=127.0.0.1:465"
    echo "SMTPCHECK_POSTFIX_EXPIRED=127.0.0.2:25"
    echo "SMTPCHECK_POSTFIX_WRONGNAME=127.0.0.3:25"
    echo "SMTPCHECK_POSTFIX_DNSONLY=127.0.0.4"
    if [ "$imap" = 1 ]; then
      echo "SMTPCHECK_IMAP=1"
      echo "SMTPCHECK_IMAP_ADDR=127.0.0.1:143"
      echo "SMTPCHECK_IMAPS_ADDR=127.0.0.1:993"
      if [ "$SIEVE" = 1 ]; then
        echo "SMTPCHECK_SIEVE_JUNK=1"
      fi
    fi
  } >"$ENV_FILE"
  chmod 0644 "$ENV_FILE"
}

# --------------------------------------------------------------- /etc/hosts ---

hosts_strip() {
  # stdin -> stdout without our marked block
  awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" '
    $0 == b { skip = 1; next }
    $0 == e { skip = 0; next }
    !skip { print }'
}

hosts_add() {
  local tmp
  tmp="$(mktemp)"
  hosts_strip </etc/hosts >"$tmp"
  {
    printf '%s\n' "$HOSTS_BEGIN"
    printf '127.0.0.1 %s\n' "$HOSTNAME_FQDN"
    printf '%s\n' "$HOSTS_END"
  } >>"$tmp"
  # Rewrite in place: /etc/hosts may be a bind mount.
  cat "$tmp" >/etc/hosts
  rm -f "$tmp"
}

hosts_remove() {
  grep -qxF "$HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
  local tmp
  tmp="$(mktemp)"
  hosts_strip </etc/hosts >"$tmp"
  cat "$tmp" >/etc/hosts
  rm -f "$tmp"
}

# ---------------------------------------------------------------- postfix ---

# Runs `postfix -c $PF_CONF ARGS...`. The postfix command reports errors only
# to syslog/postlogd (not running yet) unless stderr is a terminal, so give it
# a pseudo-terminal with script(1) to make its messages visible on stderr.
postfix_cmd() {
  local cmd rc=0
  if command -v script >/dev/null 2>&1; then
    cmd="postfix -c $(printf '%q' "$PF_CONF")$(printf ' %q' "$@")"
    timeout 120 script -qec "$cmd" /dev/null </dev/null 2>&1 | tr -d '\r' >&2 || rc=$?
  else
    postfix -c "$PF_CONF" "$@" </dev/null >&2 || rc=$?
  fi
  return "$rc"
}

# ------------------------------------------------------------------ probes ---

port_open() { # host port
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# greeting HOST PORT KIND -> prints first line of the server's greeting
greeting() {
  local host="$1" port="$2" kind="$3" out=""
  case "$kind" in
    smtp | imap)
      # shellcheck disable=SC2016 # expanded by the inner bash
      out="$(timeout 5 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        IFS= read -r line <&3 || exit 1
        printf "%s\n" "$line"
        if [ "$3" = smtp ]; then printf "QUIT\r\n" >&3; else printf "a LOGOUT\r\n" >&3; fi
        exec 3>&- 3<&-' _ "$host" "$port" "$kind" 2>/dev/null)" || true
      ;;
    smtps | imaps)
      local quit='QUIT'
      [ "$kind" = imaps ] && quit='a LOGOUT'
      out="$(printf '%s\r\n' "$quit" |
        timeout 10 openssl s_client -connect "$host:$port" -quiet -ign_eof \
          -CAfile "$CA_PEM" -verify_return_error 2>/dev/null)" || true
      out="$(printf '%s\n' "$out" | head -n 1)"
      ;;
  esac
  printf '%s' "${out%$'\r'}"
}

greeting_ok() { # line kind
  case "$2" in
    smtp | smtps) [[ "$1" == 220* ]] ;;
    imap | imaps) [[ "$1" == "* OK"* ]] ;;
  esac
}

# wait_ready DEADLINE LISTENER... ; prints summary lines; returns 1 if any failed
wait_ready() {
  local deadline="$1"
  shift
  local pending=("$@") still entry host port kind desc line
  while :; do
    still=()
    for entry in "${pending[@]}"; do
      read -r host port kind desc <<<"$entry"
      line="$(greeting "$host" "$port" "$kind")"
      if greeting_ok "$line" "$kind"; then
        GREETING["$host:$port"]="$line"
      else
        still+=("$entry")
      fi
    done
    pending=("${still[@]+"${still[@]}"}")
    [ "${#pending[@]}" -eq 0 ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      for entry in "${pending[@]}"; do
        read -r host port kind desc <<<"$entry"
        log "not ready: $host:$port ($desc)"
      done
      return 1
    fi
    sleep 0.5
  done
}

# ------------------------------------------------------------ stop / status ---

postfix_running() {
  [ -f "$PF_CONF/main.cf" ] && postfix -c "$PF_CONF" status >/dev/null 2>&1
}

dovecot_pid() {
  local pid
  [ -f "$DC_BASE/master.pid" ] || return 1
  pid="$(cat "$DC_BASE/master.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s' "$pid"
}

wait_gone() { # pid seconds
  local pid="$1" n=$(($2 * 10))
  while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
    sleep 0.1
    n=$((n - 1))
  done
  ! kill -0 "$pid" 2>/dev/null
}

stop_postfix() {
  [ -f "$PF_CONF/main.cf" ] || return 0
  local pid=""
  pid="$(tr -d ' ' <"$PF_QUEUE/pid/master.pid" 2>/dev/null)" || true
  if postfix_running; then
    log "stopping postfix ($PF_CONF)"
    postfix_cmd stop || true
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    if ! wait_gone "$pid" 15; then
      log "postfix master $pid still running; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || true
    fi
  fi
}

stop_dovecot() {
  local pid
  pid="$(dovecot_pid)" || return 0
  log "stopping dovecot (pid $pid)"
  doveadm -c "$DC_CONF" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 15; then
    log "dovecot master $pid still running; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || true
  fi
}

cmd_stop() {
  need_root
  stop_postfix
  stop_dovecot
  hosts_remove
  log "stopped"
}

cmd_status() {
  local rc=0 entry host port kind desc line pid
  if postfix_running; then
    echo "postfix: running (config $PF_CONF)"
  else
    echo "postfix: not running"
    rc=1
  fi
  if pid="$(dovecot_pid)"; then
    echo "dovecot: running (pid $pid, config $DC_CONF)"
  else
    echo "dovecot: not running"
    rc=1
  fi
  if [ -f "$CA_PEM" ]; then
    for entry in "${LISTENERS[@]}" "${IMAP_LISTENERS[@]}"; do
      read -r host port kind desc <<<"$entry"
      line="$(greeting "$host" "$port" "$kind")"
      if greeting_ok "$line" "$kind"; then
        printf '  %-16s %-40s %s\n' "$host:$port" "$desc" "$line"
      else
        printf '  %-16s %-40s DOWN\n' "$host:$port" "$desc"
        rc=1
      fi
    done
  fi
  return "$rc"
}

# ------------------------------------------------------------------- start ---

STARTING=0
DAEMONS_LAUNCHED=0
on_start_exit() {
  local rc=$?
  remove_policy_rc
  if [ "$STARTING" = 1 ] && [ "$rc" -ne 0 ]; then
    log "start failed (rc=$rc); stopping what was started"
    if [ "$DAEMONS_LAUNCHED" = 1 ] && [ -f "$LOG_DIR/postfix.log" ]; then
      log "--- last lines of $LOG_DIR/postfix.log ---"
      tail -n 25 "$LOG_DIR/postfix.log" >&2 || true
    fi
    if [ "$DAEMONS_LAUNCHED" = 1 ] && [ -f "$LOG_DIR/dovecot.log" ]; then
      log "--- last lines of $LOG_DIR/dovecot.log ---"
      tail -n 25 "$LOG_DIR/dovecot.log" >&2 || true
    fi
    stop_postfix || true
    stop_dovecot || true
    hosts_remove || true
    rm -f "$ENV_FILE"
    log "FAILED to start the test mail servers"
  fi
  exit "$rc"
}

cmd_start() {
  need_root
  local t0
  t0="$(date +%s)"
  trap on_start_exit EXIT
  install_packages
  ensure_vmail_user

  # A previous instance of ours? Stop it first so start is idempotent.
  stop_postfix
  stop_dovecot
  rm -f "$ENV_FILE"

  STARTING=1
  local entry host port kind desc busy=()
  for entry in "${LISTENERS[@]}" "${IMAP_LISTENERS[@]}"; do
    read -r host port kind desc <<<"$entry"
    if port_open "$host" "$port"; then
      busy+=("$host:$port")
    fi
  done
  if [ "${#busy[@]}" -gt 0 ]; then
    die "ports already in use by another program: ${busy[*]} (is the distribution's postfix/dovecot running?)"
  fi

  mkdir -p "$MAIL_DIR"
  chmod 0755 "$MAIL_DIR"
  make_certs
  sieve_setup
  write_postfix_config
  write_dovecot_config
  if [ "$SIEVE" = 1 ]; then
    write_sieve
  fi
  : >"$LOG_DIR/postfix.log"
  : >"$LOG_DIR/dovecot.log"

  log "checking postfix configuration"
  # Creates the queue directories (Dovecot's auth socket goes into private/).
  postfix_cmd check || die "postfix check failed"
  dovecot -c "$DC_CONF" -n >/dev/null 2>"$LOG_DIR/dovecot-config.err" || {
    cat "$LOG_DIR/dovecot-config.err" >&2
    die "dovecot configuration is invalid"
  }

  hosts_add

  log "starting dovecot ($DC_CONF)"
  DAEMONS_LAUNCHED=1
  # Daemons must not inherit our stdout/stderr (a pipe reader would wait for them).
  dovecot -c "$DC_CONF" </dev/null >"$LOG_DIR/dovecot-startup.log" 2>&1 || {
    cat "$LOG_DIR/dovecot-startup.log" >&2
    die "dovecot failed to start"
  }
  log "starting postfix ($PF_CONF)"
  postfix_cmd start || die "postfix failed to start"

  local deadline=$(($(date +%s) + READY_TIMEOUT))
  wait_ready "$deadline" "${LISTENERS[@]}" || die "postfix listeners did not answer with 220 within ${READY_TIMEOUT}s"
  local imap_ok=1
  if ! wait_ready "$deadline" "${IMAP_LISTENERS[@]}"; then
    imap_ok=0
  fi
  # SASL socket present?
  [ -S "$PF_QUEUE/private/auth" ] || die "dovecot auth socket $PF_QUEUE/private/auth missing"
  if [ "$imap_ok" = 0 ]; then
    log "WARNING: IMAP did not answer; SMTPCHECK_IMAP not set"
  fi

  write_env_file "$imap_ok"
  STARTING=0

  local t1
  t1="$(date +%s)"
  echo "smtpcheck test mail servers are up ($((t1 - t0))s); state in $MAIL_DIR"
  for entry in "${LISTENERS[@]}"; do
    read -r host port kind desc <<<"$entry"
    printf '  %-16s %-40s %s\n' "$host:$port" "$desc" "${GREETING[$host:$port]:-}"
  done
  for entry in "${IMAP_LISTENERS[@]}"; do
    read -r host port kind desc <<<"$entry"
    printf '  %-16s %-40s %s\n' "$host:$port" "$desc" "${GREETING[$host:$port]:-DOWN}"
  done
  echo "  CA:        $CA_PEM"
  echo "  user:      $TEST_USER (password in $PASSWORD_FILE)"
  echo "  /etc/hosts: 127.0.0.1 $HOSTNAME_FQDN"
  echo "  env file:  $ENV_FILE"
  echo "  logs:      $LOG_DIR/postfix.log $LOG_DIR/dovecot.log"
}

usage() {
  echo "usage: $0 start|stop|status" >&2
  exit 2
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
