#!/usr/bin/env bash
# packaging/build.sh — `make package`: build the static plugins, generate the
# man pages and engine configs from the option definitions, and package a
# .deb and an .rpm with nfpm (pinned as a Go tool) into dist/.
#
#   bash packaging/build.sh            # from anywhere inside the repository
#   SMTPCHECK_VERSION=1.2.3 bash packaging/build.sh   # override the version
#
# Version: the git tag vX.Y.Z when HEAD is exactly on one, else the VERSION file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${SMTPCHECK_VERSION:-}" ]; then
	SMTPCHECK_VERSION=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null || cat VERSION)
fi
SMTPCHECK_VERSION=${SMTPCHECK_VERSION#v}
SMTPCHECK_ARCH=${SMTPCHECK_ARCH:-$(go env GOARCH)}
export SMTPCHECK_VERSION SMTPCHECK_ARCH
echo "package smtpcheck $SMTPCHECK_VERSION ($SMTPCHECK_ARCH)"

# Static binaries, stamped with the same version (the Makefile's LDFLAGS).
make -s build VERSION="$SMTPCHECK_VERSION"
for b in bin/check_smtp_* bin/smtpcheck-secret bin/smtpcheck-secret-cloud bin/smtpcheck-health; do
	out=$(ldd "$b" 2>&1 || true)
	case $out in
	*"not a dynamic executable"* | *"statically linked"*) ;;
	*) echo "$b is not static: $out" >&2; exit 1 ;;
	esac
done

stage=dist/stage
rm -rf "$stage" dist/gen dist/gen-rpm
mkdir -p "$stage/man" "$stage/contrib"

# Generated files, fresh from the option definitions (the committed copies
# are identical: packaging/gen's test sees to that).
go run ./packaging/gen -root dist/gen >/dev/null
# The RPM installs the plugins elsewhere: its Zabbix UserParameters call them there.
go run ./packaging/gen -root dist/gen-rpm -packager rpm >/dev/null
for b in bin/check_smtp_*; do
	n=$(basename "$b")
	[ -f "dist/gen/packaging/man/$n.1" ] || { echo "$n has no man page: add it to packaging/gen's plugin list" >&2; exit 1; }
done
for m in dist/gen/packaging/man/*.1; do
	n=$(basename "$m" .1)
	[ -x "bin/$n" ] || { echo "packaging/gen knows $n but bin/$n was not built" >&2; exit 1; }
	gzip -9n <"$m" >"$stage/man/$n.1.gz"
done

# contrib: hand-written examples plus the generated files.
for d in icinga2 nagios zabbix; do
	mkdir -p "$stage/contrib/$d"
	cp contrib/"$d"/* "$stage/contrib/$d/"
	cp dist/gen/contrib/"$d"/* "$stage/contrib/$d/"
done
mkdir -p "$stage/rpm/contrib"
cp -r "$stage/contrib/zabbix" "$stage/rpm/contrib/"
cp dist/gen-rpm/contrib/zabbix/* "$stage/rpm/contrib/zabbix/"

# Debian wants /usr/share/doc/<pkg>/copyright.
{
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: smtpcheck"
	echo "Source: https://github.com/smtpcheck/smtpcheck"
	echo
	echo "Files: *"
	echo "License: MIT"
	echo
	echo "License: MIT"
	sed 's/^$/./; s/^/ /' LICENSE
} >"$stage/copyright"

# Debian policy 12.3 and 12.7: docs over 4 KB gzipped, the upstream
# changelog as changelog.gz, and a changelog.Debian.gz (the .deb is built
# here, not from a debian/ directory: one entry for this version).
release=$(sed -n 's/^release: *"\{0,1\}\([0-9]*\)"\{0,1\}$/\1/p' packaging/nfpm.yaml)
maintainer=$(sed -n 's/^maintainer: *"\(.*\)"$/\1/p' packaging/nfpm.yaml)
[ -n "$release" ] && [ -n "$maintainer" ] || { echo "no release or maintainer in packaging/nfpm.yaml" >&2; exit 1; }
mkdir -p "$stage/deb"
gzip -9n <README.md >"$stage/deb/README.md.gz"
gzip -9n <CHANGELOG.md >"$stage/deb/changelog.gz"
{
	echo "smtpcheck ($SMTPCHECK_VERSION-$release) unstable; urgency=medium"
	echo
	echo "  * Upstream release $SMTPCHECK_VERSION: see /usr/share/doc/smtpcheck/changelog.gz."
	echo
	# The date of the commit built, so that the same tree gives the same package.
	echo " -- $maintainer  $(git log -1 --format=%aD 2>/dev/null || date -R)"
} | gzip -9n >"$stage/deb/changelog.Debian.gz"

# The .deb's synopsis is the .rpm's summary; the .rpm's description is the
# body alone (see nfpm.yaml's description).
synopsis=$(sed -n 's/^  summary: *//p' packaging/nfpm.yaml)
[ -n "$synopsis" ] || { echo "no rpm summary in packaging/nfpm.yaml" >&2; exit 1; }
for p in deb rpm; do
	SMTPCHECK_DEB_SYNOPSIS=""
	[ "$p" = deb ] && SMTPCHECK_DEB_SYNOPSIS="$synopsis"$'\n'
	SMTPCHECK_DEB_SYNOPSIS=$SMTPCHECK_DEB_SYNOPSIS go tool nfpm package --config packaging/nfpm.yaml --packager "$p" --target dist/
done
ls -l dist/*.deb dist/*.rpm
