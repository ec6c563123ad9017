/* libFuzzer harness: yamljson_parse must never crash, leak or hang, and every
 * node it returns must have a position. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "yamljson.h"

static void
check_positions(const struct yamljson *y, const cJSON *n)
{
	struct yamljson_pos p;

	for (; n; n = n->next) {
		if (yamljson_pos(y, n, &p) != 0 || p.line == 0 || p.column == 0)
			abort();
		check_positions(y, n->child);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yamljson *y = NULL;
	char *err = NULL;
	size_t i;

	if (yamljson_parse((const char *)data, size, "fuzz.yaml", &y, &err) == 0) {
		for (i = 0; i < yamljson_count(y); i++)
			check_positions(y, yamljson_doc(y, i));
		yamljson_free(y);
	} else if (!err) {
		abort();
	}
	free(err);
	return 0;
}
