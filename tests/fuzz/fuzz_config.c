/* libFuzzer: the configuration parser.  Any input either yields a complete
 * config whose normalised form parses again to the same text, or an error
 * message "PATH:LINE:COL: ..." and no config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config_env env = { .runtime_directory = "/run/x:/run/y" };
	struct config *c = NULL, *c2 = NULL;
	char *err = NULL, *text, *text2;

	if (config_parse((const char *)data, size, "f.yaml", "/etc/agentd", &env, &c, &err) < 0) {
		if (c != NULL || err == NULL || strncmp(err, "f.yaml:", 7) != 0)
			abort();
		free(err);
		return 0;
	}
	if (err != NULL || c->kubeconfig == NULL || c->socket[0] != '/' || c->manifests[0] != '/')
		abort();
	if (c->env_overrides != CONFIG_ENV_RUNTIME_DIR)
		abort();
	/* Without the "# from $RUNTIME_DIRECTORY" note, to compare with the re-parse. */
	c->env_overrides = 0;
	text = config_format(c);
	if (text == NULL)
		abort();
	/* The socket already carries the runtime directory: parse without env. */
	if (config_parse(text, strlen(text), "f.yaml", "/etc/agentd", NULL, &c2, &err) < 0)
		abort();
	text2 = config_format(c2);
	if (text2 == NULL)
		abort();
	if (strcmp(text, text2) != 0)
		abort();
	config_free(c);
	config_free(c2);
	free(text);
	free(text2);
	return 0;
}
