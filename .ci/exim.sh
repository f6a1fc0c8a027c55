#!/usr/bin/env bash
# .ci/exim.sh start|stop|status
#
# Runs Debian's Exim 4 beside the Postfix of .ci/mailserver.sh, for tests of
# how the plugins read another MTA. Both are mail transport agents, so their
# packages conflict: Exim is not installed but unpacked (`apt-get download`,
# `dpkg-deb -x`) under $SMTPCHECK_EXIM_DIR (default /tmp/smtpcheck-exim) and
# run from there with its own minimal configuration (no Debian config
# framework), spool, log and pid file. It never delivers: mail to a known
# local user or, after a login, anywhere is accepted and discarded
# (:blackhole:); there is no DNS router, and no lookup leaves the machine.
#
# Listeners, on 127.0.0.5 only (127.0.0.1-4 are mailserver.sh's):
#   127.0.0.5:25   SMTP, STARTTLS, no AUTH; relay refused ("550 relay not
#                  permitted"), unknown local users refused ("550 Unrouteable
#                  address"), as Debian's default ACLs say it
#   127.0.0.5:587  submission: STARTTLS, AUTH PLAIN LOGIN CRAM-MD5 only inside
#                  TLS, MAIL without a login refused
#   127.0.0.5:465  submissions: implicit TLS (tls_on_connect_ports), AUTH
#
# The certificate (names mail.exim.smtpcheck.test and 127.0.0.5) is signed
# by mailserver.sh's test CA when that exists, else by a CA of its own.
#
# `start` writes $SMTPCHECK_EXIM_DIR/env (shell KEY=value lines):
#   SMTPCHECK_EXIM=1, SMTPCHECK_EXIM_CA, SMTPCHECK_EXIM_USER,
#   SMTPCHECK_EXIM_PASSWORD_FILE, SMTPCHECK_EXIM_HOSTNAME, SMTPCHECK_EXIM_DOMAIN,
#   SMTPCHECK_EXIM_SMTP, SMTPCHECK_EXIM_SUBMISSION, SMTPCHECK_EXIM_SUBMISSIONS
#
# Must run as root. `start` stops a running instance first; on failure it
# stops what it started and exits non-zero. The libraries Exim links are
# listed in .ci/packages.d/exim.txt (installed by .ci/run).

set -euo pipefail

