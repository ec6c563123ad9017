#!/usr/bin/env bash
# Host integration: systemd units and their hardening score, make install /
# uninstall, man pages, the journald catalog, the launchd plist, bash
# completion, socket activation and the build without libsystemd.
# One line per case: PASS: name | FAIL: name: why | SKIP: name: why.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

# Highest exposure systemd-analyze may give agentd.service (systemd-timesyncd
# scores 2.3 on Debian 12).
MAX_EXPOSURE=2.0

# A tree the units can be verified in: the installed files plus the host's
# own units (verify needs sysinit.target and friends under --root).
install_tree() { # DESTDIR
	make -s --no-print-directory BUILD="$BUILD" DESTDIR="$1" install >"$T/install.log" 2>&1
}

# ---- units: systemd-analyze verify on the installed units --------------------
if ! command -v systemd-analyze >/dev/null; then
	skip units-verify "systemd-analyze not installed"
elif ! install_tree "$T/vroot"; then
	fail units-verify "make install failed: $(tail -3 "$T/install.log" | tr '\n' ' ')"
else
	mkdir -p "$T/vroot/usr/lib/systemd" "$T/vroot/usr/bin"
	cp -a /lib/systemd/system "$T/vroot/usr/lib/systemd/"
	# ExecReload= runs the host's kill(1); merged /usr as on Debian 12.
	ln -s usr/bin "$T/vroot/bin"
	cp "$(type -P kill)" "$T/vroot/usr/bin/kill"
	# Documentation= is checked with man(1), which must find the installed pages.
	if out=$(MANPATH="$T/vroot/usr/local/share/man" systemd-analyze verify --root="$T/vroot" \
		agentd.service agentd.socket 2>&1) && [ -z "$out" ]; then
		pass units-verify
	else
		fail units-verify "$(echo "$out" | tr '\n' ' ')"
	fi
	# The installed unit must start the installed binary, and verify must notice
	# when it is missing (so the pass above means something).
	grep -qx 'ExecStart=/usr/local/sbin/agentd' \
		"$T/vroot/usr/local/lib/systemd/system/agentd.service" &&
		mv "$T/vroot/usr/local/sbin/agentd" "$T/agentd.moved" &&
		out=$(systemd-analyze verify --man=no --root="$T/vroot" agentd.service 2>&1)
	if echo "$out" | grep -q 'Command /usr/local/sbin/agentd is not executable'; then
		pass units-verify-execstart
	else
		fail units-verify-execstart "verify did not check ExecStart: $out"
	fi
fi

# ---- units: exposure score ---------------------------------------------------
if ! command -v systemd-analyze >/dev/null; then
	skip units-security "systemd-analyze not installed"
