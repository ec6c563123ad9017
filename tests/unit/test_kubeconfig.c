/* kubeconfig parsing and loading. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubeconfig.h"

/* "CA-PEM", "CERT-PEM", "KEY-SECRET" in base64 */
#define CA_B64 "Q0EtUEVN"
#define CERT_B64 "Q0VSVC1QRU0="
#define KEY_B64 "S0VZLVNFQ1JFVA=="

static const char *K3S =
	"apiVersion: v1\n"
	"clusters:\n"
	"- cluster:\n"
	"    certificate-authority-data: " CA_B64 "\n"
	"    server: https://127.0.0.1:6443/\n"
	"  name: default\n"
	"contexts:\n"
	"- context:\n"
	"    cluster: default\n"
	"    user: default\n"
	"    namespace: ai-agents\n"
	"  name: default\n"
	"- context:\n"
	"    cluster: default\n"
	"    user: tok\n"
	"  name: other\n"
	"current-context: default\n"
	"kind: Config\n"
	"preferences: {}\n"
	"users:\n"
	"- name: default\n"
	"  user:\n"
	"    client-certificate-data: " CERT_B64 "\n"
	"    client-key-data: " KEY_B64 "\n"
	"- name: tok\n"
	"  user:\n"
	"    token: sekrit-token-value\n";

static int
parse(const char *text, const char *ctx, struct kubeconfig **kc, char **err)
{
	*kc = NULL;
	*err = NULL;
	return kubeconfig_parse(text, strlen(text), "/etc/kc.yaml", ctx, kc, err);
}

static void
test_k3s_certs(void **state)
{
	(void)state;
	struct kubeconfig *kc;
	char *err;
	assert_int_equal(parse(K3S, NULL, &kc, &err), 0);
	assert_null(err);
	assert_string_equal(kc->context, "default");
	assert_string_equal(kc->server, "https://127.0.0.1:6443");
	assert_string_equal(kc->namespace, "ai-agents");
	assert_int_equal(kc->ca_len, 6);
	assert_memory_equal(kc->ca, "CA-PEM", 6);
	assert_int_equal(kc->cert_len, 8);
	assert_memory_equal(kc->cert, "CERT-PEM", 8);
	assert_int_equal(kc->key_len, 10);
	assert_memory_equal(kc->key, "KEY-SECRET", 10);
	assert_null(kc->token);
	assert_false(kc->insecure);
	kubeconfig_free(kc);
	assert_null(kubeconfig_free(NULL));
}

static void
test_named_context_token(void **state)
{
	(void)state;
	struct kubeconfig *kc;
	char *err;
	assert_int_equal(parse(K3S, "other", &kc, &err), 0);
	assert_string_equal(kc->user, "tok");
	assert_string_equal(kc->token, "sekrit-token-value");
	assert_null(kc->cert);
	assert_null(kc->namespace);
	kubeconfig_free(kc);
}

static void
expect_error(const char *text, const char *ctx, int code, const char *want1, const char *want2)
{
	struct kubeconfig *kc;
	char *err;
	int r = parse(text, ctx, &kc, &err);
	if (r != code)
		fail_msg("expected %d, got %d (%s)", code, r, err ? err : "no message");
	assert_null(kc);
	assert_non_null(err);
	if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err, want1, want2 ? want2 : "");
	/* secrets never in messages */
	assert_null(strstr(err, "sekrit"));
	assert_null(strstr(err, KEY_B64));
	free(err);
}

static void
test_missing_context(void **state)
{
	(void)state;
	expect_error(K3S, "nope", -ENOENT, "/etc/kc.yaml", "context \"nope\" not found");
	expect_error("apiVersion: v1\nkind: Config\n", NULL, -ENOENT, "/etc/kc.yaml: no current-context", NULL);
}

static void
test_exec_unsupported(void **state)
{
	(void)state;
	const char *t =
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		"clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
		"users:\n"
		"- name: u\n"
		"  user:\n"
		"    exec:\n"
		"      command: aws\n";
	expect_error(t, NULL, -ENOTSUP, "/etc/kc.yaml:7:5: user \"u\"", "exec credential plugins are unsupported");
	const char *t2 =
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		"clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
		"users: [{name: u, user: {auth-provider: {name: gcp}}}]\n";
	expect_error(t2, NULL, -ENOTSUP, "user \"u\": auth-provider is unsupported", NULL);
	const char *t3 =
		"current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		"clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
		"users: [{name: u, user: {username: a, password: sekrit}}]\n";
	expect_error(t3, NULL, -ENOTSUP, "basic authentication", NULL);
}

