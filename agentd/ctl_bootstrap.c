/* ctl_bootstrap.c — `agentctl bootstrap [--yes] [--reset-test [--keep-vault-data]]`:
 * asks agentd to stand the stack up now (or follows the bootstrap under way),
 * prints each PROGRESS frame as it comes and a summary at the end.  The Vault
 * init material, when this run created it, arrives once in the final frame and
 * is printed once, to this terminal only.  --reset-test is the `reset-test`
 * command of agentd (a separate server command, same stream shape). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

struct boot_out {
	bool waiting_unseal;
};

static void
print_init(const cJSON *init, const char *state_dir)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(init, "unseal_keys_b64");
	const cJSON *k;
	const char *root = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(init, "root_token"));
	int i = 0;

	printf("\nVault was initialised by this bootstrap. Its unseal keys and root token are shown\n"
	       "this once (they were also written to %s/vault-init.json, mode 0600).\n"
	       "Store them safely, apart from this machine, then remove that file.\n\n",
	       state_dir ? state_dir : "$STATE_DIRECTORY");
	cJSON_ArrayForEach(k, keys)
		if (cJSON_GetStringValue(k) != NULL)
			printf("  Unseal key %d: %s\n", ++i, k->valuestring);
	if (root != NULL)
		printf("  Root token:   %s\n", root);
	putchar('\n');
}

static int
on_frame(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	struct boot_out *out = data;
	const char *result = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "result"));

	if (type == PROTO_REPLY && result != NULL && strcmp(result, "waiting-unseal") == 0)
		out->waiting_unseal = true;
	if (c->json) {
		ctl_print_json(c, payload);
		fflush(stdout);
		return out->waiting_unseal ? CTL_EXIT_NOT_OK : 0;
	}
	if (type == PROTO_PROGRESS) {
		const char *line = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "line"));
		double t = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "elapsed"));

		printf("[%6.1fs] %s\n", t == t ? t : 0.0, line ? line : "?");
		fflush(stdout);
		return 0;
	}
	const cJSON *init = cJSON_GetObjectItemCaseSensitive(payload, "vault_init");
	const char *dir = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "state_directory"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "message"));
	const char *ierr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "vault_init_error"));

	if (cJSON_IsObject(init))
		print_init(init, dir);
	else if (ierr != NULL)
		printf("Vault was initialised, but its init material cannot be shown: %s\n", ierr);
	printf("bootstrap %s: %d objects applied, %d phases, %.1fs\n", result ? result : "?",
	       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "objects")),
	       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "phases")),
	       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "duration")));
	if (msg != NULL)
		printf("state: %s\n", msg);
	if (out->waiting_unseal) {
		printf("agentd is waiting for an unseal key: enter one with `agentctl unseal`\n");
		return CTL_EXIT_NOT_OK;
	}
	return 0;
}

static int
ctl_bootstrap(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	bool yes = false, reset = false, keep = false;
	struct boot_out out = { false };
	cJSON *args;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--yes") == 0)
			yes = true;
		else if (strcmp(argv[i], "--reset-test") == 0)
			reset = true;
		else if (strcmp(argv[i], "--keep-vault-data") == 0)
			keep = true;
		else
			return ctl_usage(cmd);
	}
	if (keep && !reset)
		return ctl_usage(cmd);
	args = cJSON_CreateObject();
	if (args == NULL || (yes && !cJSON_AddTrueToObject(args, "yes")) ||
	    (reset && keep && !cJSON_AddTrueToObject(args, "keep_vault_data")) ||
	    (reset && c->json && !cJSON_AddTrueToObject(args, "json"))) {
		cJSON_Delete(args);
		fprintf(stderr, "agentctl: out of memory\n");
		return CTL_EXIT_NOT_OK;
	}
	r = ctl_request(c, reset ? "reset-test" : "bootstrap", args, on_frame, &out);
	if (reset && r == CTL_EXIT_USAGE)
		fprintf(stderr, "agentctl: bootstrap --reset-test: this agentd has no reset-test command "
				"(it is older than this agentctl)\n");
	return r;
}

const struct ctl_cmd ctl_bootstrap_cmd = {
	.name = "bootstrap",
	.usage = "[--yes] [--reset-test [--keep-vault-data]]",
	.summary = "stand the stack up now (or follow the bootstrap under way), streaming its progress",
	.exec = ctl_bootstrap,
};
