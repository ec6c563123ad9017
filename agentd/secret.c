/* secret — wipe, then free. */
#include <stdlib.h>
#include <string.h>

#include "secret.h"

void
secret_wipe_json(cJSON *t)
{
	for (; t; t = t->next) {
		if (t->valuestring)
			explicit_bzero(t->valuestring, strlen(t->valuestring));
		secret_wipe_json(t->child);
	}
}

void
secret_json_free(cJSON *t)
{
	if (!t)
		return;
	/* Only the root's subtree: a root has no siblings worth keeping apart. */
	if (t->valuestring)
		explicit_bzero(t->valuestring, strlen(t->valuestring));
	secret_wipe_json(t->child);
	cJSON_Delete(t);
}

void
secret_free(void *p, size_t n)
{
	if (p) {
		explicit_bzero(p, n);
		free(p);
	}
}

void
secret_free_str(char *s)
{
	if (s)
		secret_free(s, strlen(s));
}
