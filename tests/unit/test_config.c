/* Unit tests for the configuration parser (config.c).
 *
 * Golden files: every tests/golden/config/NAME.in is parsed as if it were
 * /etc/agentd/NAME.in with no environment overrides; the normalised output
 * (or "error: MESSAGE") must equal NAME.ok byte for byte.  Each pair is its
 * own test case.  AGENTD_GOLDEN_UPDATE=1 rewrites the .ok files instead (then
 * review the diff). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "readfile.h"

#define GOLDEN_DIR "tests/golden/config"
#define GOLDEN_MAX (1 << 20)

/* What the golden .ok holds for one input. */
static char *
render(const char *buf, size_t len, const char *name)
{
	struct config *c = NULL;
	char *err = NULL, *out;
	int r;

	r = config_parse(buf, len, name, "/etc/agentd", NULL, &c, &err);
	if (r < 0) {
		assert_non_null(err);
		assert_null(c);
		if (asprintf(&out, "error: %s\n", err) < 0)
			out = NULL;
		free(err);
		return out;
	}
	assert_null(err);
	out = config_format(c);
	config_free(c);
	return out;
}

static void
test_golden(void **state)
{
	const char *name = *state;
	char in_path[512], ok_path[512], *in, *want, *got;
	size_t in_len, ok_len;

	snprintf(in_path, sizeof(in_path), "%s/%s", GOLDEN_DIR, name);
	snprintf(ok_path, sizeof(ok_path), "%s/%.*s.ok", GOLDEN_DIR, (int)(strlen(name) - 3), name);
	assert_int_equal(readfile(in_path, GOLDEN_MAX, &in, &in_len), 0);
	got = render(in, in_len, name);
	assert_non_null(got);
	if (getenv("AGENTD_GOLDEN_UPDATE") != NULL) {
		FILE *f = fopen(ok_path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
	}
	if (readfile(ok_path, GOLDEN_MAX, &want, &ok_len) < 0)
		fail_msg("%s: missing (AGENTD_GOLDEN_UPDATE=1 creates it)", ok_path);
	if (strcmp(want, got) != 0)
		fail_msg("%s differs from the output:\n--- want\n%s--- got\n%s", ok_path, want, got);
	/* Every accepted config's normalised form is accepted again, unchanged. */
	if (strncmp(got, "error: ", 7) != 0) {
		char *again = render(got, strlen(got), name);
		assert_string_equal(again, got);
		free(again);
	}
	free(in);
	free(want);
	free(got);
}

static void
test_env_overrides(void **state)
{
	struct config_env env = {
		.kubeconfig = "/k/one.yaml:/k/two.yaml",
		.socket = NULL,
		.state_directory = "/var/lib/agentd-x:/other",
		.runtime_directory = "/run/agentd-rt",
	};
	struct config *c = NULL;
	char *err = NULL, *text;
	const char *yaml = "socket: /run/agentd/ctl.sock\nkubeconfig: /etc/k.yaml\n";

	(void)state;
	assert_int_equal(config_parse(yaml, strlen(yaml), "x.yaml", "/etc/agentd", &env, &c, &err), 0);
	assert_string_equal(c->kubeconfig, "/k/one.yaml");
	assert_string_equal(c->socket, "/run/agentd-rt/ctl.sock");
	assert_string_equal(c->state_dir, "/var/lib/agentd-x");
	assert_int_equal(c->env_overrides,
			 CONFIG_ENV_KUBECONFIG | CONFIG_ENV_RUNTIME_DIR | CONFIG_ENV_STATE_DIR);
	text = config_format(c);
	assert_non_null(strstr(text, "kubeconfig: \"/k/one.yaml\"  # from $KUBECONFIG\n"));
	assert_non_null(strstr(text, "socket: \"/run/agentd-rt/ctl.sock\"  # from $RUNTIME_DIRECTORY\n"));
	assert_non_null(strstr(text, "state_dir: \"/var/lib/agentd-x\"  # from $STATE_DIRECTORY\n"));
	free(text);
	config_free(c);

	/* $AGENTD_SOCKET wins over $RUNTIME_DIRECTORY; empty values are ignored. */
	env = (struct config_env){ .socket = "/tmp/s.sock", .runtime_directory = "/run/x", .kubeconfig = "" };
	assert_int_equal(config_parse(yaml, strlen(yaml), "x.yaml", "/etc/agentd", &env, &c, &err), 0);
	assert_string_equal(c->socket, "/tmp/s.sock");
	assert_string_equal(c->kubeconfig, "/etc/k.yaml");
	assert_int_equal(c->env_overrides, CONFIG_ENV_SOCKET);
	config_free(c);

	/* A runtime directory that makes the socket path too long for sun_path. */
	env = (struct config_env){ .runtime_directory = "/run/0123456789012345678901234567890123456789"
							"0123456789012345678901234567890123456789"
							"0123456789012345678901234567890123456789" };
	assert_int_equal(config_parse(yaml, strlen(yaml), "x.yaml", "/etc/agentd", &env, &c, &err),
			 -ENAMETOOLONG);
	assert_non_null(strstr(err, "x.yaml: socket /run/0123"));
	assert_non_null(strstr(err, "(from $RUNTIME_DIRECTORY): longer than 107 bytes"));
	free(err);
}

static void
test_defaults(void **state)
{
	struct config *c = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(config_parse("", 0, "agentd.yaml", "/etc/agentd", NULL, &c, &err), 0);
	assert_string_equal(c->kubeconfig, "/etc/rancher/k3s/k3s.yaml");
	assert_string_equal(c->socket, "/run/agentd/agentd.sock");
	assert_string_equal(c->state_dir, "/var/lib/agentd");
	assert_string_equal(c->manifests, "/etc/agentd/manifests");
	assert_string_equal(c->values, "/etc/agentd/values.yaml");
	assert_null(c->values_override);
	assert_null(c->control_group);
	assert_string_equal(c->vault.namespace, "vault");
	assert_string_equal(c->vault.selector, "app.kubernetes.io/name=vault,app.kubernetes.io/component=server");
	assert_int_equal(c->vault.port, 8200);
	assert_null(c->vault.address);
	assert_int_equal(c->api.backoff_initial, 500);
	assert_int_equal(c->api.backoff_max, 30000);
	assert_true(c->ask_password.enabled);
	assert_string_equal(c->ask_password.dir, "/run/systemd/ask-password");
	assert_int_equal(c->log.level, LOG_INFO);
	assert_string_equal(c->path, "agentd.yaml");
	config_free(c);
}

static void
test_list_too_long(void **state)
{
	char *yaml = malloc(16 * 300 + 64), *err = NULL;
	struct config *c = NULL;
	size_t off;

	(void)state;
	off = (size_t)sprintf(yaml, "vault:\n  init:\n    pgp_keys:\n");
	for (int i = 0; i < 256; i++)
		off += (size_t)sprintf(yaml + off, "      - k%d\n", i);
	assert_int_equal(config_parse(yaml, off, "big.yaml", "/", NULL, &c, &err), -EINVAL);
	assert_string_equal(err, "big.yaml:4:7: vault.init.pgp_keys: expected a list of at most 255 non-empty strings, got 256 items");
	free(err);
	free(yaml);
}

static void
test_load_resolves_against_file(void **state)
{
	char dir[] = "/tmp/agentd-cfg.XXXXXX", path[256], *err = NULL;
	struct config *c = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	f = fopen(path, "w");
	fputs("manifests: ../m\nvalues: v/values.yaml\n", f);
	fclose(f);
	assert_int_equal(config_load(path, NULL, &c, &err), 0);
	assert_string_equal(c->manifests, "/tmp/m");
	assert_int_equal(strncmp(c->values, dir, strlen(dir)), 0);
	assert_string_equal(c->values + strlen(dir), "/v/values.yaml");
	config_free(c);
	unlink(path);
	rmdir(dir);

	assert_int_equal(config_load("/nonexistent/agentd.yaml", NULL, &c, &err), -ENOENT);
	assert_string_equal(err, "/nonexistent/agentd.yaml: No such file or directory");
	free(err);
	assert_int_equal(config_load("/", NULL, &c, &err), -EINVAL);
	assert_string_equal(err, "/: not a regular file");
	free(err);
}

static void
test_durations(void **state)
{
	static const struct {
		uint64_t ms;
		const char *text;
	} cases[] = {
		{ 0, "0s" }, { 1, "1ms" }, { 500, "500ms" }, { 1000, "1s" }, { 1500, "1s500ms" },
		{ 60000, "1m" }, { 90000, "1m30s" }, { 3600000, "1h" }, { 5400000, "1h30m" },
		{ 90061001, "25h1m1s1ms" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_format_duration(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	struct CMUnitTest *tests;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int rc;

	d = opendir(GOLDEN_DIR);
	if (d == NULL) {
		fprintf(stderr, "%s: %s (run from the source tree)\n", GOLDEN_DIR, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 4 || strcmp(de->d_name + l - 3, ".in") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);

	tests = calloc(n + 6, sizeof(*tests));
	for (i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){ .name = names[i], .test_func = test_golden,
						.initial_state = names[i] };
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_env_overrides);
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_defaults);
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_list_too_long);
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_load_resolves_against_file);
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_durations);
	rc = _cmocka_run_group_tests("config", tests, i, NULL, NULL);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