else
	mkdir -p "$T/sec"
	sed "s|@SBINDIR@|$BUILD|" units/agentd.service >"$T/sec/agentd.service"
	score=$(cd "$T/sec" && systemd-analyze security --offline=yes --no-pager ./agentd.service 2>&1 |
		sed -n 's/.*Overall exposure level for agentd.service: \([0-9.]*\).*/\1/p')
	ref=$(systemd-analyze security --offline=yes --no-pager /lib/systemd/system/systemd-timesyncd.service 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	echo "agentd.service exposure: ${score:-none} (systemd-timesyncd.service: ${ref:-n/a}, limit $MAX_EXPOSURE)"
	if [ -z "$score" ]; then
		fail units-security "systemd-analyze printed no exposure level"
	elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
		pass "units-security ($score)"
	else
		fail units-security "exposure $score is above $MAX_EXPOSURE"
	fi
fi

# ---- units: what the hardening must still allow -------------------------------
# agentd writes unseal requests to /run/systemd/ask-password, reads its
# kubeconfig from the credentials directory and serves the control socket.
svc=units/agentd.service
missing=""
for want in 'Type=notify' 'User=agentd' 'Group=agentd' 'RuntimeDirectory=agentd' \
	'StateDirectory=agentd' 'StateDirectoryMode=0700' 'UMask=0077' 'Restart=on-failure' \
	'LoadCredential=kubeconfig:/etc/rancher/k3s/k3s.yaml' \
	'ReadWritePaths=-/run/systemd/ask-password' 'ProtectSystem=strict'; do
	grep -qx "$want" "$svc" || missing="$missing $want"
done
grep -q '^WatchdogSec=' "$svc" || missing="$missing WatchdogSec="
grep -Eq '^After=.*k3s\.service' "$svc" || missing="$missing After=k3s.service"
grep -Eq '^(Requires|BindsTo|Requisite)=.*k3s' "$svc" && missing="$missing (k3s.service must not be required)"
# Peer credentials must stay real (control_group, refusal logs).
grep -Eq '^PrivateUsers=(yes|true|1|on)' "$svc" && missing="$missing (PrivateUsers= hides clients' uids)"
sock=units/agentd.socket
for want in 'ListenStream=/run/agentd/agentd.sock' 'SocketMode=0660' 'SocketGroup=agentd'; do
	grep -qx "$want" "$sock" || missing="$missing $want"
done
if [ -z "$missing" ]; then pass units-contract; else fail units-contract "missing or wrong:$missing"; fi

# ---- sysusers.d and tmpfiles.d, applied to a private root --------------------
if ! command -v systemd-sysusers >/dev/null || ! command -v systemd-tmpfiles >/dev/null ||
	! command -v getfacl >/dev/null; then
	skip units-sysusers-tmpfiles "systemd-sysusers, systemd-tmpfiles or getfacl not installed"
elif ! unshare -m true 2>/dev/null; then
	skip units-sysusers-tmpfiles "needs a private mount namespace (unshare -m) for the ACL's group lookup"
else
	r=$T/sroot
	mkdir -p "$r/etc" "$r/run/systemd/ask-password" "$r/var/lib" "$r/usr/lib/sysusers.d" "$r/usr/lib/tmpfiles.d"
	cp units/sysusers.d/agentd.conf "$r/usr/lib/sysusers.d/"
	cp units/tmpfiles.d/agentd.conf "$r/usr/lib/tmpfiles.d/"
	if ! out=$(systemd-sysusers --root="$r" 2>&1); then
		fail units-sysusers-tmpfiles "systemd-sysusers: $out"
	elif ! grep -q '^agentd:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$r/etc/passwd" ||
		! grep -q '^agentd:x:' "$r/etc/group"; then
		fail units-sysusers-tmpfiles "no agentd system user/group created: $(cat "$r/etc/passwd")"
	# The ACL's group name is resolved through the host's NSS, not --root:
	# show the host this root's group file in a private mount namespace.
	elif ! out=$(unshare -m sh -c 'mount --bind "$1/etc/group" /etc/group &&
		mount --bind "$1/etc/passwd" /etc/passwd && systemd-tmpfiles --root="$1" --create' sh "$r" 2>&1) ||
		[ -n "$out" ]; then
		fail units-sysusers-tmpfiles "systemd-tmpfiles: $out"
	else
		uid=$(awk -F: '$1 == "agentd" { print $3 }' "$r/etc/passwd")
		st_run=$(stat -c '%a %u' "$r/run/agentd")
		st_lib=$(stat -c '%a %u' "$r/var/lib/agentd")
		acl=$(getfacl -n -p "$r/run/systemd/ask-password" 2>/dev/null)
		gid=$(awk -F: '$1 == "agentd" { print $3 }' "$r/etc/group")
		if [ "$st_run" != "750 $uid" ] || [ "$st_lib" != "700 $uid" ]; then
			fail units-sysusers-tmpfiles "/run/agentd is '$st_run', /var/lib/agentd is '$st_lib' (want 750/700 owned by $uid)"
		elif ! echo "$acl" | grep -qx "group:$gid:rwx"; then
			fail units-sysusers-tmpfiles "ask-password has no ACL for group agentd: $acl"
		else
			pass units-sysusers-tmpfiles
		fi
	fi
fi

# ---- make install / uninstall ------------------------------------------------
D=$T/dest
expected() {
	cat <<-EOF
		/etc/agentd/agentd.yaml
		/usr/local/bin/agentctl
		/usr/local/sbin/agentd
		/usr/local/lib/systemd/system/agentd.service
		/usr/local/lib/systemd/system/agentd.socket
		/usr/local/lib/sysusers.d/agentd.conf
		/usr/local/lib/tmpfiles.d/agentd.conf
		/usr/local/lib/systemd/catalog/agentd.catalog
		/usr/local/share/agentd/values.yaml
		/usr/local/share/man/man1/agentctl.1
		/usr/local/share/man/man5/agentd.yaml.5
		/usr/local/share/man/man8/agentd.8
		/usr/local/share/bash-completion/completions/agentctl
	EOF
	find manifests -type f | sed 's|^|/usr/local/share/agentd/|'
}
if ! install_tree "$D"; then
	fail install "make install failed: $(tail -3 "$T/install.log" | tr '\n' ' ')"
else
	expected | sort >"$T/want"
	(cd "$D" && find . ! -type d | sed 's|^\.||' | sort) >"$T/got"
	if ! diff -u "$T/want" "$T/got" >"$T/tree.diff"; then
		fail install "installed tree differs from the expected list: $(grep '^[-+]/' "$T/tree.diff" | tr '\n' ' ')"
	elif [ "$(stat -c %a "$D/usr/local/sbin/agentd")" != 755 ] ||
		[ "$(stat -c %a "$D/usr/local/lib/systemd/system/agentd.service")" != 644 ]; then
		fail install "wrong modes on the binary or the unit"
	elif grep -q '@[A-Z]*@' "$D/usr/local/lib/systemd/system/agentd.service"; then
		fail install "unsubstituted @VAR@ left in the installed unit"
	elif ! "$D/usr/local/sbin/agentd" --version | grep -q '^agentd '; then
		fail install "installed agentd --version does not answer"
	else
		pass "install ($(wc -l <"$T/want") files)"
	fi
	# An operator's edited config survives re-install and uninstall.
	echo "# edited" >>"$D/etc/agentd/agentd.yaml"
	install_tree "$D"
	if ! tail -1 "$D/etc/agentd/agentd.yaml" | grep -qx '# edited'; then
		fail install-keeps-config "re-install overwrote the operator's edited config"
	else
		pass install-keeps-config
	fi
	make -s --no-print-directory BUILD="$BUILD" DESTDIR="$D" uninstall >"$T/uninstall.log" 2>&1
	left=$(cd "$D" && find . ! -type d | sed 's|^\.||')
	if [ "$left" != "/etc/agentd/agentd.yaml" ]; then
		fail uninstall-keeps-edited-config "left after uninstall: $(echo "$left" | tr '\n' ' ')"
	else
		pass uninstall-keeps-edited-config
	fi
	rm -f "$D/etc/agentd/agentd.yaml"
	install_tree "$D" &&
		make -s --no-print-directory BUILD="$BUILD" DESTDIR="$D" uninstall >"$T/uninstall.log" 2>&1
	left=$(cd "$D" && find . ! -type d | sed 's|^\.||')
	leftdirs=$(cd "$D" && find . -type d \( -name agentd -o -name 'agentd.*' \) | sed 's|^\.||')
	if [ -n "$left$leftdirs" ]; then
		fail uninstall "left after uninstall: $(echo "$left $leftdirs" | tr '\n' ' ')"
	else
		pass uninstall
	fi
fi

# ---- the installed config is valid where it was installed --------------------
# A PREFIX and SYSCONFDIR of our own, so the paths written into the config are
# real and agentd -n can check them.
P=$T/prefix
if ! make -s --no-print-directory BUILD="$BUILD" PREFIX="$P" SYSCONFDIR="$P/etc" install >"$T/install-p.log" 2>&1; then
	fail installed-config "make install PREFIX=... failed: $(tail -3 "$T/install-p.log" | tr '\n' ' ')"
elif ! out=$(cd / && env -u KUBECONFIG -u CREDENTIALS_DIRECTORY "$P/sbin/agentd" -n -c "$P/etc/agentd/agentd.yaml" 2>&1); then
	fail installed-config "agentd -n rejects the installed config: $out"
elif ! echo "$out" | grep -qx "manifests: \"$P/share/agentd/manifests\"" ||
	! echo "$out" | grep -qx "values: \"$P/share/agentd/values.yaml\""; then
	fail installed-config "the installed config does not use $P/share/agentd: $(echo "$out" | grep -E '^(manifests|values):' | tr '\n' ' ')"
elif ! mkdir -p "$T/creds" || ! echo 'apiVersion: v1' >"$T/creds/kubeconfig" ||
	! out=$(cd / && env -u KUBECONFIG CREDENTIALS_DIRECTORY="$T/creds" "$P/sbin/agentd" -n \
		-c "$P/etc/agentd/agentd.yaml" 2>&1) ||
	! echo "$out" | grep -qx "kubeconfig: \"$T/creds/kubeconfig\"  # from \$CREDENTIALS_DIRECTORY"; then
	fail installed-config "with the unit's credential, the installed config does not use it: $(echo "$out" | grep '^kubeconfig')"
else
	pass installed-config
fi

# The commands `agentctl --help` lists (indented "  name ..." lines).
agentctl_commands() {
	"$AGENTCTL" --help 2>&1 | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\).*/\1/p'
}

# The options in the usage line of `agentctl COMMAND --help`.
agentctl_options() {
	"$AGENTCTL" -s /nonexistent "$1" --help 2>&1 | sed -n "s/^usage: agentctl .*\] $1//p" |
		grep -o -- '--[a-z][a-z-]*' | sort -u
}

# ---- man pages ---------------------------------------------------------------
for page in docs/man/agentd.8 docs/man/agentctl.1 docs/man/agentd.yaml.5; do
	name=man-$(basename "$page")
	if [ ! -f "$page" ]; then fail "$name" "missing"; continue; fi
	w1=$(groff -man -ww -z "$page" 2>&1)
	w2=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings=w "$page" 2>&1 >"$T/page.txt")
	if [ -n "$w1$w2" ]; then
		fail "$name" "warnings: $(echo "$w1 $w2" | tr '\n' ' ')"
	elif ! grep -q '^NAME' "$T/page.txt" || [ "$(wc -l <"$T/page.txt")" -lt 20 ]; then
		fail "$name" "rendered page has no NAME section or is nearly empty"
	else
		pass "$name"
	fi
