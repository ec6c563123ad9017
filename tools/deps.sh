#!/bin/sh
# Install the Debian packages agentd needs to build and test, only those missing.
# Run by `make deps`, which `make check` and `make demo` call first.
set -eu

need="gcc make pkg-config libev-dev libcurl4-openssl-dev libcjson-dev libyaml-dev
libssl-dev libsystemd-dev libcmocka-dev python3 python3-yaml python3-cryptography openssl clang
valgrind systemd tzdata man-db procps acl bash-completion groff-base curl util-linux jq"

missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# kubectl is optional: the kubectl compatibility tests skip (and say so) without it.
# Debian 12 ships no current `kubectl` package; try it, then leave it.
if ! command -v kubectl >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kubectl >/dev/null 2>&1 ||
		echo "deps: kubectl not installable from this machine's archive; kubectl tests will be skipped"
fi
exit 0
