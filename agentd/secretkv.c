/* secretkv — names, paths, KEY=VALUE lines, base64 and hashes for agent secrets. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "secretkv.h"

bool
secretkv_valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > SECRETKV_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return false;
	return strstr(name, "..") == NULL;
}

bool
secretkv_valid_key(const char *key, size_t len)
{
	if (!key || len == 0 || len > SECRETKV_KEY_MAX || isdigit((unsigned char)key[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '_')
			return false;
	return true;
}

int
secretkv_split(const char *line, size_t len, size_t *klen, size_t *voff, size_t *vlen)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0 || line[0] == '#')
		return -ENODATA;
	const char *eq = memchr(line, '=', len);
	if (!eq || !secretkv_valid_key(line, (size_t)(eq - line)))
		return -EINVAL;
	*klen = (size_t)(eq - line);
	*voff = *klen + 1;
	*vlen = len - *voff;
	return 0;
}

static bool
valid_segment(const char *s, bool slash_ok)
{
	if (!s || strstr(s, "..") || s[0] == '/')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s) && !(slash_ok && *s == '/'))
			return false;
	return true;
}

int
secretkv_path(const char *mount, const char *prefix, const char *kind, const char *name, char *buf, size_t size)
{
	if (!valid_segment(mount, true) || !*mount || !valid_segment(prefix, true) ||
	    (strcmp(kind, "data") != 0 && strcmp(kind, "metadata") != 0) || (name && !secretkv_valid_name(name)))
		return -EINVAL;
	if ((size_t)snprintf(buf, size, "%s/%s/%s%s", mount, kind, prefix, name ? name : "") >= size)
		return -ENAMETOOLONG;
	return 0;
}

int
secretkv_b64_decode(const char *in, size_t len, struct secret **out)
{
	if (len % 4 != 0 || len > INT_MAX)
		return -EINVAL;
	size_t pad = 0;
	while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
		pad++;
	/* EVP_DecodeBlock skips surrounding blanks; Secret data has none. */
	if (len > 0 && (isspace((unsigned char)in[0]) || isspace((unsigned char)in[len - 1 - pad]) ||
			memchr(in, '=', len - pad)))
		return -EINVAL;
	struct secret *s = secret_new(len / 4 * 3);
	if (!s)
		return -ENOMEM;
	int n = len ? EVP_DecodeBlock((unsigned char *)s->data, (const unsigned char *)in, (int)len) : 0;
	if (n < 0 || (size_t)n < pad) {
		secret_free(s);
		return -EINVAL;
	}
	s->len = (size_t)n - pad;
	s->data[s->len] = '\0';
	*out = s;
	return 0;
}

int
secretkv_hash(const void *buf, size_t len, unsigned char out[SECRETKV_HASH_LEN])
{
	unsigned int n = 0;
	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != SECRETKV_HASH_LEN)
		return -EIO;
	return 0;
}

bool
secretkv_same(const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned char ha[SECRETKV_HASH_LEN], hb[SECRETKV_HASH_LEN];
	bool same = secretkv_hash(a, alen, ha) == 0 && secretkv_hash(b, blen, hb) == 0 &&
		    CRYPTO_memcmp(ha, hb, sizeof ha) == 0;
	explicit_bzero(ha, sizeof ha);
	explicit_bzero(hb, sizeof hb);
	return same;
}
