#!/usr/bin/env bash
# The comparison for agentd's bootstrap in `make bench`: the same rendered objects
# brought up the way a shell script would, with kubectl, in agentd's phase order
# and behind the same gates:
#   each phase: `kubectl apply --server-side`, then every object ready (Namespace
#   Active, Deployment rolled out, CRD Established; Vault's StatefulSet excepted, a
#   sealed Vault is never Ready);
#   after the Vault server phase: the pod Running with an IP and answering, init
#   (`kubectl create --raw` through the pod proxy), unseal with THRESHOLD keys,
#   configuration (the nine writes agentd makes, with curl through the same pod
#   proxy: kubectl cannot send the X-Vault-Token header);
#   after the webhook phase: the injector has filled in the caBundle (polled every
#   1 s, as agentd does).
# It writes no read-back before each Vault write (agentd does): that favours it.
#
# usage: bootstrap-kubectl.sh DIR THRESHOLD
#   DIR holds kubeconfig, server (the API URL), ca.pem, cert.pem, key.pem (the
#   kubeconfig's credentials as files), init.json (the init request) and
#   phases/NN-NAME.yaml + phases/NN-NAME.objects ("Kind namespace name"
#   lines); Vault's init answer goes to DIR/init-answer.json.
set -euo pipefail
D=$1
THRESHOLD=$2
V=/api/v1/namespaces/vault/pods/vault-0:8200/proxy/v1
k() { kubectl --kubeconfig "$D/kubeconfig" "$@"; }
vault_write() {	# METHOD PATH JSON, with the root token
	curl -fsS -o /dev/null --cacert "$D/ca.pem" --cert "$D/cert.pem" --key "$D/key.pem" \
		-H @"$D/token.header" -H 'Content-Type: application/json' -X "$1" --data-binary "$3" \
		"$(cat "$D/server")$V/$2"
}

vault_up() {
	until [ -n "$(k -n vault get pod vault-0 -o jsonpath='{.status.podIP}' 2>/dev/null)" ] &&
		[ "$(k -n vault get pod vault-0 -o jsonpath='{.status.phase}')" = Running ]; do sleep 1; done
	until k get --raw "$V/sys/seal-status" >/dev/null 2>&1; do sleep 1; done
	k create --raw "$V/sys/init" -f "$D/init.json" >"$D/init-answer.json"
	for ((i = 0; i < THRESHOLD; i++)); do
		jq -c "{key: .keys_base64[$i]}" "$D/init-answer.json" >"$D/unseal.json"
		k create --raw "$V/sys/unseal" -f "$D/unseal.json" >/dev/null
	done
	(umask 077; jq -r '"X-Vault-Token: " + .root_token' "$D/init-answer.json" >"$D/token.header")
	vault_write PUT sys/audit/stdout '{"type": "file", "options": {"file_path": "stdout"}}'
	vault_write POST sys/mounts/secret '{"type": "kv", "options": {"version": "2"}}'
	vault_write POST sys/auth/kubernetes '{"type": "kubernetes"}'
	vault_write POST auth/kubernetes/config '{"kubernetes_host": "https://kubernetes.default.svc"}'
	vault_write PUT sys/policies/acl/ai-agents-read \
		'{"policy": "path \"secret/data/agents/*\" {\n  capabilities = [\"read\"]\n}\npath \"secret/metadata/agents/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n"}'
	vault_write POST auth/kubernetes/role/ai-agents \
		'{"bound_service_account_names": ["agent-controller", "journalist", "publisher"], "bound_service_account_namespaces": ["ai-agents"], "token_policies": ["ai-agents-read"], "token_ttl": 3600}'
	for a in controller journalist publisher; do
		vault_write POST "secret/data/agents/$a" '{"data": {}}'
	done
}

for f in "$D"/phases/*.yaml; do
	phase=$(basename "$f" .yaml)
	k apply --server-side --field-manager=bootstrap-sh -f "$f" >/dev/null
	while read -r kind ns name; do
		case $kind in
		Namespace) k wait --for=jsonpath='{.status.phase}'=Active "namespace/$name" --timeout=300s ;;
		Deployment) k -n "$ns" rollout status "deployment/$name" --timeout=300s ;;
		CustomResourceDefinition) k wait --for=condition=Established "crd/$name" --timeout=300s ;;
		esac >/dev/null
	done <"$D/phases/$phase.objects"
	case $phase in
	*-vault-server) vault_up ;;
	*-vault-webhook)
		until [ -n "$(k get mutatingwebhookconfiguration vault-agent-injector-cfg \
			-o jsonpath='{.webhooks[*].clientConfig.caBundle}')" ]; do sleep 1; done ;;
	esac
done
