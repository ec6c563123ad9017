/* manifest.c (pure rendering) and render.c (golden cases in tests/golden/manifest/). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "readfile.h"
#include "render.h"

static cJSON *
values_of(const char *base, const char *ovr)
{
	struct manifest_file b = { "values.yaml", base, strlen(base) }, o = { "override.yaml", ovr, ovr ? strlen(ovr) : 0 };
	cJSON *v = NULL;
	char *err = NULL;
	int r = manifest_values(&b, ovr ? &o : NULL, &v, &err);
	if (r < 0)
		fail_msg("values: %s", err ? err : "?");
	return v;
}

static struct manifest_stack *
render(const char *const *names, const char *const *texts, size_t n, const cJSON *values, int want, char **err)
{
	struct manifest_file f[8];
	for (size_t i = 0; i < n; i++)
		f[i] = (struct manifest_file){ names[i], texts[i], strlen(texts[i]) };
	struct kinds *k;
	assert_int_equal(kinds_new(&k), 0);
	struct manifest_stack *s = NULL;
	*err = NULL;
	assert_int_equal(manifest_render(f, n, values, k, &s, err), want);
	kinds_free(k);
	return s;
}

static void
test_phase_name(void **state)
{
	(void)state;
	unsigned o;
	char *n;
	assert_int_equal(manifest_phase_name("/x/manifests/00-namespaces.yaml", &o, &n), 0);
	assert_int_equal(o, 0);
	assert_string_equal(n, "namespaces");
	free(n);
	assert_int_equal(manifest_phase_name("25-vault-webhook.yml", &o, &n), 0);
	assert_int_equal(o, 25);
	assert_string_equal(n, "vault-webhook");
	free(n);
	const char *bad[] = { "namespaces.yaml", "00namespaces.yaml", "00-.yaml", "00-x.json", "-x.yaml",
			      "00-a b.yaml", "00-x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(manifest_phase_name(bad[i], &o, &n), -EINVAL);
}

static void
test_values_merge(void **state)
{
	(void)state;
	cJSON *v = values_of("a: {b: 1, c: {d: x, e: [1, 2]}}\nf: keep\n",
			     "a: {c: {d: w, e: [3]}, q: new}\n");
	char *s = cJSON_PrintUnformatted(v);
	assert_string_equal(s, "{\"a\":{\"b\":1,\"c\":{\"d\":\"w\",\"e\":[3]},\"q\":\"new\"},\"f\":\"keep\"}");
	free(s);
	cJSON_Delete(v);
	v = values_of("", NULL);
	assert_true(cJSON_IsObject(v));
	cJSON_Delete(v);

	struct manifest_file b = { "values.yaml", "- a\n", 4 };
	char *err = NULL;
	assert_int_equal(manifest_values(&b, NULL, &v, &err), -EINVAL);
	assert_string_equal(err, "values.yaml:1:1: values must be a mapping");
	free(err);
	struct manifest_file ok = { "values.yaml", "a: 1\n", 5 }, bad = { "ovr.yaml", "a: [\n", 5 };
	err = NULL;
	assert_int_equal(manifest_values(&ok, &bad, &v, &err), -EINVAL);
	assert_non_null(strstr(err, "ovr.yaml:"));
	free(err);
}

static void
test_lookup(void **state)
{
	(void)state;
	cJSON *v = values_of("a: {b: [10, {c: deep}]}\n", NULL);
	assert_int_equal((int)manifest_lookup(v, "a.b.0", 5)->valuedouble, 10);
	assert_string_equal(manifest_lookup(v, "a.b.1.c", 7)->valuestring, "deep");
	assert_null(manifest_lookup(v, "a.x", 3));
	assert_null(manifest_lookup(v, "a.", 2));
	assert_null(manifest_lookup(v, "a..b", 4));
	assert_null(manifest_lookup(v, "a.b.7", 5));
	assert_null(manifest_lookup(v, "", 0));
	cJSON_Delete(v);
}

static void
test_typed_and_text(void **state)
{
	(void)state;
	cJSON *v = values_of("num: 3\nf: 1.5\nb: true\ns: text\nm: {k: v}\nl: [1, two]\nz: null\n", NULL);
	const char *names[] = { "00-x.yaml" };
	const char *texts[] = { "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: d}\n"
				"data:\n  num: ${num}\n  f: ${f}\n  b: ${b}\n  s: ${s}\n  m: ${m}\n  l: ${l}\n  z: ${z}\n"
				"  t: \"${num}/${f}/${b}/${s}\"\n  e: \"$${num} $x $$ ${s}$\"\n" };
	char *err;
	struct manifest_stack *s = render(names, texts, 1, v, 0, &err);
	assert_int_equal(s->count, 1);
	if (s->phases[0].error)
		fail_msg("%s", s->phases[0].error);
	assert_int_equal(s->phases[0].count, 1);
	char *out = cJSON_PrintUnformatted(cJSON_GetObjectItem(s->phases[0].objects[0].obj, "data"));
	assert_string_equal(out, "{\"num\":3,\"f\":1.5,\"b\":true,\"s\":\"text\",\"m\":{\"k\":\"v\"},\"l\":[1,\"two\"],"
				 "\"z\":null,\"t\":\"3/1.5/true/text\",\"e\":\"${num} $x $$ text$\"}");
	free(out);
	assert_string_equal(s->phases[0].name, "x");
	assert_string_equal(s->phases[0].objects[0].namespace, "d");
	assert_string_equal(s->phases[0].objects[0].info->plural, "configmaps");
	assert_string_equal(s->phases[0].objects[0].where, "00-x.yaml:2:7");
	manifest_stack_free(s);
	cJSON_Delete(v);
}

static void
expect_phase_error(const char *text, const char *want)
{
	cJSON *v = values_of("m: {k: v}\nz: null\ns: x\n", NULL);
	const char *names[] = { "00-ok.yaml", "10-bad.yaml" };
	const char *texts[] = { "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n", text };
	char *err;
	struct manifest_stack *s = render(names, texts, 2, v, 0, &err);
	assert_null(s->phases[0].error);
	assert_int_equal(s->phases[0].count, 1);
	if (!s->phases[1].error || strcmp(s->phases[1].error, want) != 0)
		fail_msg("want \"%s\", got \"%s\"", want, s->phases[1].error ? s->phases[1].error : "(none)");
	assert_int_equal(s->phases[1].count, 0);	/* nothing of a rejected phase */
	manifest_stack_free(s);
	cJSON_Delete(v);
}