done

# agentctl(1) documents every command the built agentctl has.
undoc=""
for c in $(agentctl_commands); do
	# roff writes a hyphen in a command name as \-
	grep -Eq "^\.(B|BR|BI) ${c//-/\\\\?-}( |\$)" docs/man/agentctl.1 || undoc="$undoc $c"
done
if [ -z "$(agentctl_commands)" ]; then
	fail man-agentctl-commands "agentctl --help lists no commands"
elif [ -n "$undoc" ]; then
	fail man-agentctl-commands "not documented in docs/man/agentctl.1:$undoc"
else
	pass man-agentctl-commands
fi

# Every long option the built binaries print in --help is in their page.
undoc=""
for pair in "$AGENTD:docs/man/agentd.8" "$AGENTCTL:docs/man/agentctl.1"; do
	bin=${pair%%:*} page=${pair#*:}
	for o in $("$bin" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -qF -- "${o//-/\\-}" "$page" || undoc="$undoc $(basename "$page"):$o"
	done
done
for c in $(agentctl_commands); do
	for o in $(agentctl_options "$c"); do
		grep -qF -- "${o//-/\\-}" docs/man/agentctl.1 || undoc="$undoc agentctl.1:$c:$o"
	done
done
if [ -n "$undoc" ]; then
	fail man-options "options not documented:$undoc"
else
	pass man-options
fi

# ---- journald catalog ----------------------------------------------------------
cat=docs/catalog/agentd.catalog
ids=$(sed -n 's/^#define[[:space:]]*MSGID_[A-Z0-9_]*[[:space:]]*"\([0-9a-f]*\)".*/\1/p' include/msgid.h | sort)
have=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$cat" | sort)
nomsg=$(comm -23 <(echo "$ids") <(echo "$have"))
extra=$(comm -13 <(echo "$ids") <(echo "$have"))
if [ -z "$ids" ]; then
	fail catalog "no MESSAGE_ID found in include/msgid.h"
elif [ -n "$nomsg$extra" ]; then
	fail catalog "no entry for: $(echo $nomsg); entry for unknown id: $(echo $extra) — run: python3 docs/catalog/gen-catalog.py > $cat"
elif guide=$(grep -o '`[0-9a-f]\{32\}`' docs/operator-guide.md | tr -d '`' | sort -u) &&
	[ -n "$(comm -23 <(echo "$guide") <(echo "$ids"))" ]; then
	fail catalog "docs/operator-guide.md names ids that include/msgid.h does not define: $(comm -23 <(echo "$guide") <(echo "$ids") | tr '\n' ' ')"
elif ! "$PY" docs/catalog/gen-catalog.py include/msgid.h | diff -u "$cat" - >"$T/cat.diff"; then
	fail catalog "$cat is stale against include/msgid.h — run: python3 docs/catalog/gen-catalog.py > $cat"
else
	pass "catalog ($(echo "$ids" | wc -l) ids)"
fi
# journalctl's own parser: build the binary catalog in a private root and
# look every id up in it.
j=$T/jroot
mkdir -p "$j/usr/lib/systemd/catalog" "$j/var/lib/systemd/catalog"
cp "$cat" "$j/usr/lib/systemd/catalog/"
if ! out=$(journalctl --root="$j" --update-catalog 2>&1) || [ -n "$out" ]; then
	fail catalog-journalctl "journalctl --update-catalog: $out"
else
	listed=$(journalctl --root="$j" --list-catalog $ids 2>&1 | awk '{ print $1 }' | sort)
	if [ "$listed" = "$ids" ]; then
		pass catalog-journalctl
	else
		fail catalog-journalctl "journalctl lists $(echo $listed), want $(echo $ids)"
	fi
fi

# ---- launchd plist -----------------------------------------------------------
# The plist as make install writes it on macOS: paths substituted, parseable.
if ! make -s --no-print-directory BUILD="$BUILD" PREFIX=/opt/agentd "$BUILD/subst/io.agentd.agentd.plist" \
	>"$T/plist.log" 2>&1; then
	fail plist "make could not produce the installed plist: $(tail -3 "$T/plist.log" | tr '\n' ' ')"
elif out=$("$PY" - "$BUILD/subst/io.agentd.agentd.plist" <<-'EOF' 2>&1
	import plistlib, sys
	with open(sys.argv[1], "rb") as f:
	    text = f.read()
	assert b"@SBINDIR@" not in text and b"@SYSCONFDIR@" not in text, "unsubstituted @VAR@"
	p = plistlib.loads(text)
	assert p["Label"] == "io.agentd.agentd", p["Label"]
	assert p["ProgramArguments"] == ["/opt/agentd/sbin/agentd", "--foreground", "-c",
	                                 "/etc/agentd/agentd.yaml"], p["ProgramArguments"]
	assert p["RunAtLoad"] is True and p["KeepAlive"] is True
	assert p["StandardErrorPath"] and p["StandardOutPath"]
	env = p["EnvironmentVariables"]
	assert env["AGENTD_SOCKET"] and env["STATE_DIRECTORY"], env
	EOF
); then
	pass plist
else
	fail plist "$out"
fi

# ---- bash completion -----------------------------------------------------------
if [ ! -f /usr/share/bash-completion/bash_completion ]; then
	skip bash-completion "bash-completion not installed"
else
	comp() { # words... -> the completions of the last word
		bash -c '
			source /usr/share/bash-completion/bash_completion
			source contrib/bash-completion/agentctl
			COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
			COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
			_agentctl agentctl "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
			echo "${COMPREPLY[*]}"' comp "$@"
	}
	bad=""
	[ "$(comp agentctl un)" = unseal ] || bad="$bad [un]"
	[ "$(comp agentctl --json -s /x st)" = status ] || bad="$bad [--json -s /x st]"
	[ "$(comp agentctl secret '')" = "put list import-k8s" ] || bad="$bad [secret]"
	[ "$(comp agentctl bootstrap --r)" = --reset-test ] || bad="$bad [bootstrap --r]"
	[ "$(comp agentctl lint --level r)" = restricted ] || bad="$bad [lint --level r]"
	# Every command the built agentctl lists is offered, and each option its
# usage line names.
all=$(comp agentctl '')
for c in $(agentctl_commands); do
	[[ " $all " == *" $c "* ]] || bad="$bad [no completion for '$c': add it to contrib/bash-completion/agentctl]"
	opts=$(comp agentctl "$c" --)
	for o in $(agentctl_options "$c"); do
		[[ " $opts " == *" $o "* ]] || bad="$bad [no completion for '$c $o': add it to contrib/bash-completion/agentctl]"
	done
done
if [ -z "$bad" ]; then pass bash-completion; else fail bash-completion "wrong completions:$bad"; fi
fi

# ---- socket activation -----------------------------------------------------------
# LISTEN_FDS=1 on fd 3, as systemd passes it: agentd must serve there, not on
# the socket path it would otherwise create.
sock=$T/act.sock
act_env=(AGENTD_SOCKET="$T/own.sock" KUBECONFIG="$T/no-such-kubeconfig"
	STATE_DIRECTORY="$T/state" RUNTIME_DIRECTORY="$T/run")
if command -v systemd-socket-activate >/dev/null; then
	# Listens, and starts agentd with the socket on the first connection.
	act_how=systemd-socket-activate
	systemd-socket-activate -l "$sock" "${act_env[@]/#/-E}" \
		"$AGENTD" -f -c config/agentd.yaml >"$T/act.log" 2>&1 &
else
	act_how=python3
	(
		exec env "${act_env[@]}" "$PY" - "$sock" "$AGENTD" -f -c config/agentd.yaml <<-'EOF'
		import os, socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.bind(sys.argv[1]); s.listen(16)
		if s.fileno() != 3:
		    os.dup2(s.fileno(), 3)
		os.set_inheritable(3, True)
		os.environ["LISTEN_FDS"] = "1"
		os.environ["LISTEN_PID"] = str(os.getpid())
		os.environ["LISTEN_FDNAMES"] = "agentd.socket"
		os.execv(sys.argv[2], sys.argv[2:])
		EOF
	) >"$T/act.log" 2>&1 &
fi
act_pid=$!
_t_pids+=("$act_pid")
mkdir -p "$T/state" "$T/run"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
out=$(timeout 10 "$AGENTCTL" -s "$sock" --json status 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
	fail socket-activation "agentctl status on the passed socket: rc=$rc $out; log: $(tail -5 "$T/act.log" | tr '\n' ' ')"
elif ! echo "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["state"] in ("starting","wait-api"), d' 2>"$T/json.err"; then
	fail socket-activation "status is not the expected JSON: $out $(cat "$T/json.err")"
elif [ -e "$T/own.sock" ]; then
	fail socket-activation "agentd created its own socket although one was passed"
else
	pass "socket-activation ($act_how)"
fi
kill "$act_pid" 2>/dev/null && wait "$act_pid" 2>/dev/null

# ---- build without libsystemd (macOS) ------------------------------------------
nb=$BUILD/nosd
if ! make -s --no-print-directory BUILD="$nb" WITH_SYSTEMD=0 all >"$T/nosd.log" 2>&1; then
	fail build-without-systemd "make WITH_SYSTEMD=0 failed: $(grep -m3 -E 'error|Error' "$T/nosd.log" | tr '\n' ' ')"
elif ! out=$("$nb/agentd" --version 2>&1) || ! echo "$out" | grep -q '^agentd '; then
	fail build-without-systemd "$nb/agentd --version: $out"
elif ldd "$nb/agentd" | grep -q libsystemd; then
	fail build-without-systemd "$nb/agentd still links libsystemd"
else
	pass build-without-systemd
fi

t_done
