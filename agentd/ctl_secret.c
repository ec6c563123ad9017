/* ctl_secret.c — `agentctl secret put|list|import-k8s`: agents' secrets into Vault.
 *
 * Values are typed at the terminal with echo off, or read from stdin with
 * --stdin (KEY=VALUE lines); the operator's Vault token is typed the same way or
 * taken from VAULT_TOKEN.  Neither ever comes from argv.  Both sit in locked
 * buffers (secret.h) until they are in the request, which ctl_request wipes once
 * it is sent. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "prompt.h"
#include "secret.h"
#include "secretkv.h"

#define LINE_MAX_BYTES 16384
#define STDIN_MAX (PROTO_FRAME_MAX - 4096)

/* Prompts on the controlling terminal (stdin may be a pipe) with echo off and
 * reads one line into S; -ENOTTY when there is no terminal. */
static int
read_hidden(const char *prompt, struct secret *s)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENOTTY;
	int r = prompt_hidden(fd, fd, prompt, s);
	close(fd);
	return r;
}

static int
oom(void)
{
	fprintf(stderr, "agentctl: out of memory\n");
	return CTL_EXIT_NOT_OK;
}

/* Adds "token" to ARGS: VAULT_TOKEN, else a hidden prompt.  Exit code or 0. */
static int
add_token(cJSON *args)
{
	const char *env = getenv("VAULT_TOKEN");
	struct secret *s = secret_new(4096);
	if (!s)
		return oom();
	int r = 1;
	if (env && *env)
		r = secret_append(s, env, strlen(env)) < 0 ? -EMSGSIZE : 1;
	else
		r = read_hidden("Vault token (input is hidden): ", s);
	if (r <= 0 || s->len == 0) {
		secret_free(s);
		if (r == -ENOTTY)
			fprintf(stderr, "agentctl: secret: no Vault token: set VAULT_TOKEN or run on a terminal\n");
		else
			fprintf(stderr, "agentctl: secret: no Vault token given%s%s\n", r < 0 ? ": " : "",
				r < 0 ? strerror(-r) : "");
		return CTL_EXIT_USAGE;
	}
	cJSON *t = cJSON_CreateString(s->data);
	secret_free(s);
	if (!t || !cJSON_AddItemToObject(args, "token", t)) {
		cJSON_Delete(t);
		return oom();
	}
	return 0;
}

/* Adds KEY=VALUE of LINE (LEN bytes) to DATA; WHERE names it in errors. */
static int
add_pair(cJSON *data, const char *line, size_t len, const char *where, unsigned lineno)
{
	size_t klen, voff, vlen;
	int r = secretkv_split(line, len, &klen, &voff, &vlen);
	if (r == -ENODATA)
		return 0;
	if (r < 0) {
		/* Only the key part is shown: the line may hold a value. */
		size_t show = 0;
		while (show < len && show < 40 && line[show] != '=')
			show++;
		fprintf(stderr, "agentctl: secret put: %s:%u: expected KEY=VALUE with KEY a shell name, got \"%.*s%s\"\n",
			where, lineno, (int)show, line, show < len ? "=..." : "");
		return CTL_EXIT_USAGE;
	}
	char key[SECRETKV_KEY_MAX + 1];
	snprintf(key, sizeof key, "%.*s", (int)klen, line);
	if (memchr(line + voff, '\0', vlen)) {
		fprintf(stderr, "agentctl: secret put: %s:%u: the value of %s holds a NUL byte\n", where, lineno, key);
		return CTL_EXIT_USAGE;
	}
	struct secret *v = secret_new(vlen);
	if (!v)
		return oom();
	secret_append(v, line + voff, vlen);
	cJSON_DeleteItemFromObjectCaseSensitive(data, key);
	cJSON *s = cJSON_CreateString(v->data);
	secret_free(v);
	if (!s || !cJSON_AddItemToObject(data, key, s)) {
		cJSON_Delete(s);
		return oom();
	}
	return 0;
}

