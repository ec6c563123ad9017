/* Unit tests for strbuf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "strbuf.h"

static void
test_append_and_grow(void **state __attribute__((unused)))
{
	struct strbuf b = { 0 };
	size_t i;

	strbuf_printf(&b, "%s", "");
	assert_non_null(b.s);
	assert_string_equal(b.s, "");
	for (i = 0; i < 1000; i++)
		strbuf_printf(&b, "%zu,", i % 10);
	assert_false(b.oom);
	assert_int_equal(b.len, 2000);
	assert_int_equal(strlen(b.s), 2000);
	assert_memory_equal(b.s + 1990, "5,6,7,8,9,", 10);
	free(b.s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
