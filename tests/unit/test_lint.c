/* Unit tests for lint: every hardening rule fires on a bad pod and stays
 * quiet on a good one; placeholders give notes; namespace policies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lint.h"
#include "yamljson.h"

#define UNUSED __attribute__((unused))
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char good[] =
	"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: c, namespace: ai-agents}\nspec:\n  template:\n    spec:\n"
	"      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n"
	"      volumes: [{name: tmp, emptyDir: {sizeLimit: 64Mi}}, {name: tok, projected: {sources: [{serviceAccountToken: {path: t}}]}}]\n"
	"      containers:\n      - name: app\n        image: reg.example/app@" DIGEST "\n"
	"        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 200m, memory: 128Mi}}\n"
	"        securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";

static const char bad[] =
	"kind: Pod\nmetadata: {name: p}\nspec:\n"
	"  volumes: [{name: s, secret: {secretName: creds}}, {name: e, emptyDir: {}},"
	" {name: pr, projected: {sources: [{secret: {name: other}}]}}]\n"
	"  containers:\n  - name: app\n    image: busybox:latest\n"
	"    resources: {requests: {cpu: 100m}}\n"
	"    env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: tok, key: k}}}]\n"
	"    envFrom: [{secretRef: {name: all}}]\n";

static void
lint_text(const char *text, enum pss_level level, unsigned flags, struct lint_result *res, struct yamljson **yout)
{
	struct yamljson *y = NULL;
	char *err = NULL;

	if (yamljson_parse(text, strlen(text), "t.yaml", &y, &err) != 0)
		fail_msg("%s", err);
	memset(res, 0, sizeof(*res));
	assert_int_equal(lint_object(yamljson_doc(y, 0), level, PSS_VERSION_LATEST, flags, res), 0);
	*yout = y;
}

static size_t
count(const struct lint_result *r, const char *check, bool note)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->f[i].check, check) == 0 && r->f[i].note == note)
			n++;
	return n;
}

static void
test_good(void **state UNUSED)
{
	struct lint_result r;
	struct yamljson *y;
	size_t i;

	lint_text(good, PSS_RESTRICTED, 0, &r, &y);
	for (i = 0; i < r.n; i++)
		print_message("unexpected: %s: %s\n", r.f[i].check, r.f[i].message);
	assert_int_equal(r.n, 0);
	lint_result_clear(&r);
	yamljson_free(y);
}

static void
test_bad(void **state UNUSED)
{
	static const struct {
		const char *check;
		size_t n;
	} want[] = {
		{ "resources", 1 }, { "image-digest", 1 }, { "no-secrets", 4 }, { "read-only-root", 1 },
		{ "privilege-escalation", 1 }, { "drop-all", 1 }, { "run-as-non-root", 1 }, { "seccomp", 1 },
		{ "emptydir-size", 1 }, { "pss/runAsNonRoot", 1 }, { "pss/restrictedVolumes", 0 },
	};
	struct lint_result r;
	struct yamljson *y;
	struct yamljson_pos p;
	size_t i;

	lint_text(bad, PSS_RESTRICTED, 0, &r, &y);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (count(&r, want[i].check, false) != want[i].n)
			fail_msg("%s: %zu findings, want %zu", want[i].check, count(&r, want[i].check, false), want[i].n);
	for (i = 0; i < r.n; i++)
		if (strcmp(r.f[i].check, "image-digest") == 0) {
			assert_non_null(strstr(r.f[i].message, "Pod p: container app: image busybox:latest"));
			assert_int_equal(yamljson_pos(y, r.f[i].node, &p), 0);
			assert_int_equal(p.line, 7);
			assert_int_equal(p.column, 12);
		}
	assert_true(r.violations >= 12);
	lint_result_clear(&r);
	yamljson_free(y);

	/* --pss-only keeps only the PSS findings. */
	lint_text(bad, PSS_BASELINE, LINT_PSS_ONLY, &r, &y);
	assert_int_equal(r.n, 0);
	lint_result_clear(&r);
	yamljson_free(y);
}

static void
test_secret_object_and_placeholders(void **state UNUSED)
{
	struct lint_result r;
	struct yamljson *y;

	lint_text("kind: Secret\nmetadata: {name: s, namespace: ai-agents}\ndata: {}\n", PSS_RESTRICTED, 0, &r, &y);
	assert_int_equal(count(&r, "no-secrets", false), 1);
	lint_result_clear(&r);
	yamljson_free(y);

	lint_text("kind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n"
		  "  containers:\n  - name: a\n    image: ${images.a}\n    resources: ${a.resources}\n"
		  "    securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n",
		  PSS_RESTRICTED, 0, &r, &y);
	assert_int_equal(r.violations, 0);
	assert_int_equal(count(&r, "image-digest", true), 1);
	assert_int_equal(count(&r, "resources", true), 1);
	lint_result_clear(&r);
	yamljson_free(y);
}

static void
test_namespace_policy(void **state UNUSED)
{
	struct yamljson *y = NULL;
	enum pss_level l;
	unsigned m;
	const char *ns = "kind: Namespace\nmetadata:\n  name: vault\n  labels:\n"
			 "    pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/enforce-version: v1.30\n"
			 "---\nkind: Namespace\nmetadata: {name: x}\n---\nkind: ConfigMap\nmetadata: {name: c}\n";
	char *err = NULL;

	assert_int_equal(yamljson_parse(ns, strlen(ns), "ns.yaml", &y, &err), 0);
	assert_int_equal(lint_namespace_policy(yamljson_doc(y, 0), &l, &m), 0);
	assert_int_equal(l, PSS_BASELINE);
	assert_int_equal(m, 30);
	assert_int_equal(lint_namespace_policy(yamljson_doc(y, 1), &l, &m), -ENOENT);
	assert_int_equal(lint_namespace_policy(yamljson_doc(y, 2), &l, &m), -ENOENT);
	yamljson_free(y);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_secret_object_and_placeholders),
		cmocka_unit_test(test_namespace_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