/* The values of `put`: one KEY (prompted, or one line of stdin) or KEY=VALUE lines. */
static int
read_values(cJSON *data, const char *key, bool from_stdin)
{
	struct secret *s = secret_new(from_stdin ? STDIN_MAX : LINE_MAX_BYTES);
	if (!s)
		return oom();
	int rc = 0;
	if (key) {
		char prompt[200];
		snprintf(prompt, sizeof prompt, "Value of %s (input is hidden): ", key);
		int r = from_stdin ? prompt_read_line(STDIN_FILENO, s) : read_hidden(prompt, s);
		if (r <= 0) {
			fprintf(stderr, "agentctl: secret put: no value for %s%s%s\n", key, r < 0 ? ": " : "",
				r < 0 ? strerror(-r) : "");
			rc = CTL_EXIT_USAGE;
		} else {
			cJSON *v = cJSON_CreateString(s->data);
			if (!v || !cJSON_AddItemToObject(data, key, v)) {
				cJSON_Delete(v);
				rc = oom();
			}
		}
		secret_free(s);
		return rc;
	}
	for (unsigned lineno = 1; rc == 0; lineno++) {
		size_t start = s->len;
		int r = from_stdin ? prompt_read_line(STDIN_FILENO, s)
				   : read_hidden("KEY=VALUE (input is hidden; an empty line ends): ", s);
		if (r < 0) {
			fprintf(stderr, "agentctl: secret put: %s: %s\n", from_stdin ? "stdin" : "terminal",
				r == -EMSGSIZE ? "too much input" : strerror(-r));
			rc = CTL_EXIT_USAGE;
		} else if (r == 0 || (!from_stdin && s->len == start)) {
			break;
		} else {
			rc = add_pair(data, s->data + start, s->len - start, from_stdin ? "stdin" : "terminal", lineno);
		}
		secret_clear(s);
	}
	secret_free(s);
	if (rc == 0 && !data->child) {
		fprintf(stderr, "agentctl: secret put: no KEY=VALUE given\n");
		rc = CTL_EXIT_USAGE;
	}
	return rc;
}

static void
print_names(const char *label, const cJSON *arr)
{
	const cJSON *e;
	if (cJSON_GetArraySize(arr) == 0)
		return;
	printf("  %s:", label);
	cJSON_ArrayForEach(e, arr)
		printf(" %s", cJSON_GetStringValue(e));
	printf("\n");
}

static int
show_write(struct ctl *c, enum proto_type type, const cJSON *p, void *data)
{
	(void)type;
	(void)data;
	if (c->json) {
		ctl_print_json(c, p);
		return 0;
	}
	const char *src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "source"));
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(p, "version");
	if (src)
		printf("copied %s into %s (version %d)\n", src,
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "path")),
		       cJSON_IsNumber(ver) ? ver->valueint : 0);
	else
		printf("%s: version %d\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "path")),
		       cJSON_IsNumber(ver) ? ver->valueint : 0);
	print_names("written", cJSON_GetObjectItemCaseSensitive(p, "keys"));
	print_names("kept", cJSON_GetObjectItemCaseSensitive(p, "kept"));
	print_names("verified by read-back hash", cJSON_GetObjectItemCaseSensitive(p, "verified"));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "deleted")))
		printf("  deleted secret %s\n", src);
	print_names("restarted", cJSON_GetObjectItemCaseSensitive(p, "restarted"));
	print_names("picked up at the next run", cJSON_GetObjectItemCaseSensitive(p, "next_run"));
	return 0;
}

static int
show_list(struct ctl *c, enum proto_type type, const cJSON *p, void *data)
{
	(void)type;
	(void)data;
	if (c->json) {
		ctl_print_json(c, p);
		return 0;
	}
	const cJSON *e, *k;
	printf("%-24s  %-7s  %-20s  %s\n", "NAME", "VERSION", "UPDATED", "KEYS");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "secrets")) {
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(e, "version");
		printf("%-24s  %-7d  %-20.20s ", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name")),
		       cJSON_IsNumber(ver) ? ver->valueint : 0,
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "updated")));
		cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(e, "keys"))
			printf(" %s", cJSON_GetStringValue(k));
		printf("\n");
	}
	return 0;
}

static int
send(struct ctl *c, const char *command, cJSON *args, ctl_frame_fn fn)
{
	int rc = add_token(args);
	if (rc) {
		cJSON_Delete(args);
		return rc;
	}
	return ctl_request(c, command, args, fn, NULL);
}

