/* cmd.h — the daemon's control commands: one descriptor per command.
 *
 * Adding a command (see docs/HACKING.md): write agentd/cmd_NAME.c defining
 * `const struct cmd_entry cmd_NAME_entry` and its handler, then add the
 * extern and the table line in agentd/cmd_table.c.  Nothing else changes:
 * cmd_dispatch() finds it, checks the rights its flags ask for and calls it.
 *
 * A handler answers through control.h: control_reply() any number of
 * times, then exactly one control_end() or control_error(), now or later.
 */
#ifndef AGENTD_CMD_H
#define AGENTD_CMD_H

#include "control.h"
#include "daemon.h"

enum {
	CMD_MUTATING = 1 << 0,   /* root or the configured control_group only */
};

struct cmd_entry {
	const char *name;
	unsigned flags;
	const char *summary;     /* one line, for `agentctl help` and errors */
	void (*exec)(struct control_req *req, struct daemon *d);
};

/* NULL-terminated, in cmd_table.c. */
extern const struct cmd_entry *const cmd_table[];

const struct cmd_entry *cmd_find(const char *name);

/* The final REPLY of a command that may have run a bootstrap (bootstrap,
 * reset-test): adds "state_directory" and, for the one client a bootstrap owes
 * it to (discover_take_init), "vault_init" (the content of vault-init.json, never
 * logged) or "vault_init_error"; sends O, ends the request and wipes and frees O.
 * WHAT names the command in an error. */
void cmd_reply_with_init(struct control_req *req, struct daemon *d, cJSON *o, const char *what);

/* The control dispatch function; req->data is the struct daemon. */
void cmd_dispatch(struct control_req *req);

#endif
