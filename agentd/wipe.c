/* wipe — zero, then free. */
#include <stdlib.h>
#include <string.h>

#include "wipe.h"

void
wipe_json(cJSON *t)
{
	for (; t; t = t->next) {
		if (t->valuestring)
			explicit_bzero(t->valuestring, strlen(t->valuestring));
		wipe_json(t->child);
	}
}

void
wipe_json_free(cJSON *t)
{
	if (!t)
		return;
	if (t->valuestring)
		explicit_bzero(t->valuestring, strlen(t->valuestring));
	wipe_json(t->child);
	cJSON_Delete(t);
}

void
wipe_free(void *p, size_t n)
{
	if (p) {
		explicit_bzero(p, n);
		free(p);
	}
}

void
wipe_free_str(char *s)
{
	if (s)
		wipe_free(s, strlen(s));
}
