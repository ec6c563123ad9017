/* Unit tests for yamljson: typing, positions, anchors, merges, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "yamljson.h"

static struct yamljson *
parse_ok(const char *text)
{
	struct yamljson *y = NULL;
	char *err = NULL;
	int r = yamljson_parse(text, strlen(text), "t.yaml", &y, &err);

	if (r != 0)
		fail_msg("parse failed (%d): %s", r, err ? err : "(no message)");
	assert_null(err);
	assert_non_null(y);
	return y;
}

static char *
parse_err(const char *text)
{
	struct yamljson *y = NULL;
	char *err = NULL;
	int r = yamljson_parse(text, strlen(text), "bad.yaml", &y, &err);

	assert_int_equal(r, -EINVAL);
	assert_null(y);
	assert_non_null(err);
	return err;
}

static void
expect_err(const char *text, const char *where, const char *what)
{
	char *err = parse_err(text);

	if (strncmp(err, where, strlen(where)) != 0 || !strstr(err, what))
		fail_msg("error \"%s\" does not start with \"%s\" or lacks \"%s\"", err, where, what);
	free(err);
}

static void
test_scalar_typing(void **state __attribute__((unused)))
{
	struct yamljson *y = parse_ok(
		"t1: true\nt2: True\nt3: yes\nt4: on\nf1: false\nf2: NO\nf3: off\n"
		"n1: ~\nn2: null\nn3:\n"
		"i1: 42\ni2: -7\ni3: 0x1F\ni4: 0o17\ni5: 0755\ni6: 1_000\ni7: 0b101\ni8: +3\n"
		"d1: 1.5\nd2: .5\nd3: 1e3\nd4: -2.5E-1\n"
		"s1: \"true\"\ns2: '42'\ns3: hello\ns4: 1.2.3\ns5: 2024-01-01T00:00:00Z\n"
		"s6: !!str 17\ns7: |\n  block\ns8: 0x\ns9: 12abc\ns10: \"\"\n");
	cJSON *d = yamljson_doc(y, 0);
	const char *trues[] = { "t1", "t2", "t3", "t4" }, *falses[] = { "f1", "f2", "f3" };
	const char *nulls[] = { "n1", "n2", "n3" };
	struct { const char *k; double v; } nums[] = {
		{ "i1", 42 }, { "i2", -7 }, { "i3", 31 }, { "i4", 15 }, { "i5", 493 }, { "i6", 1000 },
		{ "i7", 5 }, { "i8", 3 }, { "d1", 1.5 }, { "d2", 0.5 }, { "d3", 1000 }, { "d4", -0.25 },
	};
	struct { const char *k, *v; } strs[] = {
		{ "s1", "true" }, { "s2", "42" }, { "s3", "hello" }, { "s4", "1.2.3" },
		{ "s5", "2024-01-01T00:00:00Z" }, { "s6", "17" }, { "s7", "block\n" }, { "s8", "0x" },
		{ "s9", "12abc" }, { "s10", "" },
	};
	size_t i;

	assert_int_equal(yamljson_count(y), 1);
	for (i = 0; i < 4; i++)
		assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, trues[i])));
	for (i = 0; i < 3; i++)
		assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d, falses[i])));
	for (i = 0; i < 3; i++)
		assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, nulls[i])));
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		cJSON *n = cJSON_GetObjectItemCaseSensitive(d, nums[i].k);

		if (!cJSON_IsNumber(n) || n->valuedouble != nums[i].v)
			fail_msg("%s is not the number %g", nums[i].k, nums[i].v);
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		cJSON *n = cJSON_GetObjectItemCaseSensitive(d, strs[i].k);

		assert_true(cJSON_IsString(n));
		assert_string_equal(n->valuestring, strs[i].v);
	}
	yamljson_free(y);
}

static void
test_positions(void **state __attribute__((unused)))
{
	struct yamljson *y = parse_ok("# comment\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
				      "    - name: c1\n      image: busybox\n");
	cJSON *d = yamljson_doc(y, 0), *spec, *c0, *img;
	struct yamljson_pos p;

	spec = cJSON_GetObjectItemCaseSensitive(d, "spec");
	c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(spec, "containers"), 0);
	img = cJSON_GetObjectItemCaseSensitive(c0, "image");
	assert_int_equal(yamljson_pos(y, img, &p), 0);
	assert_string_equal(p.file, "t.yaml");
	assert_int_equal(p.line, 7);
	assert_int_equal(p.column, 14);
	assert_int_equal(p.key_line, 7);
	assert_int_equal(p.key_column, 7);
	assert_int_equal(yamljson_pos(y, c0, &p), 0);
	assert_int_equal(p.line, 6);
	assert_int_equal(p.column, 7);
	assert_int_equal(p.key_line, 0);
	assert_int_equal(yamljson_pos(y, d, &p), 0);
	assert_int_equal(p.line, 2);
	assert_int_equal(p.column, 1);

	/* A node the parser did not create has no position. */
	cJSON *mine = cJSON_CreateString("x");
	assert_int_equal(yamljson_pos(y, mine, &p), -ENOENT);
	cJSON_Delete(mine);
	yamljson_free(y);
}

