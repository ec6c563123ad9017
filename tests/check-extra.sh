#!/usr/bin/env bash
# The extra passes of `make check` (see docs/HACKING.md, "What make check runs"):
#   tests/check-extra.sh valgrind   unit tests under valgrind: no leaks, no errors
#   tests/check-extra.sh san        integration scripts against the ASan+UBSan build
#                                   ($SAN_BUILD, default build-san, built by the caller)
# A sanitizer report fails the pass even when the test that provoked it passed
# (a daemon that leaks at exit still answers every check): every report goes to
# a file under $SAN_BUILD/san-logs and any such file is a failure.
set -u
cd "$(dirname "$0")/.."
case ${1:-} in
valgrind)
	VALGRIND=1 tests/run unit
	;;
san)
	SAN_BUILD=${SAN_BUILD:-build-san}
	logs=$PWD/$SAN_BUILD/san-logs
	rm -rf "$logs"; mkdir -p "$logs"
	BUILD=$SAN_BUILD \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:log_path=$logs/asan \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan \
		tests/run integration
	rc=$?
	reports=$(find "$logs" -type f | sort)
	if [ -n "$reports" ]; then
		echo "sanitizer reports (the run fails on any):"
		for f in $reports; do echo "== $f"; head -40 "$f"; done
		rc=1
	else
		echo "sanitizers: no reports"
	fi
	exit "$rc"
	;;
*)
	echo "usage: tests/check-extra.sh valgrind|san" >&2
	exit 2
	;;
esac
