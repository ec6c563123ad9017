/* agentctl — the CLI entry: global options, then a command from ctl_table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ctl.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: agentctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
		   "  -s, --socket SOCKET  agentd's control socket (default $AGENTD_SOCKET or %s)\n"
		   "      --json           machine-readable output\n"
		   "      --version        print agentctl's version and exit\n\ncommands:\n",
		CTL_DEFAULT_SOCKET);
	for (const struct ctl_cmd *const *e = ctl_table; *e != NULL; e++) {
		char head[64];
		snprintf(head, sizeof(head), "%s%s%s", (*e)->name, (*e)->usage[0] ? " " : "", (*e)->usage);
		fprintf(f, "  %-28s %s\n", head, (*e)->summary);
	}
	fprintf(f, "\nexit codes: 0 ok, 1 not ok, 2 usage, 3 agentd unreachable, 4 refused\n");
}

/* Removes every "--json" from argv[from..argc) and sets c->json; returns the new argc. */
static int
strip_json(struct ctl *c, int argc, char **argv, int from)
{
	int o = from;

	for (int k = from; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			c->json = true;
		else
			argv[o++] = argv[k];
	}
	argv[o] = NULL;
	return o;
}

int
main(int argc, char **argv)
{
	struct ctl c = { .socket = getenv("AGENTD_SOCKET") };
	const struct ctl_cmd *cmd;
	int i;

	/* It may hold an unseal key typed by the operator. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (c.socket == NULL || c.socket[0] == '\0')
		c.socket = CTL_DEFAULT_SOCKET;
	/* Global options stop at the command name: its own options follow it. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c.json = true;
		} else if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "agentctl: %s needs a socket path\n", argv[i]);
				return CTL_EXIT_USAGE;
			}
			c.socket = argv[++i];
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			c.socket = argv[i] + 9;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("agentctl %s\n", AGENTD_VERSION);
			return CTL_EXIT_OK;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CTL_EXIT_OK;
		} else {
			fprintf(stderr, "agentctl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	cmd = ctl_find(argv[i]);
	if (cmd == NULL) {
		fprintf(stderr, "agentctl: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	/* --json is global wherever it stands: `agentctl status --json` works too. */
	argc = strip_json(&c, argc, argv, i + 1);
	c.tty = isatty(STDOUT_FILENO);
	return cmd->exec(&c, cmd, argc - i, argv + i);
}