static void
test_multi_document(void **state __attribute__((unused)))
{
	struct yamljson *y = parse_ok("a: 1\n---\nb: 2\n---\n# only a comment\n---\n- x\n");
	cJSON *taken;
	struct yamljson_pos p;

	assert_int_equal(yamljson_count(y), 4);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(yamljson_doc(y, 0), "a")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(yamljson_doc(y, 1), "b")->valueint, 2);
	assert_true(cJSON_IsNull(yamljson_doc(y, 2)));
	assert_true(cJSON_IsArray(yamljson_doc(y, 3)));
	assert_null(yamljson_doc(y, 4));

	taken = yamljson_take(y, 1);
	assert_true(cJSON_IsObject(taken));
	assert_true(cJSON_IsNull(yamljson_doc(y, 1)));
	assert_int_equal(yamljson_pos(y, cJSON_GetObjectItemCaseSensitive(taken, "b"), &p), 0);
	assert_int_equal(p.line, 3);
	assert_int_equal(p.column, 4);
	cJSON_Delete(taken);
	yamljson_free(y);

	y = parse_ok("");
	assert_int_equal(yamljson_count(y), 0);
	yamljson_free(y);
}

static void
test_anchors_and_merge(void **state __attribute__((unused)))
{
	struct yamljson *y = parse_ok(
		"base: &b\n  cpu: 100m\n  memory: 64Mi\n"
		"copy: *b\n"
		"over:\n  <<: *b\n  cpu: 200m\n"
		"multi:\n  <<: [*b, {extra: 1}]\n"
		"list: &l [1, 2]\nlist2: *l\n");
	cJSON *d = yamljson_doc(y, 0);
	cJSON *copy = cJSON_GetObjectItemCaseSensitive(d, "copy");
	cJSON *over = cJSON_GetObjectItemCaseSensitive(d, "over");
	cJSON *multi = cJSON_GetObjectItemCaseSensitive(d, "multi");
	struct yamljson_pos p;

	assert_string_equal(cJSON_GetObjectItemCaseSensitive(copy, "memory")->valuestring, "64Mi");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(over, "cpu")->valuestring, "200m");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(over, "memory")->valuestring, "64Mi");
	assert_null(cJSON_GetObjectItemCaseSensitive(over, "<<"));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(multi, "extra")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(multi, "cpu")->valuestring, "100m");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "list2")), 2);
	/* An aliased copy points at where its content is written. */
	assert_int_equal(yamljson_pos(y, cJSON_GetObjectItemCaseSensitive(copy, "memory"), &p), 0);
	assert_int_equal(p.line, 3);
	yamljson_free(y);
}

static void
test_keys_stringified(void **state __attribute__((unused)))
{
	struct yamljson *y = parse_ok("1: one\ntrue: t\n1.5: f\n\"quoted\": q\n");
	cJSON *d = yamljson_doc(y, 0);

	assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "1")->valuestring, "one");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "true")->valuestring, "t");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "1.5")->valuestring, "f");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "quoted")->valuestring, "q");
	yamljson_free(y);
}

static void
test_errors(void **state __attribute__((unused)))
{
	expect_err("a: 1\nb: 2\na: 3\n", "bad.yaml:3:1:", "duplicate key \"a\"");
	expect_err("x:\n  y: [1, 2\n", "bad.yaml:", "did not find expected");
	expect_err("a: *nope\n", "bad.yaml:1:4:", "unknown anchor \"nope\"");
	expect_err("a: .inf\n", "bad.yaml:1:4:", "JSON");
	expect_err("? [a]\n: 1\n", "bad.yaml:1:3:", "mapping key must be a scalar");
	expect_err("a: !!int abc\n", "bad.yaml:1:4:", "!!int");
	expect_err("a:\n\tb: 1\n", "bad.yaml:", "tab");
	expect_err("a: 1\n---\nk: v\nk: w\n", "bad.yaml:4:1:", "duplicate key \"k\"");
	expect_err("a: &x [*x]\n", "bad.yaml:1:8:", "unknown anchor");
	expect_err("<<: 5\n", "bad.yaml:1:1:", "merge key");
}

static void
test_alias_bomb(void **state __attribute__((unused)))
{
	const char *bomb =
		"a: &a [x,x,x,x,x,x,x,x,x,x]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";

	expect_err(bomb, "bad.yaml:", "too many nodes");
}

static void
test_deep_nesting(void **state __attribute__((unused)))
{
	char buf[2000];
	size_t i;

	for (i = 0; i < 600; i++)
		buf[i] = '[';
	buf[i] = '\0';
	expect_err(buf, "bad.yaml:1:", "nesting");
}

static void
test_free_null(void **state __attribute__((unused)))
{
	assert_null(yamljson_free(NULL));
	assert_int_equal(yamljson_count(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalar_typing),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_anchors_and_merge),
		cmocka_unit_test(test_keys_stringified),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
