/* jpath — member lookups in parsed JSON objects. */
#include <string.h>

#include "jpath.h"

const cJSON *
jpath_get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

const char *
jpath_str(const cJSON *o, const char *key)
{
	const cJSON *v = jpath_get(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *
jpath_find(const cJSON *o, const char *path)
{
	char key[64];

	while (o != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = jpath_get(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}