static void
test_bad_values(void **state)
{
	(void)state;
	expect_error("current-context: c\n"
		     "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		     "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
		     "users: [{name: u, user: {client-certificate-data: " CERT_B64 ", client-key-data: 'S0V!sekrit'}}]\n",
		     NULL, -EINVAL, "/etc/kc.yaml:4:", "client-key-data is not valid base64");
	expect_error("current-context: c\n"
		     "contexts: [{name: c, context: {cluster: k}}]\n"
		     "clusters: [{name: k, cluster: {server: 'ftp://h'}}]\n",
		     NULL, -EINVAL, "/etc/kc.yaml:3:", "server must be an http(s):// URL");
	expect_error("current-context: c\n"
		     "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		     "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
		     "users: [{name: u, user: {client-certificate-data: " CERT_B64 "}}]\n",
		     NULL, -EINVAL, "client certificate without client key", NULL);
	expect_error("current-context: c\n"
		     "contexts: [{name: c, context: {cluster: k}}]\n"
		     "clusters: [{name: k, cluster: {server: 'https://h:1', insecure-skip-tls-verify: true,"
		     " certificate-authority-data: " CA_B64 "}}]\n",
		     NULL, -EINVAL, "insecure-skip-tls-verify is not allowed", NULL);
	expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n",
		     NULL, -ENOENT, "cluster \"k\" not found in clusters", NULL);
	expect_error("current-context: c\ncontexts: {c: 1}\n", NULL, -EINVAL, "/etc/kc.yaml:2:", "contexts must be a list");
	expect_error("- just\n- a list\n", NULL, -EINVAL, "not a kubeconfig", NULL);
	expect_error("a: [\n", NULL, -EINVAL, "/etc/kc.yaml:", NULL);
	expect_error("a: 1\n---\nb: 2\n", NULL, -EINVAL, "expected one YAML document, found 2", NULL);
}

static void
test_insecure_flag(void **state)
{
	(void)state;
	struct kubeconfig *kc;
	char *err;
	assert_int_equal(parse("current-context: c\n"
			       "contexts: [{name: c, context: {cluster: k}}]\n"
			       "clusters: [{name: k, cluster: {server: 'https://h:1', insecure-skip-tls-verify: true}}]\n",
			       NULL, &kc, &err), 0);
	assert_true(kc->insecure);
	assert_null(kc->user);
	assert_null(kc->token);
	kubeconfig_free(kc);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_load_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/agentd-kc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p[256], sub[256];
	snprintf(sub, sizeof sub, "%s/pki", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(p, sizeof p, "%s/pki/ca.crt", dir);
	write_file(p, "FILE-CA");
	snprintf(p, sizeof p, "%s/pki/c.crt", dir);
	write_file(p, "FILE-CERT");
	snprintf(p, sizeof p, "%s/pki/c.key", dir);
	write_file(p, "FILE-KEY");
	snprintf(p, sizeof p, "%s/token", dir);
	write_file(p, "sekrit-file-token\n");
	snprintf(p, sizeof p, "%s/config", dir);
	write_file(p, "current-context: c\n"
		      "contexts: [{name: c, context: {cluster: k, user: u}}, {name: t, context: {cluster: k, user: t}}]\n"
		      "clusters: [{name: k, cluster: {server: 'https://h:1', certificate-authority: pki/ca.crt}}]\n"
		      "users: [{name: u, user: {client-certificate: pki/c.crt, client-key: pki/c.key}},\n"
		      "        {name: t, user: {tokenFile: token}}]\n");
	struct kubeconfig *kc = NULL;
	char *err = NULL;
	assert_int_equal(kubeconfig_load(p, NULL, &kc, &err), 0);
	assert_string_equal(kc->ca, "FILE-CA");
	assert_string_equal(kc->cert, "FILE-CERT");
	assert_string_equal(kc->key, "FILE-KEY");
	assert_int_equal(kc->key_len, 8);
	char want[300];
	snprintf(want, sizeof want, "%s/pki/ca.crt", dir);
	assert_string_equal(kc->ca_file, want);
	kubeconfig_free(kc);
	assert_int_equal(kubeconfig_load(p, "t", &kc, &err), 0);
	assert_string_equal(kc->token, "sekrit-file-token");
	kubeconfig_free(kc);

	snprintf(p, sizeof p, "%s/pki/c.key", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/config", dir);
	assert_int_equal(kubeconfig_load(p, NULL, &kc, &err), -ENOENT);
	assert_non_null(strstr(err, "cannot read client-key"));
	assert_non_null(strstr(err, "pki/c.key"));
	free(err);
	err = NULL;
	assert_int_equal(kubeconfig_load("/nonexistent/kc", NULL, &kc, &err), -ENOENT);
	assert_string_equal(err, "/nonexistent/kc: No such file or directory");
	free(err);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k3s_certs),
		cmocka_unit_test(test_named_context_token),
		cmocka_unit_test(test_missing_context),
		cmocka_unit_test(test_exec_unsupported),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_insecure_flag),
		cmocka_unit_test(test_load_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
