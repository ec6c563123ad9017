/* The real stack (manifests/ with config/values.yaml) through agentd's renderer:
 * every phase renders, and the override of tests/golden/stack/override.yaml changes
 * exactly the fields listed in tests/golden/stack/override.diff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "manifest.h"
#include "readfile.h"
#include "render.h"

#define GOLDEN "tests/golden/stack"

static struct manifest_stack *
render_stack(const char *override)
{
	struct kinds *k;
	assert_int_equal(kinds_new(&k), 0);
	struct manifest_stack *s = NULL;
	char *err = NULL;
	if (render_load("manifests", "config/values.yaml", override, k, &s, &err) < 0)
		fail_msg("render: %s", err ? err : "?");
	kinds_free(k);
	for (size_t i = 0; i < s->count; i++)
		if (s->phases[i].error)
			fail_msg("phase %s: %s", s->phases[i].name, s->phases[i].error);
	return s;
}

static void
put_value(FILE *out, const cJSON *v)
{
	if (!v) {
		fputs("(absent)", out);
		return;
	}
	char *t = cJSON_PrintUnformatted(v);
	assert_non_null(t);
	fputs(t, out);
	free(t);
}

/* One line per leaf that differs: "PREFIX PATH: OLD -> NEW". */
static void
diff(FILE *out, const char *prefix, char *path, size_t len, size_t cap, const cJSON *a, const cJSON *b)
{
	if (a && b && cJSON_IsObject(a) && cJSON_IsObject(b)) {
		const cJSON *c;
		cJSON_ArrayForEach(c, a) {
			snprintf(path + len, cap - len, ".%s", c->string);
			diff(out, prefix, path, strlen(path), cap, c, cJSON_GetObjectItemCaseSensitive(b, c->string));
		}
		cJSON_ArrayForEach(c, b) {
			if (cJSON_GetObjectItemCaseSensitive(a, c->string))
				continue;
			snprintf(path + len, cap - len, ".%s", c->string);
			diff(out, prefix, path, strlen(path), cap, NULL, c);
		}
	} else if (a && b && cJSON_IsArray(a) && cJSON_IsArray(b)) {
		int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b);
		for (int i = 0; i < (na > nb ? na : nb); i++) {
			snprintf(path + len, cap - len, "[%d]", i);
			diff(out, prefix, path, strlen(path), cap, cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i));
		}
	} else if (!a || !b || !cJSON_Compare(a, b, true)) {
		path[len] = '\0';
		fprintf(out, "%s %s: ", prefix, path);
		put_value(out, a);
		fputs(" -> ", out);
		put_value(out, b);
		fputc('\n', out);
	}
	path[len] = '\0';
}

static void
test_stack_renders(void **state)
{
	(void)state;
	struct manifest_stack *s = render_stack(NULL);
	assert_int_equal(s->count, 8);
	size_t objects = 0;
	for (size_t i = 0; i < s->count; i++) {
		assert_true(s->phases[i].count > 0);
		objects += s->phases[i].count;
	}
	assert_true(objects >= 30);
	manifest_stack_free(s);
}

static void
test_override_changes_exactly_its_fields(void **state)
{
	(void)state;
	struct manifest_stack *base = render_stack(NULL), *ovr = render_stack(GOLDEN "/override.yaml");
	char *got = NULL;
	size_t got_len = 0;
	FILE *out = open_memstream(&got, &got_len);
	assert_non_null(out);
	assert_int_equal(base->count, ovr->count);
	for (size_t i = 0; i < base->count; i++) {
		const struct manifest_phase *pa = &base->phases[i], *pb = &ovr->phases[i];
		assert_int_equal(pa->count, pb->count);
		for (size_t j = 0; j < pa->count; j++) {
			const struct manifest_object *oa = &pa->objects[j];
			char prefix[256], path[1024] = "";
			snprintf(prefix, sizeof prefix, "%s %s %s%s%s", pa->name, oa->kind, oa->namespace ? oa->namespace : "",
				 oa->namespace ? "/" : "", oa->name);
			diff(out, prefix, path, 0, sizeof path, oa->obj, pb->objects[j].obj);
		}
	}
	fclose(out);
	char *want = NULL;
	size_t want_len;
	if (readfile(GOLDEN "/override.diff", 1 << 16, &want, &want_len) < 0)
		fail_msg("cannot read %s", GOLDEN "/override.diff");
	if (strcmp(got, want) != 0)
		fail_msg("override changed other fields than expected:\n--- got\n%s--- want\n%s", got, want);
	free(got);
	free(want);
	manifest_stack_free(base);
	manifest_stack_free(ovr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_renders),
		cmocka_unit_test(test_override_changes_exactly_its_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
