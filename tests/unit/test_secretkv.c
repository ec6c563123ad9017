/* Unit tests for secretkv: KEY=VALUE lines, names, KV paths, base64, hash comparison. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "secretkv.h"

#define UNUSED __attribute__((unused))

static void
split(const char *line, int want, const char *key, const char *value)
{
	size_t klen = 99, voff = 99, vlen = 99;
	int r = secretkv_split(line, strlen(line), &klen, &voff, &vlen);
	if (r != want)
		fail_msg("split(\"%s\") = %d, want %d", line, r, want);
	if (r == 0) {
		assert_int_equal(klen, strlen(key));
		assert_memory_equal(line, key, klen);
		assert_int_equal(vlen, strlen(value));
		assert_memory_equal(line + voff, value, vlen);
	} else {
		assert_int_equal(klen, 99);	/* outputs untouched on error */
	}
}

static void
test_split(void **state UNUSED)
{
	split("FEED_TOKEN=abc\n", 0, "FEED_TOKEN", "abc");
	split("A=\r\n", 0, "A", "");
	split("K=a=b c 'q' $x\n", 0, "K", "a=b c 'q' $x");
	split("_x1=v", 0, "_x1", "v");
	split("\n", -ENODATA, NULL, NULL);
	split("# a comment=1\n", -ENODATA, NULL, NULL);
	split("NOEQUALS\n", -EINVAL, NULL, NULL);
	split("=v\n", -EINVAL, NULL, NULL);
	split("1A=v\n", -EINVAL, NULL, NULL);
	split("BAD-KEY=v\n", -EINVAL, NULL, NULL);
	split("SPACE KEY=v\n", -EINVAL, NULL, NULL);
}

static void
test_names(void **state UNUSED)
{
	assert_true(secretkv_valid_name("journalist"));
	assert_true(secretkv_valid_name("my-agent.2"));
	assert_false(secretkv_valid_name(""));
	assert_false(secretkv_valid_name(NULL));
	assert_false(secretkv_valid_name("Upper"));
	assert_false(secretkv_valid_name("a/b"));
	assert_false(secretkv_valid_name("-lead"));
	assert_false(secretkv_valid_name("a..b"));
	assert_false(secretkv_valid_name("0123456789012345678901234567890123456789012345678901234567890123"));
	assert_true(secretkv_valid_key("OPENAI_API_KEY", 14));
	assert_false(secretkv_valid_key("A.B", 3));
}

static void
test_path(void **state UNUSED)
{
	char buf[64];
	assert_int_equal(secretkv_path("secret", "agents/", "data", "journalist", buf, sizeof buf), 0);
	assert_string_equal(buf, "secret/data/agents/journalist");
	assert_int_equal(secretkv_path("secret", "agents/", "metadata", NULL, buf, sizeof buf), 0);
	assert_string_equal(buf, "secret/metadata/agents/");
	assert_int_equal(secretkv_path("kv/team", "", "data", "x", buf, sizeof buf), 0);
	assert_string_equal(buf, "kv/team/data/x");
	assert_int_equal(secretkv_path("secret", "agents/", "data", "../sys", buf, sizeof buf), -EINVAL);
	assert_int_equal(secretkv_path("secret", "../", "data", "x", buf, sizeof buf), -EINVAL);
	assert_int_equal(secretkv_path("", "agents/", "data", "x", buf, sizeof buf), -EINVAL);
	assert_int_equal(secretkv_path("secret", "agents/", "destroy", "x", buf, sizeof buf), -EINVAL);
	assert_int_equal(secretkv_path("secret", "agents/", "data", "journalist", buf, 10), -ENAMETOOLONG);
}

static void
b64(const char *in, int want, const char *out, size_t outlen)
{
	struct secret *s = NULL;
	int r = secretkv_b64_decode(in, strlen(in), &s);
	if (r != want)
		fail_msg("b64(\"%s\") = %d, want %d", in, r, want);
	if (r == 0) {
		assert_int_equal(s->len, outlen);
		assert_memory_equal(s->data, out, outlen);
		assert_int_equal(s->data[s->len], '\0');
	} else {
		assert_null(s);
	}
	secret_free(s);
}

static void
test_b64(void **state UNUSED)
{
	b64("", 0, "", 0);
	b64("YQ==", 0, "a", 1);
	b64("YWI=", 0, "ab", 2);
	b64("YWJj", 0, "abc", 3);
	b64("c2stdGVzdC0xMjM0NQ==", 0, "sk-test-12345", 13);
	b64("AP8A", 0, "\0\xff\0", 3);
	b64("YWJ", -EINVAL, NULL, 0);
	b64("YW J", -EINVAL, NULL, 0);
	b64("YW-_", -EINVAL, NULL, 0);
	b64("Y===", -EINVAL, NULL, 0);
}

static void
test_hash(void **state UNUSED)
{
	unsigned char h[SECRETKV_HASH_LEN];
	static const unsigned char abc[SECRETKV_HASH_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	assert_int_equal(secretkv_hash("abc", 3, h), 0);
	assert_memory_equal(h, abc, sizeof h);
	assert_true(secretkv_same("value", 5, "value", 5));
	assert_false(secretkv_same("value", 5, "valuE", 5));
	assert_false(secretkv_same("value", 5, "value", 4));
	assert_true(secretkv_same("", 0, "", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split), cmocka_unit_test(test_names), cmocka_unit_test(test_path),
		cmocka_unit_test(test_b64), cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
