/* main.c — agentd's entry: options, key hygiene, config, then the daemon. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "manifest.h"
#include "render.h"

/* agentd --render: the stack as agentd would apply it. */
static int
render_print(struct config *cfg)
{
	struct kinds *kinds = NULL;
	struct manifest_stack *s = NULL;
	char *error = NULL, *text = NULL;
	int rc = 1;

	if (kinds_new(&kinds) < 0 ||
	    render_load(cfg->manifests, cfg->values, cfg->values_override, kinds, &s, &error) < 0) {
		fprintf(stderr, "agentd: %s\n", error ? error : "out of memory");
		goto out;
	}
	text = manifest_format(s);
	if (!text) {
		fprintf(stderr, "agentd: out of memory\n");
		goto out;
	}
	fputs(text, stdout);
	rc = fflush(stdout) == 0 ? 0 : 1;
	for (size_t i = 0; i < s->count; i++) {
		if (s->phases[i].error) {
			fprintf(stderr, "agentd: phase %s rejected: %s\n", s->phases[i].name, s->phases[i].error);
			rc = 1;
		}
	}
out:
	free(text);
	free(error);
	manifest_stack_free(s);
	kinds_free(kinds);
	config_free(cfg);
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: agentd [-c FILE] [-f|--foreground] [-n|--check-config] [--render] [--version]\n"
		"  -c, --config FILE    configuration (default %s)\n"
		"  -f, --foreground     log plain lines to stderr, not to the journal\n"
		"  -n, --check-config   check the configuration, print it normalised, exit\n"
		"      --render         print the rendered stack (manifests + values), one JSON\n"
		"                       object per line in phase order, exit 1 if a phase is rejected\n"
		"      --version        print the version and exit\n",
		CONFIG_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "render", no_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool foreground = false, check = false, render = false;
	struct config_env env;
	struct config *cfg;
	char *error = NULL, *text;
	int c;

	/* Unseal keys pass through this process: no core dumps, no ptrace by peers. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	while ((c = getopt_long(argc, argv, "c:fnh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'R':
			render = true;
			break;
		case 'V':
			printf("agentd %s\n", AGENTD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "agentd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log_init("agentd", foreground || check || render);
	config_env_from_environ(&env);
	if (config_load(path, &env, &cfg, &error) < 0) {
		fprintf(stderr, "agentd: %s\n", error ? error : "out of memory");
		free(error);
		return 1;
	}
	if (render)
		return render_print(cfg);
	if (check) {
		text = config_format(cfg);
		config_free(cfg);
		if (text == NULL) {
			fprintf(stderr, "agentd: out of memory\n");
			return 1;
		}
		fputs(text, stdout);
		free(text);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	return daemon_run(path, cfg);
}
