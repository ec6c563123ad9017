/* ctl.h — agentctl's command table and its client side of the protocol.
 *
 * Adding a command (see docs/HACKING.md): write agentd/ctl_NAME.c defining
 * `const struct ctl_cmd ctl_NAME_cmd` and its exec function, then add the
 * extern and the table line in agentd/ctl_table.c.  A command without
 * arguments that sends a request and prints the replies can use
 * ctl_exec_simple as exec (with its own printer as show).
 *
 * Exit codes (DESIGN.md): CTL_EXIT_OK 0, CTL_EXIT_NOT_OK 1, CTL_EXIT_USAGE 2,
 * CTL_EXIT_UNREACHABLE 3, CTL_EXIT_REFUSED 4.  exec functions return one.
 */
#ifndef AGENTD_CTL_H
#define AGENTD_CTL_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "proto.h"

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_NOT_OK = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_UNREACHABLE = 3,
	CTL_EXIT_REFUSED = 4,
};

#define CTL_DEFAULT_SOCKET "/run/agentd/agentd.sock"

struct ctl {
	const char *socket;   /* -s, $AGENTD_SOCKET, or CTL_DEFAULT_SOCKET */
	bool json;            /* --json */
	bool tty;             /* stdout is a terminal */
};

enum {
	CTL_OFFLINE = 1 << 0,   /* never talks to agentd (lint, cron-next) */
};

/* Called for every REPLY and PROGRESS frame; returns 0 to go on, or an exit
 * code > 0 to remember as the result (the stream is still read to END). */
typedef int (*ctl_frame_fn)(struct ctl *c, enum proto_type type, const cJSON *payload,
			    void *data);

struct ctl_cmd {
	const char *name;
	const char *usage;      /* arguments after the name, "" for none */
	const char *summary;
	unsigned flags;
	/* argv[0] is the command name; argc >= 1. */
	int (*exec)(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
	ctl_frame_fn show;      /* ctl_exec_simple's printer; NULL: the default */
};

/* NULL-terminated, in ctl_table.c. */
extern const struct ctl_cmd *const ctl_table[];

const struct ctl_cmd *ctl_find(const char *name);

/* Connects, sends {"command", "args"} (takes `args`, may be NULL), feeds
 * replies to `fn` until END.  An ERROR frame is printed to stderr and mapped
 * to its exit code.  Returns the exit code; CTL_EXIT_UNREACHABLE (with a
 * message naming the socket) when agentd cannot be reached. */
int ctl_request(struct ctl *c, const char *command, cJSON *args, ctl_frame_fn fn, void *data);

/* exec for commands without arguments: one request, replies given to cmd->show,
 * or else printed as JSON (--json or not a TTY) or as "key: value" lines. */
int ctl_exec_simple(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);

/* Prints "usage: agentctl NAME USAGE" to stderr and returns CTL_EXIT_USAGE. */
int ctl_usage(const struct ctl_cmd *cmd);

/* Prints a JSON value on one line (--json) or indented (TTY). */
void ctl_print_json(const struct ctl *c, const cJSON *v);

#endif
