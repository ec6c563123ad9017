/* Unit tests for jpath: member lookups, string values, dotted paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jpath.h"

#define UNUSED __attribute__((unused))

static cJSON *doc;

static int
setup(void **state UNUSED)
{
	doc = cJSON_Parse("{\"metadata\": {\"name\": \"cm1\", \"labels\": {\"app\": \"x\"}, \"n\": 3},"
			  " \"items\": [{\"name\": \"in-array\"}], \"s\": \"top\", \"Case\": \"upper\","
			  " \"a.b\": \"dotted key\"}");
	return doc != NULL ? 0 : -1;
}

static int
teardown(void **state UNUSED)
{
	cJSON_Delete(doc);
	return 0;
}

static void
test_get(void **state UNUSED)
{
	assert_true(cJSON_IsObject(jpath_get(doc, "metadata")));
	assert_null(jpath_get(doc, "missing"));
	assert_null(jpath_get(doc, "case"));	/* keys are case-sensitive */
	assert_null(jpath_get(NULL, "metadata"));
	/* Only objects have members: not arrays, not strings. */
	assert_null(jpath_get(jpath_get(doc, "items"), "name"));
	assert_null(jpath_get(jpath_get(doc, "s"), "s"));
}

static void
test_str(void **state UNUSED)
{
	assert_string_equal(jpath_str(doc, "s"), "top");
	assert_string_equal(jpath_str(jpath_get(doc, "metadata"), "name"), "cm1");
	assert_null(jpath_str(jpath_get(doc, "metadata"), "n"));	/* a number */
	assert_null(jpath_str(doc, "metadata"));			/* an object */
	assert_null(jpath_str(doc, "missing"));
	assert_null(jpath_str(NULL, "s"));
}

static void
test_find(void **state UNUSED)
{
	char long_key[80];

	assert_string_equal(cJSON_GetStringValue(jpath_find(doc, "metadata.labels.app")), "x");
	assert_string_equal(cJSON_GetStringValue(jpath_find(doc, "metadata.name")), "cm1");
	assert_ptr_equal(jpath_find(doc, ""), doc);
	assert_null(jpath_find(doc, "metadata.labels.missing"));
	assert_null(jpath_find(doc, "metadata.name.deeper"));	/* through a string */
	assert_null(jpath_find(doc, "items.name"));		/* through an array */
	assert_null(jpath_find(doc, "a.b"));			/* a dot always separates */
	assert_null(jpath_find(NULL, "metadata"));
	/* Path keys are at most 63 bytes; a longer one is not looked up. */
	cJSON *o = cJSON_CreateObject();
	assert_non_null(o);
	memset(long_key, 'k', 64);
	long_key[64] = '\0';
	assert_non_null(cJSON_AddStringToObject(o, long_key, "64 bytes"));
	long_key[63] = '\0';
	assert_non_null(cJSON_AddStringToObject(o, long_key, "63 bytes"));
	assert_string_equal(cJSON_GetStringValue(jpath_find(o, long_key)), "63 bytes");
	long_key[63] = 'k';
	assert_string_equal(jpath_str(o, long_key), "64 bytes");
	assert_null(jpath_find(o, long_key));
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
