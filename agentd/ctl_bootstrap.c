/* ctl_bootstrap.c — `agentctl bootstrap [--yes] [--reset-test [--keep-vault-data]
 * [--teardown-timeout SECONDS]]`: asks agentd to stand the stack up now (or
 * follows the bootstrap under way), prints each PROGRESS frame as it comes and a
 * summary at the end.  The Vault init material, when this run created it,
 * arrives once in the final frame and is printed once, to this terminal only.
 *
 * --reset-test is agentd's `reset-test` command (cmd_resettest.c): without
 * --yes agentd first answers with what the teardown would delete, which is shown
 * and confirmed on the terminal; the end is the report (rtreport.h) as a table,
 * exit 0 only if it passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "rtreport.h"

struct boot_out {
	bool waiting_unseal;
	cJSON *plan;		/* reset-test without --yes: what would be deleted */
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
on_reset_frame(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	struct boot_out *out = data;
	const char *result = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "result"));

	if (type == PROTO_REPLY && result && strcmp(result, "confirm") == 0) {
		cJSON_Delete(out->plan);
		out->plan = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(payload, "plan"), true);
		return 0;
	}
	if (c->json) {
		ctl_print_json(c, payload);
		fflush(stdout);
	} else if (type == PROTO_PROGRESS) {
		const char *line = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "line"));
		double t = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "elapsed"));

		printf("[%6.1fs] %s\n", t == t ? t : 0.0, line ? line : "?");
		fflush(stdout);
	} else {
		const cJSON *init = cJSON_GetObjectItemCaseSensitive(payload, "vault_init");
		const char *ierr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "vault_init_error"));
		char *table = rtreport_table(payload);

		if (cJSON_IsObject(init))
			print_init(init, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "state_directory")));
		else if (ierr)
			printf("Vault was initialised, but its init material cannot be shown: %s\n", ierr);
		printf("\n%s", table ? table : "reset test: (out of memory printing the report)\n");
		free(table);
		fflush(stdout);
	}
	if (type == PROTO_REPLY)
		return result && strcmp(result, "pass") == 0 ? 0 : CTL_EXIT_NOT_OK;
	return 0;
}

/* Shows what the teardown would delete and asks on the terminal.  True to go on. */
static bool
confirm(const cJSON *plan)
{
	const cJSON *e;
	const char *init = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan, "vault_init"));
	char line[64];
	FILE *tty;

	fprintf(stderr, "The reset test destroys what agentd manages and builds it again:\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(plan, "namespaces"))
		fprintf(stderr, "  namespace %s and everything in it%s\n", e->valuestring,
			strcmp(e->valuestring, "vault") == 0 ? " (Vault's data with it)" : "");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(plan, "cluster"))
		fprintf(stderr, "  %s\n", e->valuestring);
	if (init)
		fprintf(stderr, "  the Vault keys of %s (moved aside: they open no Vault after this)\n", init);
	else
		fprintf(stderr, "  (Vault's namespace, data and keys are kept)\n");
	if (!isatty(STDIN_FILENO) || !(tty = fopen("/dev/tty", "r+"))) {
		fprintf(stderr, "agentctl: bootstrap --reset-test: no terminal to confirm on; give --yes to proceed\n");
		return false;
	}
	fprintf(tty, "Type \"yes\" to proceed: ");
	fflush(tty);
	bool yes = fgets(line, sizeof line, tty) && strcmp(line, "yes\n") == 0;
	fclose(tty);
	if (!yes)
		fprintf(stderr, "agentctl: bootstrap --reset-test: not confirmed; nothing was touched\n");
	return yes;
}

static int
reset_test(struct ctl *c, const struct ctl_cmd *cmd, bool yes, bool keep, double timeout)
{
	struct boot_out out = { false, NULL };
	cJSON *args;
	int r;

	for (int pass = 0; pass < 2; pass++) {
		args = cJSON_CreateObject();
		if (!args || (yes && !cJSON_AddTrueToObject(args, "yes")) ||
		    (keep && !cJSON_AddTrueToObject(args, "keep_vault_data")) ||
		    (timeout > 0 && !cJSON_AddNumberToObject(args, "teardown_timeout", timeout))) {
			cJSON_Delete(args);
			fprintf(stderr, "agentctl: out of memory\n");
			return CTL_EXIT_NOT_OK;
		}
		r = ctl_request(c, "reset-test", args, on_reset_frame, &out);
		if (r == CTL_EXIT_USAGE && !out.plan)
			fprintf(stderr, "agentctl: bootstrap --reset-test: agentd refused the request (an agentd older "
					"than this agentctl has no reset-test command)\n");
		if (r != 0 || yes || !out.plan)
			break;
		yes = confirm(out.plan);
		if (!yes) {
			r = CTL_EXIT_USAGE;
			break;
		}
	}
	cJSON_Delete(out.plan);
	(void)cmd;
	return r;
}

static int
ctl_bootstrap(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	bool yes = false, reset = false, keep = false;
	double timeout = 0;
	struct boot_out out = { false, NULL };
	cJSON *args;
	char *end;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--yes") == 0)
			yes = true;
		else if (strcmp(argv[i], "--reset-test") == 0)
			reset = true;
		else if (strcmp(argv[i], "--keep-vault-data") == 0)
			keep = true;
		else if (strcmp(argv[i], "--teardown-timeout") == 0 && i + 1 < argc) {
			timeout = strtod(argv[++i], &end);
			if (*end || !(timeout > 0 && timeout <= 86400)) {
				fprintf(stderr, "agentctl: bootstrap: --teardown-timeout wants 1..86400 seconds, not \"%s\"\n",
					argv[i]);
				return CTL_EXIT_USAGE;
			}
		} else
			return ctl_usage(cmd);
	}
	if ((keep || timeout > 0) && !reset)
		return ctl_usage(cmd);
	if (reset)
		return reset_test(c, cmd, yes, keep, timeout);
	args = cJSON_CreateObject();
	if (args == NULL || (yes && !cJSON_AddTrueToObject(args, "yes"))) {
		cJSON_Delete(args);
		fprintf(stderr, "agentctl: out of memory\n");
		return CTL_EXIT_NOT_OK;
	}
	r = ctl_request(c, "bootstrap", args, on_frame, &out);
	return r;
}

const struct ctl_cmd ctl_bootstrap_cmd = {
	.name = "bootstrap",
	.usage = "[--yes] [--reset-test [--keep-vault-data] [--teardown-timeout SECONDS]]",
	.summary = "stand the stack up now (or follow the bootstrap under way), streaming its progress",
	.exec = ctl_bootstrap,
};