static void
test_phase_errors(void **state)
{
	(void)state;
	const char *cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ok}\n";
	char buf[512];
	snprintf(buf, sizeof buf, "%s---\n%sdata: {a: \"${s} ${m}\"}\n", cm, cm);
	expect_phase_error(buf, "10-bad.yaml:8:11: ${m} is a map and cannot be part of a longer string");
	snprintf(buf, sizeof buf, "%sdata: {a: \"${z} x\"}\n", cm);
	expect_phase_error(buf, "10-bad.yaml:4:11: ${z} is null and cannot be part of a longer string");
	snprintf(buf, sizeof buf, "%sdata: {a: \"x ${s\"}\n", cm);
	expect_phase_error(buf, "10-bad.yaml:4:11: unterminated ${ in \"x ${s\"");
	snprintf(buf, sizeof buf, "%sdata: {a: \"${a b}\"}\n", cm);
	expect_phase_error(buf, "10-bad.yaml:4:11: bad placeholder ${a b} (a dotted path of letters, digits, _ and -)");
	snprintf(buf, sizeof buf, "%sdata: {a: \"${m.nope}\"}\n", cm);
	expect_phase_error(buf, "10-bad.yaml:4:11: undefined value ${m.nope}");
	expect_phase_error("kind: ConfigMap\nmetadata: {name: c}\n",
			   "10-bad.yaml:1:1: document 1: apiVersion must be a non-empty string");
	expect_phase_error("apiVersion: v1\nkind: ConfigMap\n",
			   "10-bad.yaml:1:1: document 1: metadata must be a mapping");
	expect_phase_error("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"\"}\n",
			   "10-bad.yaml:3:18: document 1: metadata.name must be a non-empty string");
	expect_phase_error("- a\n", "10-bad.yaml:1:1: document 1 is not a mapping");
	expect_phase_error("apiVersion: v1\nkind: Gadget\nmetadata: {name: g}\n",
			   "10-bad.yaml:2:7: Gadget \"g\": unknown kind Gadget (v1); not built in and no CustomResourceDefinition in the manifests defines it");
	expect_phase_error("apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n",
			   "10-bad.yaml:2:7: Namespace \"ok\" is already defined at 00-ok.yaml:2:7");
	expect_phase_error("apiVersion: v1\nkind: Namespace\nmetadata: {name: nn, namespace: x}\n",
			   "10-bad.yaml:2:7: Namespace \"nn\" is cluster-scoped: metadata.namespace must not be set");
	expect_phase_error("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: nn, namespace: x}\n",
			   "10-bad.yaml:2:7: CronJob \"nn\": kind CronJob is served as batch/v1, not batch/v1beta1");
	expect_phase_error("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec: {}\n",
			   "10-bad.yaml:2:7: CustomResourceDefinition \"x\": needs spec.group, spec.names.kind, spec.names.plural, spec.scope and a served version");
}