EXIM_DIR="${SMTPCHECK_EXIM_DIR:-/tmp/smtpcheck-exim}"
case "$EXIM_DIR" in
  /*) ;;
  *) EXIM_DIR="$(pwd)/$EXIM_DIR" ;;
esac
EXIM_DIR="${EXIM_DIR%/}"
case "$EXIM_DIR" in
  *[[:space:]]* | "" | /) echo "exim: SMTPCHECK_EXIM_DIR must be a path without whitespace" >&2; exit 2 ;;
esac
MAIL_DIR="${SMTPCHECK_MAIL_DIR:-/tmp/smtpcheck-mail}" # mailserver.sh's, for its CA

ROOT="$EXIM_DIR/root"           # the unpacked package
EXIM="$ROOT/usr/sbin/exim4"
CONF="$EXIM_DIR/exim.conf"
SPOOL="$EXIM_DIR/spool"
LOG_DIR="$EXIM_DIR/log"
PID_FILE="$EXIM_DIR/exim.pid"
TLS_DIR="$EXIM_DIR/tls"
USERS="$EXIM_DIR/users"         # local parts that exist
PASSWD="$EXIM_DIR/passwd"       # user: password, for the authenticators
PASSWORD_FILE="$EXIM_DIR/password"
ENV_FILE="$EXIM_DIR/env"

ADDR=127.0.0.5
HOSTNAME_FQDN="mail.exim.smtpcheck.test"
DOMAIN="exim.smtpcheck.test"
TEST_USER="monitor@$DOMAIN"
TEST_PASSWORD="exim-monitor-secret"
RUN_USER=nobody # exim_user: the package's Debian-exim is not created, nothing here needs its own
RUN_GROUP=nogroup
PORTS=(25 587 465)
READY_TIMEOUT=20

log() { printf 'exim: %s\n' "$*" >&2; }
die() { printf 'exim: ERROR: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

# unpack fetches exim4-daemon-light (only its binary is used: exim4-base and
# exim4-config are Debian's config framework) and unpacks it under $ROOT.
unpack() {
  if [ -x "$EXIM" ] && "$EXIM" -bV -C /dev/null >/dev/null 2>&1; then
    return 0
  fi
  local dl="$EXIM_DIR/deb"
  rm -rf "$dl" "$ROOT"
  mkdir -p "$dl" "$ROOT"
  chmod 0755 "$dl"
  log "downloading exim4-daemon-light"
  # apt drops to _apt for downloads: it must be able to write here
  chown _apt "$dl" 2>/dev/null || true
  (cd "$dl" && apt-get download -q exim4-daemon-light </dev/null) ||
    { apt-get update -q </dev/null && (cd "$dl" && apt-get download -q exim4-daemon-light </dev/null); } ||
    die "apt-get download exim4-daemon-light failed"
  dpkg-deb -x "$dl"/exim4-daemon-light_*.deb "$ROOT"
  local missing
  missing="$(ldd "$EXIM" | awk '/not found/ {print $1}')"
  [ -z "$missing" ] || die "Exim needs libraries that are missing: $missing (see .ci/packages.d/exim.txt)"
  "$EXIM" -bV -C /dev/null >/dev/null 2>&1 || die "the unpacked Exim does not run: $("$EXIM" -bV -C /dev/null 2>&1 | tail -n 3)"
}

# make_cert signs a leaf for $HOSTNAME_FQDN and $ADDR with mailserver.sh's
# CA, or with a CA of its own when that one is missing.
make_cert() {
  mkdir -p "$TLS_DIR"
  chmod 0755 "$TLS_DIR"
  local ca_crt="$MAIL_DIR/ca.pem" ca_key="$MAIL_DIR/tls/ca.key"
  if [ ! -s "$ca_crt" ] || [ ! -s "$ca_key" ]; then
    ca_crt="$TLS_DIR/ca.pem"
    ca_key="$TLS_DIR/ca.key"
    if [ ! -s "$ca_key" ]; then
      openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
        -keyout "$ca_key" -out "$ca_crt" -subj "/O=smtpcheck test/CN=smtpcheck Exim test CA" \
        -addext "basicConstraints = critical, CA:TRUE" \
        -addext "keyUsage = critical, keyCertSign, cRLSign" 2>/dev/null
      chmod 0600 "$ca_key"
    fi
  fi
  cp "$ca_crt" "$EXIM_DIR/ca.pem"
  printf '[ v3_srv ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:%s, IP:%s\n' \
    "$HOSTNAME_FQDN" "$ADDR" >"$TLS_DIR/leaf.ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$TLS_DIR/leaf.key" -out "$TLS_DIR/leaf.csr" \
    -subj "/O=smtpcheck test/CN=$HOSTNAME_FQDN" 2>/dev/null
  openssl x509 -req -in "$TLS_DIR/leaf.csr" -CA "$ca_crt" -CAkey "$ca_key" -CAcreateserial \
    -CAserial "$TLS_DIR/ca.srl" -days 3650 -sha256 -extfile "$TLS_DIR/leaf.ext" -extensions v3_srv \
    -out "$TLS_DIR/leaf.crt" 2>/dev/null
  rm -f "$TLS_DIR/leaf.csr"
  # Exim reads them again after dropping root to $RUN_USER.
  chown "root:$RUN_GROUP" "$TLS_DIR/leaf.key"
  chmod 0640 "$TLS_DIR/leaf.key"
  openssl verify -CAfile "$EXIM_DIR/ca.pem" "$TLS_DIR/leaf.crt" >/dev/null || die "the Exim certificate does not verify"
}

write_config() {
  mkdir -p "$SPOOL" "$LOG_DIR"
  chown "$RUN_USER:$RUN_GROUP" "$SPOOL" "$LOG_DIR"
  printf 'monitor\npostmaster\n' >"$USERS"
  printf '%s: %s\n' "$TEST_USER" "$TEST_PASSWORD" >"$PASSWD"
  chown "root:$RUN_GROUP" "$PASSWD"
  chmod 0640 "$PASSWD"
  printf '%s\n' "$TEST_PASSWORD" >"$PASSWORD_FILE"
  chmod 0600 "$PASSWORD_FILE"
  cat >"$CONF" <<EOF
# Generated by .ci/exim.sh: a private Exim for smtpcheck's tests.
exim_path = $EXIM
exim_user = $RUN_USER
exim_group = $RUN_GROUP
spool_directory = $SPOOL
log_file_path = $LOG_DIR/%slog
pid_file_path = $PID_FILE
keep_environment =

primary_hostname = $HOSTNAME_FQDN
qualify_domain = $DOMAIN
domainlist local_domains = $DOMAIN
never_users = root

disable_ipv6 = true
local_interfaces = <; $ADDR.25 ; $ADDR.587 ; $ADDR.465
tls_on_connect_ports = 465
# no lookup of the client: no DNS, no ident
host_lookup =
rfc1413_hosts =

tls_advertise_hosts = *
tls_certificate = $TLS_DIR/leaf.crt
tls_privatekey = $TLS_DIR/leaf.key
# AUTH on the submission ports, only inside TLS
auth_advertise_hosts = \${if and{{!eq{\$received_port}{25}}{!eq{\$tls_in_cipher}{}}}{*}{}}

message_size_limit = 10M
acl_smtp_mail = acl_check_mail
acl_smtp_rcpt = acl_check_rcpt

begin acl

acl_check_mail:
  deny    condition = \${if eq{\$received_port}{25}{no}{yes}}
          !authenticated = *
          message = 530 Authentication required
  accept

# as Debian's default: relay only after a login, local users verified
acl_check_rcpt:
  deny    local_parts = ^[.] : ^.*[@%!/|]
          message = restricted characters in address
  accept  authenticated = *
  require message = relay not permitted
          domains = +local_domains
  require verify = recipient
  accept

begin routers

# no delivery anywhere: what is accepted is discarded
remote_discard:
  driver = redirect
  domains = ! +local_domains
  data = :blackhole:

local_discard:
  driver = redirect
  domains = +local_domains
  local_parts = lsearch;$USERS
  data = :blackhole:

begin transports

begin retry
*   *   F,1h,10m

begin authenticators

plain_server:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if eq{\$auth3}{\${lookup{\$auth2}lsearch{$PASSWD}{\$value}fail}}}
  server_set_id = \$auth2

login_server:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if eq{\$auth2}{\${lookup{\$auth1}lsearch{$PASSWD}{\$value}fail}}}
  server_set_id = \$auth1

cram_md5_server:
  driver = cram_md5
  public_name = CRAM-MD5
  server_secret = \${lookup{\$auth1}lsearch{$PASSWD}{\$value}fail}
  server_set_id = \$auth1
EOF
  "$EXIM" -C "$CONF" -bV >/dev/null 2>"$EXIM_DIR/check.err" ||
    die "Exim refuses its configuration: $(tail -n 5 "$EXIM_DIR/check.err")"
}

write_env() {
  cat >"$ENV_FILE" <<EOF
# Generated by .ci/exim.sh start
SMTPCHECK_EXIM_DIR=$EXIM_DIR
SMTPCHECK_EXIM=1
SMTPCHECK_EXIM_CA=$EXIM_DIR/ca.pem
SMTPCHECK_EXIM_USER=$TEST_USER
SMTPCHECK_EXIM_PASSWORD_FILE=$PASSWORD_FILE
SMTPCHECK_EXIM_HOSTNAME=$HOSTNAME_FQDN
SMTPCHECK_EXIM_DOMAIN=$DOMAIN
SMTPCHECK_EXIM_SMTP=$ADDR:25
SMTPCHECK_EXIM_SUBMISSION=$ADDR:587
SMTPCHECK_EXIM_SUBMISSIONS=$ADDR:465
EOF
}

exim_pid() {
  local pid
  pid="$(tr -dc '0-9' 2>/dev/null <"$PID_FILE")" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s' "$pid"
}

# greeting PORT: the first line the server sends (through TLS on 465)
greeting() {
  if [ "$1" = 465 ]; then
    printf 'QUIT\r\n' | timeout 5 openssl s_client -connect "$ADDR:465" -quiet -ign_eof \
      -CAfile "$EXIM_DIR/ca.pem" -verify_return_error 2>/dev/null | head -n 1 || true
    return
  fi
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
    IFS= read -r line <&3 || exit 1
    printf "%s\n" "$line"
    printf "QUIT\r\n" >&3' _ "$ADDR" "$1" 2>/dev/null || true
}

wait_ready() {
  local deadline=$(($(date +%s) + READY_TIMEOUT)) port line
  for port in "${PORTS[@]}"; do
    while :; do
      line="$(greeting "$port")"
      if [[ "$line" == 220* ]]; then
        log "$ADDR:$port ${line%$'\r'}"
        break
      fi
      [ "$(date +%s)" -lt "$deadline" ] || { log "not ready: $ADDR:$port"; return 1; }
      sleep 0.3
    done
  done
}

cmd_stop() {
  need_root
  local pid i
  if pid="$(exim_pid)"; then
    log "stopping exim ($pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "exim $pid still running; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PID_FILE" "$ENV_FILE"
}

cmd_status() {
  local pid
  if pid="$(exim_pid)"; then
    echo "exim: running ($pid, config $CONF)"
    return 0
  fi
  echo "exim: not running"
  return 1
}

cmd_start() {
  need_root
  cmd_stop
  mkdir -p "$EXIM_DIR"
  chmod 0755 "$EXIM_DIR"
  trap 'rc=$?; if [ "$rc" -ne 0 ]; then log "start failed"; cmd_stop; fi' EXIT
  unpack
  make_cert
  write_config
  rm -rf "${SPOOL:?}"/* # a previous run's messages and hints
  # -bd: the daemon, no queue runner (-q): nothing is ever delivered later
  "$EXIM" -C "$CONF" -bd -oP "$PID_FILE" </dev/null
  wait_ready || die "Exim did not answer on all ports: $(tail -n 5 "$LOG_DIR/paniclog" "$LOG_DIR/mainlog" 2>/dev/null)"
  write_env
  log "ready; environment in $ENV_FILE"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
