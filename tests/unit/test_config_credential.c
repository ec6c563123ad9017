/* Unit tests for the kubeconfig delivered as a systemd credential
 * (LoadCredential=kubeconfig:..., read from $CREDENTIALS_DIRECTORY): used when
 * the file sets no kubeconfig and $KUBECONFIG is unset, never otherwise. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define CRED "/run/credentials/agentd.service/kubeconfig"

static struct config *
parse(const char *yaml, const struct config_env *env)
{
	struct config *c = NULL;
	char *err = NULL;

	if (config_parse(yaml, strlen(yaml), "agentd.yaml", "/etc/agentd", env, &c, &err) != 0)
		fail_msg("config_parse: %s", err ? err : "?");
	return c;
}

static void
test_credential_used_when_file_sets_none(void **state)
{
	struct config_env env = { .kubeconfig_credential = CRED };
	struct config *c;
	char *text;

	(void)state;
	c = parse("socket: /run/agentd/agentd.sock\n", &env);
	assert_string_equal(c->kubeconfig, CRED);
	assert_int_equal(c->env_overrides, CONFIG_ENV_CREDENTIAL);
	text = config_format(c);
	assert_non_null(strstr(text, "kubeconfig: \"" CRED "\"  # from $CREDENTIALS_DIRECTORY\n"));
	free(text);
	config_free(c);

	/* An empty file too. */
	c = parse("", &env);
	assert_string_equal(c->kubeconfig, CRED);
	config_free(c);
}

static void
test_file_wins_over_credential(void **state)
{
	struct config_env env = { .kubeconfig_credential = CRED };
	struct config *c;

	(void)state;
	c = parse("kubeconfig: /etc/agentd/kubeconfig\n", &env);
	assert_string_equal(c->kubeconfig, "/etc/agentd/kubeconfig");
	assert_int_equal(c->env_overrides, 0);
	config_free(c);
}

static void
test_kubeconfig_env_wins_over_credential(void **state)
{
	struct config_env env = { .kubeconfig = "/home/k.yaml", .kubeconfig_credential = CRED };
	struct config *c;

	(void)state;
	c = parse("", &env);
	assert_string_equal(c->kubeconfig, "/home/k.yaml");
	assert_int_equal(c->env_overrides, CONFIG_ENV_KUBECONFIG);
	config_free(c);
}

static void
test_no_credential_keeps_default(void **state)
{
	struct config_env env = { 0 };
	struct config *c;

	(void)state;
	c = parse("", &env);
	assert_string_equal(c->kubeconfig, "/etc/rancher/k3s/k3s.yaml");
	assert_int_equal(c->env_overrides, 0);
	config_free(c);
}

/* config_env_from_environ offers the credential only when the file exists. */
static void
test_environ_checks_the_file(void **state)
{
	char dir[] = "/tmp/agentd-creds.XXXXXX", path[64];
	struct config_env env;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", dir, 1), 0);

	config_env_from_environ(&env);
	assert_null(env.kubeconfig_credential);

	assert_non_null(f = fopen(path, "w"));
	fputs("apiVersion: v1\n", f);
	fclose(f);
	config_env_from_environ(&env);
	assert_non_null(env.kubeconfig_credential);
	assert_string_equal(env.kubeconfig_credential, path);

	/* A directory of that name is not a kubeconfig. */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	config_env_from_environ(&env);
	assert_null(env.kubeconfig_credential);
	rmdir(path);

	assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
	config_env_from_environ(&env);
	assert_null(env.kubeconfig_credential);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credential_used_when_file_sets_none),
		cmocka_unit_test(test_file_wins_over_credential),
		cmocka_unit_test(test_kubeconfig_env_wins_over_credential),
		cmocka_unit_test(test_no_credential_keeps_default),
		cmocka_unit_test(test_environ_checks_the_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
