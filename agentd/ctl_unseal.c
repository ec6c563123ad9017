/* ctl_unseal.c — `agentctl unseal [--stdin] [--reset]`: one unseal key, typed
 * at the terminal with echo off or read as one line of stdin; never argv or
 * the environment.  The key is kept in a locked buffer and wiped once sent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "prompt.h"
#include "secret.h"

#define KEY_MAX 1024

/* Pasted keys often bring a CR or blanks around them. */
static void
trim_blanks(struct secret *s)
{
	while (s->len > 0 && strchr(" \t\r", s->data[s->len - 1]) != NULL)
		s->data[--s->len] = '\0';
	if (s->len > 0 && strchr(" \t", s->data[0]) != NULL) {
		size_t skip = strspn(s->data, " \t");

		memmove(s->data, s->data + skip, s->len - skip);
		s->len -= skip;
		explicit_bzero(s->data + s->len, s->cap + 1 - s->len);
	}
}

static int
print_result(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	const char *result = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "result"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "message"));
	const cJSON *held = cJSON_GetObjectItemCaseSensitive(payload, "held_pods"), *p;

	(void)type;
	(void)data;
	if (c->json) {
		ctl_print_json(c, payload);
	} else {
		printf("%s\n", msg ? msg : "?");
		if (cJSON_GetArraySize(held) > 0)
			printf("%d pod%s held by the seal not running yet; agentd follows them (agentctl status):\n",
			       cJSON_GetArraySize(held), cJSON_GetArraySize(held) == 1 ? "" : "s");
		cJSON_ArrayForEach(p, held) {
			const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "namespace"));
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
			const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "waiting"));

			printf("  %s/%s: %s\n", ns ? ns : "?", name ? name : "?", why ? why : "?");
		}
	}
	/* DESIGN.md: exit 1 while Vault is still sealed. */
	if (result != NULL && (strcmp(result, "progress") == 0 || strcmp(result, "duplicate") == 0))
		return CTL_EXIT_NOT_OK;
	return 0;
}

static int
ctl_unseal(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	bool from_stdin = false, reset = false;
	struct secret *key;
	cJSON *args, *k;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stdin") == 0)
			from_stdin = true;
		else if (strcmp(argv[i], "--reset") == 0)
			reset = true;
		else
			return ctl_usage(cmd);
	}
	if (reset && from_stdin)
		return ctl_usage(cmd);
	args = cJSON_CreateObject();
	if (args == NULL) {
		fprintf(stderr, "agentctl: out of memory\n");
		return CTL_EXIT_NOT_OK;
	}
	if (reset) {
		if (cJSON_AddTrueToObject(args, "reset") == NULL) {
			cJSON_Delete(args);
			fprintf(stderr, "agentctl: out of memory\n");
			return CTL_EXIT_NOT_OK;
		}
		return ctl_request(c, cmd->name, args, print_result, NULL);
	}
	if (!from_stdin && !isatty(STDIN_FILENO)) {
		cJSON_Delete(args);
		fprintf(stderr, "agentctl: unseal: stdin is not a terminal; to read the key from a pipe or file, use --stdin\n");
		return CTL_EXIT_USAGE;
	}
	key = secret_new(KEY_MAX);
	if (key == NULL) {
		cJSON_Delete(args);
		fprintf(stderr, "agentctl: out of memory for the key buffer\n");
		return CTL_EXIT_NOT_OK;
	}
	r = from_stdin ? prompt_read_line(STDIN_FILENO, key)
		       : prompt_hidden(STDIN_FILENO, STDERR_FILENO, "Unseal key (input is hidden): ", key);
	if (r >= 0)
		trim_blanks(key);
	if (r < 0 || key->len == 0) {
		secret_free(key);
		cJSON_Delete(args);
		if (r == -EMSGSIZE)
			fprintf(stderr, "agentctl: unseal: the key is longer than %d bytes\n", KEY_MAX);
		else if (r < 0)
			fprintf(stderr, "agentctl: unseal: cannot read the key: %s\n", strerror(-r));
		else
			fprintf(stderr, "agentctl: unseal: no key given (an empty line)\n");
		return CTL_EXIT_USAGE;
	}
	k = cJSON_CreateString(key->data);
	secret_free(key);
	if (k == NULL || !cJSON_AddItemToObject(args, "key", k)) {
		if (k != NULL)
			explicit_bzero(k->valuestring, strlen(k->valuestring));
		cJSON_Delete(k);
		cJSON_Delete(args);
		fprintf(stderr, "agentctl: out of memory\n");
		return CTL_EXIT_NOT_OK;
	}
	/* ctl_request wipes the request (and this key) once it is encoded. */
	return ctl_request(c, cmd->name, args, print_result, NULL);
}

const struct ctl_cmd ctl_unseal_cmd = {
	.name = "unseal",
	.usage = "[--stdin | --reset]",
	.summary = "enter an unseal key (hidden prompt, or one line of stdin); --reset discards a partial unseal",
	.exec = ctl_unseal,
};
