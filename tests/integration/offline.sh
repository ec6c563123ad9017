#!/usr/bin/env bash
# Offline commands against third-party reference data:
#  - every PSS fixture through `agentctl lint --pss-only` at its own level and
#    version (pass files exit 0, fail files exit 1 naming the check);
#  - every robfig/cron vector through `agentctl cron-next` (instants compared);
#  - lint of the shipped manifests (rendered with config/values.yaml) and of a
#    broken manifest (exit 1, each violation with its check and file:line).
# One line per case group: PASS: name | FAIL: name: why.
. "$(dirname "$0")/lib.sh"

FIX=${AGENTD_FIXTURES:-$(cd "$ROOT/.." && pwd)/shared/fixtures}
if [ ! -d "$FIX/pss" ] || [ ! -f "$FIX/cron/vectors.tsv" ]; then
	fail fixtures "shared fixtures not found at $FIX (set AGENTD_FIXTURES)"
	t_done
fi

# ---- PSS fixtures, one group per level/version/expectation ----
for dir in "$FIX"/pss/*/*/pass "$FIX"/pss/*/*/fail; do
	[ -d "$dir" ] || continue
	expect=$(basename "$dir")
	version=$(basename "$(dirname "$dir")")
	level=$(basename "$(dirname "$(dirname "$dir")")")
	group="lint pss $level/$version/$expect"
	n=0 bad=()
	for f in "$dir"/*.yaml; do
		n=$((n + 1))
		"$AGENTCTL" lint --pss-only --level "$level" --version "$version" "$f" >"$T/out" 2>"$T/err"
		rc=$?
		if [ "$expect" = pass ]; then
			[ "$rc" -eq 0 ] || bad+=("$(basename "$f") rc=$rc $(head -1 "$T/out")")
		else
			# Rejected, and every finding names a PSS check and a file:line:col.
			if [ "$rc" -ne 1 ] || ! grep -Eq "^$f:[0-9]+:[0-9]+: pss/[A-Za-z_]+: " "$T/out"; then
				bad+=("$(basename "$f") rc=$rc $(head -1 "$T/out") $(head -1 "$T/err")")
			fi
		fi
	done
	if [ ${#bad[@]} -eq 0 ]; then
		pass "$group ($n files)"
	else
		fail "$group" "${#bad[@]}/$n disagree: ${bad[*]:0:5}"
	fi
done

# ---- cron vectors, one group per expected kind ----
declare -A total=() wrong=() detail=()
line=0
while IFS=$'\t' read -r spec tz from want; do
	line=$((line + 1))
	[ "$line" -eq 1 ] && continue
	case $want in ERROR) kind=error ;; NONE) kind=none ;; *) kind=next ;; esac
	total[$kind]=$(( ${total[$kind]:-0} + 1 ))
	args=("$spec" --tz "$tz" --count 1)
	[ "$from" != - ] && args+=(--from "$from")
	got=$("$AGENTCTL" cron-next "${args[@]}" 2>"$T/err")
	rc=$?
	ok=0
	case $kind in
	error) [ "$rc" -eq 1 ] && [ -z "$got" ] && grep -q "invalid schedule" "$T/err" && ok=1 ;;
	none) [ "$rc" -eq 1 ] && [ -z "$got" ] && grep -q "never fires" "$T/err" && ok=1 ;;
	next) [ "$rc" -eq 0 ] && [ "$(date -u -d "$got" +%s 2>/dev/null)" = "$(date -u -d "$want" +%s)" ] && ok=1 ;;
	esac
	if [ "$ok" -eq 0 ]; then
		wrong[$kind]=$(( ${wrong[$kind]:-0} + 1 ))
		detail[$kind]="${detail[$kind]:-} [line $line '$spec' from $from: want $want, got '${got}' rc=$rc $(head -1 "$T/err")]"
	fi
done <"$FIX/cron/vectors.tsv"
for kind in next none error; do
	n=${total[$kind]:-0}
	[ "$n" -gt 0 ] || continue
	if [ "${wrong[$kind]:-0}" -eq 0 ]; then
		pass "cron-next vectors: $kind ($n rows)"
	else
		fail "cron-next vectors: $kind" "${wrong[$kind]}/$n disagree:${detail[$kind]}"
	fi
done

# ---- the shipped manifests, and a broken one ----
if [ -d "$ROOT/manifests" ] && [ -f "$ROOT/config/values.yaml" ]; then
	expect_rc 0 "lint shipped manifests (rendered with config/values.yaml)" \
		"$AGENTCTL" lint --values "$ROOT/config/values.yaml" "$ROOT"/manifests/*.yaml
else
	skip "lint shipped manifests" "no manifests/ or config/values.yaml in this tree"
fi

cat >"$T/bad.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: ai-agents
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: batch/v1
kind: Job
metadata: {name: leaky, namespace: ai-agents}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: app
        image: busybox:latest
        env:
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: creds, key: token}}
EOF
"$AGENTCTL" lint "$T/bad.yaml" >"$T/out" 2>"$T/err"
rc=$?
missing=""
for want in ":17:16: image-digest:" ":20:37: no-secrets:" ": resources:" ": read-only-root:" \
	": pss/runAsNonRoot:" ": pss/seccompProfile_restricted:"; do
	grep -q -- "$want" "$T/out" || missing="$missing '$want'"
done
if [ "$rc" -eq 1 ] && [ -z "$missing" ]; then
	pass "lint broken manifest: exit 1, findings with check and file:line:col"
else
	fail "lint broken manifest" "rc=$rc, missing$missing; output: $(head -c 600 "$T/out")"
fi

expect_rc 2 "lint usage: bad level" "$AGENTCTL" lint --level strict "$T/bad.yaml"
expect_rc 1 "lint unreadable file" "$AGENTCTL" lint "$T/does-not-exist.yaml"
expect_rc 2 "cron-next usage: bad --from" "$AGENTCTL" cron-next "@daily" --from yesterday
expect_rc 1 "cron-next unknown zone" "$AGENTCTL" cron-next "0 * * * *" --tz Nowhere/Atlantis

t_done
