/* cmd_secret.c — the daemon's `secret-put`, `secret-list` and `secret-import-k8s`
 * commands (agentctl secret ...); the work is in secrets.c. */
#include "cmd.h"
#include "secrets.h"

const struct cmd_entry cmd_secret_put_entry = {
	.name = "secret-put",
	.flags = CMD_MUTATING,
	.summary = "write keys of an agent's secret to Vault, keeping its other keys",
	.exec = secrets_put,
};

/* Read-only for agentd; Vault decides with the operator's token. */
const struct cmd_entry cmd_secret_list_entry = {
	.name = "secret-list",
	.flags = 0,
	.summary = "agents' secrets in Vault: names, key names, versions (never values)",
	.exec = secrets_list,
};

const struct cmd_entry cmd_secret_import_entry = {
	.name = "secret-import-k8s",
	.flags = CMD_MUTATING,
	.summary = "copy a plain Kubernetes Secret into Vault, verify, optionally delete it",
	.exec = secrets_import,
};
