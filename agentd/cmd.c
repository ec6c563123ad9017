/* cmd.c — request dispatch: find the command, check the peer's rights, run it. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "msgid.h"

const struct cmd_entry *
cmd_find(const char *name)
{
	for (const struct cmd_entry *const *e = cmd_table; *e != NULL; e++)
		if (strcmp((*e)->name, name) == 0)
			return *e;
	return NULL;
}

void
cmd_dispatch(struct control_req *req)
{
	struct daemon *d = req->data;
	const struct cmd_entry *e = cmd_find(req->command);
	char names[512], uid[32], pid[32], cmd[96];
	size_t off = 0;

	if (e == NULL) {
		names[0] = '\0';
		for (const struct cmd_entry *const *x = cmd_table; *x != NULL && off < sizeof(names); x++) {
			int r = snprintf(names + off, sizeof(names) - off, "%s%s", off ? ", " : "", (*x)->name);
			if (r > 0)
				off += (size_t)r;
		}
		control_error(req, PROTO_E_USAGE, "unknown command '%.64s' (this agentd knows: %s)",
			      req->command, names);
		return;
	}
	if ((e->flags & CMD_MUTATING) && !control_peer_privileged(d->control, req->peer)) {
		snprintf(uid, sizeof(uid), "AGENTD_PEER_UID=%u", (unsigned)req->peer->uid);
		snprintf(pid, sizeof(pid), "AGENTD_PEER_PID=%d", (int)req->peer->pid);
		snprintf(cmd, sizeof(cmd), "AGENTD_COMMAND=%s", e->name);
		log_send(LOG_WARNING, MSGID_CONTROL_REFUSED, LOG_FIELDS(uid, pid, cmd),
			 "control: refused '%s' for uid %u pid %d: not root or in the control group",
			 e->name, (unsigned)req->peer->uid, (int)req->peer->pid);
		if (d->config->control_group != NULL)
			control_error(req, PROTO_E_REFUSED,
				      "'%s' changes agentd: only root or members of group '%s' may run it",
				      e->name, d->config->control_group);
		else
			control_error(req, PROTO_E_REFUSED,
				      "'%s' changes agentd: only root may run it (no control_group configured)",
				      e->name);
		return;
	}
	e->exec(req, d);
}