static int
secret_put(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *name = NULL, *key = NULL;
	bool from_stdin = false, restart = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--stdin") == 0)
			from_stdin = true;
		else if (strcmp(argv[i], "--restart") == 0)
			restart = true;
		else if (argv[i][0] == '-' || (name && key))
			return ctl_usage(cmd);
		else if (!name)
			name = argv[i];
		else
			key = argv[i];
	}
	if (!name)
		return ctl_usage(cmd);
	if (!secretkv_valid_name(name)) {
		fprintf(stderr, "agentctl: secret put: invalid name \"%s\": 1-63 of a-z 0-9 - _ .\n", name);
		return CTL_EXIT_USAGE;
	}
	if (key && (strchr(key, '=') || !secretkv_valid_key(key, strlen(key)))) {
		/* A KEY=VALUE here would put the value on the command line. */
		fprintf(stderr, "agentctl: secret put: KEY must be a shell name; values are never arguments "
				"(they are prompted, or read with --stdin)\n");
		return CTL_EXIT_USAGE;
	}
	cJSON *args = cJSON_CreateObject(), *data = cJSON_CreateObject();
	if (!args || !data || !cJSON_AddStringToObject(args, "name", name) ||
	    !cJSON_AddBoolToObject(args, "restart", restart)) {
		cJSON_Delete(args);
		cJSON_Delete(data);
		return oom();
	}
	cJSON_AddItemToObject(args, "data", data);
	int rc = read_values(data, key, from_stdin);
	if (rc) {
		cJSON_Delete(args);	/* ctl.c's wipe covers only sent requests */
		return rc;
	}
	return send(c, "secret-put", args, show_write);
}

static int
secret_list(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	if (argc > 3 || (argc == 3 && argv[2][0] == '-'))
		return ctl_usage(cmd);
	cJSON *args = cJSON_CreateObject();
	if (!args || (argc == 3 && !cJSON_AddStringToObject(args, "name", argv[2]))) {
		cJSON_Delete(args);
		return oom();
	}
	return send(c, "secret-list", args, show_list);
}

static int
secret_import(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *src = NULL, *as = NULL;
	bool del = false, restart = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--delete") == 0)
			del = true;
		else if (strcmp(argv[i], "--restart") == 0)
			restart = true;
		else if (strcmp(argv[i], "--as") == 0 && i + 1 < argc)
			as = argv[++i];
		else if (argv[i][0] == '-' || src)
			return ctl_usage(cmd);
		else
			src = argv[i];
	}
	const char *slash = src ? strchr(src, '/') : NULL;
	if (!slash || slash == src || !slash[1] || strchr(slash + 1, '/'))
		return ctl_usage(cmd);
	char ns[254];
	snprintf(ns, sizeof ns, "%.*s", (int)(slash - src), src);
	cJSON *args = cJSON_CreateObject();
	if (!args || !cJSON_AddStringToObject(args, "namespace", ns) ||
	    !cJSON_AddStringToObject(args, "secret", slash + 1) || (as && !cJSON_AddStringToObject(args, "as", as)) ||
	    !cJSON_AddBoolToObject(args, "delete", del) || !cJSON_AddBoolToObject(args, "restart", restart)) {
		cJSON_Delete(args);
		return oom();
	}
	return send(c, "secret-import-k8s", args, show_write);
}

static int
ctl_secret(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage(cmd);
	if (strcmp(argv[1], "put") == 0)
		return secret_put(c, cmd, argc, argv);
	if (strcmp(argv[1], "list") == 0)
		return secret_list(c, cmd, argc, argv);
	if (strcmp(argv[1], "import-k8s") == 0)
		return secret_import(c, cmd, argc, argv);
	return ctl_usage(cmd);
}

const struct ctl_cmd ctl_secret_cmd = {
	.name = "secret",
	.usage = "put NAME [KEY] [--stdin] [--restart] | list [NAME] | "
		 "import-k8s NAMESPACE/SECRET [--as NAME] [--delete] [--restart]",
	.summary = "agents' secrets into Vault (values and token prompted or from stdin/VAULT_TOKEN, never argv)",
	.exec = ctl_secret,
};