static void
test_layout_errors(void **state)
{
	(void)state;
	cJSON *v = values_of("a: 1\n", NULL);
	const char *ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n";
	const char *names[] = { "manifests/10-a.yaml", "manifests/10-b.yaml" };
	const char *texts[] = { ns, ns };
	char *err;
	assert_null(render(names, texts, 2, v, -EINVAL, &err));
	assert_string_equal(err, "manifests/10-b.yaml: phase number 10 is also used by manifests/10-a.yaml");
	free(err);
	const char *names2[] = { "manifests/namespaces.yaml" };
	assert_null(render(names2, texts, 1, v, -EINVAL, &err));
	assert_string_equal(err, "manifests/namespaces.yaml: a manifest file is named NN-NAME.yaml (e.g. 00-namespaces.yaml)");
	free(err);
	cJSON_Delete(v);
}

static void
test_order(void **state)
{
	(void)state;
	cJSON *v = values_of("a: 1\n", NULL);
	const char *names[] = { "20-c.yaml", "3-b.yaml", "00-a.yaml" };
	const char *texts[] = { "", "---\n---\n", "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n" };
	char *err;
	struct manifest_stack *s = render(names, texts, 3, v, 0, &err);
	assert_int_equal(s->count, 3);
	assert_string_equal(s->phases[0].name, "a");
	assert_string_equal(s->phases[1].name, "b");
	assert_int_equal(s->phases[1].order, 3);
	assert_string_equal(s->phases[2].name, "c");
	assert_int_equal(s->phases[1].count, 0);
	assert_null(s->phases[1].error);
	manifest_stack_free(s);
	cJSON_Delete(v);
}

static void
test_golden(void **state)
{
	(void)state;
	const char *root = "tests/golden/manifest";
	DIR *d = opendir(root);
	assert_non_null(d);
	struct dirent *de;
	int cases = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		char dir[512], vals[512], ovr[512], exp[512];
		snprintf(dir, sizeof dir, "%s/%s/manifests", root, de->d_name);
		snprintf(vals, sizeof vals, "%s/%s/values.yaml", root, de->d_name);
		snprintf(ovr, sizeof ovr, "%s/%s/override.yaml", root, de->d_name);
		snprintf(exp, sizeof exp, "%s/%s/expected.jsonl", root, de->d_name);
		FILE *of = fopen(ovr, "r");
		if (of)
			fclose(of);
		struct kinds *k;
		assert_int_equal(kinds_new(&k), 0);
		struct manifest_stack *s = NULL;
		char *err = NULL;
		int r = render_load(dir, vals, of ? ovr : NULL, k, &s, &err);
		if (r < 0)
			fail_msg("%s: %s", de->d_name, err ? err : "?");
		char *got = manifest_format(s);
		assert_non_null(got);
		if (getenv("AGENTD_GOLDEN_UPDATE")) {
			FILE *f = fopen(exp, "w");
			assert_non_null(f);
			fputs(got, f);
			fclose(f);
		}
		char *want = NULL;
		size_t wl;
		if (readfile(exp, 1 << 20, &want, &wl) < 0)
			fail_msg("%s: cannot read %s", de->d_name, exp);
		if (strcmp(got, want) != 0)
			fail_msg("%s: rendered stack differs from %s:\n--- got\n%s--- want\n%s", de->d_name, exp, got, want);
		free(got);
		free(want);
		manifest_stack_free(s);
		kinds_free(k);
		cases++;
	}
	closedir(d);
	assert_true(cases >= 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phase_name),
		cmocka_unit_test(test_values_merge),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_typed_and_text),
		cmocka_unit_test(test_phase_errors),
		cmocka_unit_test(test_layout_errors),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
