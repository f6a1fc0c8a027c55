#!/bin/sh
# smtpcheck: the system user smtpcheck-health runs as (its systemd unit
# says User=smtpcheck). Kept on removal, as Debian policy asks of users.
set -e
if ! getent passwd smtpcheck >/dev/null; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "smtpcheck health endpoint" smtpcheck
fi
