/* Unit tests for the control frame codec (proto.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

static void
test_roundtrip(void **state)
{
	uint8_t buf[64];
	struct proto_frame f;
	int n;

	(void)state;
	n = proto_encode(buf, sizeof(buf), PROTO_REPLY, "{\"a\":1}", 7);
	assert_int_equal(n, PROTO_HEADER_SIZE + 7);
	assert_memory_equal(buf, "AD\x01\x02\x00\x00\x00\x07", 8);
	assert_int_equal(proto_decode(buf, (size_t)n, &f), n);
	assert_int_equal(f.version, PROTO_VERSION);
	assert_int_equal(f.type, PROTO_REPLY);
	assert_int_equal(f.len, 7);
	assert_memory_equal(f.payload, "{\"a\":1}", 7);
}

static void
test_partial_needs_more(void **state)
{
	uint8_t buf[64];
	struct proto_frame f;
	int n;

	(void)state;
	n = proto_encode(buf, sizeof(buf), PROTO_REQUEST, "{}", 2);
	for (int i = 0; i < n; i++)
		assert_int_equal(proto_decode(buf, (size_t)i, &f), 0);
	assert_int_equal(proto_decode(buf, (size_t)n, &f), n);
}

static void
test_two_frames_in_one_buffer(void **state)
{
	uint8_t buf[64];
	struct proto_frame f;
	int a, b;

	(void)state;
	a = proto_encode(buf, sizeof(buf), PROTO_PROGRESS, "{}", 2);
	b = proto_encode(buf + a, sizeof(buf) - (size_t)a, PROTO_END, NULL, 0);
	assert_int_equal(proto_decode(buf, (size_t)(a + b), &f), a);
	assert_int_equal(f.type, PROTO_PROGRESS);
	assert_int_equal(proto_decode(buf + a, (size_t)b, &f), b);
	assert_int_equal(f.type, PROTO_END);
	assert_int_equal(f.len, 0);
}

static void
test_bad_magic_early(void **state)
{
	struct proto_frame f;

	(void)state;
	/* Garbage is rejected on its first byte, without waiting for a header. */
	assert_int_equal(proto_decode("G", 1, &f), -EBADMSG);
	assert_int_equal(proto_decode("AX", 2, &f), -EBADMSG);
	assert_int_equal(proto_decode("GET / HTTP/1.0\r\n", 16, &f), -EBADMSG);
}

static void
test_bad_type(void **state)
{
	struct proto_frame f;

	(void)state;
	assert_int_equal(proto_decode("AD\x01\x00\x00\x00\x00\x00", 8, &f), -EBADMSG);
	assert_int_equal(proto_decode("AD\x01\x06\x00\x00\x00\x00", 8, &f), -EBADMSG);
	assert_int_equal(proto_decode("AD\x01\xff\x00\x00\x00\x00", 8, &f), -EBADMSG);
}

static void
test_wrong_version(void **state)
{
	struct proto_frame f = { 0 };

	(void)state;
	/* Known from the third byte on: the peer's version is reported back. */
	assert_int_equal(proto_decode("AD\x02", 3, &f), -EPROTONOSUPPORT);
	assert_int_equal(f.version, 2);
	assert_int_equal(proto_decode("AD\x00\x01\x00\x00\x00\x00", 8, &f), -EPROTONOSUPPORT);
	assert_int_equal(f.version, 0);
}

static void
test_size_cap(void **state)
{
	uint8_t hdr[8] = { 'A', 'D', PROTO_VERSION, PROTO_REQUEST, 0, 0, 0, 0 };
	uint8_t *big;
	struct proto_frame f;
	uint32_t len = PROTO_PAYLOAD_MAX + 1;

	(void)state;
	hdr[4] = (uint8_t)(len >> 24);
	hdr[5] = (uint8_t)(len >> 16);
	hdr[6] = (uint8_t)(len >> 8);
	hdr[7] = (uint8_t)len;
	/* Judged from the header alone: no buffering of an oversize frame. */
	assert_int_equal(proto_decode(hdr, sizeof(hdr), &f), -EMSGSIZE);
	memset(hdr + 4, 0xff, 4);
	assert_int_equal(proto_decode(hdr, sizeof(hdr), &f), -EMSGSIZE);

	big = calloc(1, PROTO_FRAME_MAX + 1);
	assert_non_null(big);
	assert_int_equal(proto_encode(big, PROTO_FRAME_MAX + 1, PROTO_REPLY, big, PROTO_PAYLOAD_MAX + 1),
			 -EMSGSIZE);
	/* Exactly at the cap is fine. */
	assert_int_equal(proto_encode(big, PROTO_FRAME_MAX, PROTO_REPLY, big + 8, PROTO_PAYLOAD_MAX),
			 PROTO_FRAME_MAX);
	assert_int_equal(proto_decode(big, PROTO_FRAME_MAX, &f), PROTO_FRAME_MAX);
	/* The output buffer is respected. */
	assert_int_equal(proto_encode(big, 10, PROTO_REPLY, "abc", 3), -EMSGSIZE);
	assert_int_equal(proto_encode(big, 100, (enum proto_type)9, "abc", 3), -EINVAL);
	free(big);
}

static void
test_request_parse(void **state)
{
	const char *cmd, *why;
	const cJSON *args;
	cJSON *root, *req;
	char *text;

	(void)state;
	req = proto_request_new("status", NULL);
	assert_non_null(req);
	text = cJSON_PrintUnformatted(req);
	assert_string_equal(text, "{\"command\":\"status\",\"args\":{}}");
	assert_int_equal(proto_request_parse(text, strlen(text), &root, &cmd, &args, &why), 0);
	assert_string_equal(cmd, "status");
	assert_true(cJSON_IsObject(args));
	cJSON_Delete(root);
	cJSON_Delete(req);
	free(text);

	/* Not NUL-terminated at len: only len bytes are read. */
	assert_int_equal(proto_request_parse("{\"command\":\"x\"}garbage", 15, &root, &cmd, &args, &why), 0);
	assert_string_equal(cmd, "x");
	assert_null(args);
	cJSON_Delete(root);

	static const char *const bad[] = {
		"", "not json", "[]", "\"status\"", "{}", "{\"command\":1}", "{\"command\":\"\"}",
		"{\"command\":\"status\",\"args\":[]}", "{\"command\":\"status\",\"args\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(proto_request_parse(bad[i], strlen(bad[i]), &root, &cmd, &args, &why), -EBADMSG);
		assert_non_null(why);
	}
}

static void
test_error_roundtrip(void **state)
{
	enum proto_error code;
	char *msg = NULL, *text;
	cJSON *e;

	(void)state;
	e = proto_error_new(PROTO_E_REFUSED, "only root");
	text = cJSON_PrintUnformatted(e);
	assert_string_equal(text, "{\"error\":\"refused\",\"message\":\"only root\"}");
	assert_int_equal(proto_error_parse(text, strlen(text), &code, &msg), 0);
	assert_int_equal(code, PROTO_E_REFUSED);
	assert_string_equal(msg, "only root");
	free(msg);
	free(text);
	cJSON_Delete(e);
	assert_int_equal(proto_error_parse("{\"error\":\"nope\",\"message\":\"x\"}", 31, &code, &msg), -EBADMSG);
	assert_int_equal(proto_error_parse("{\"error\":\"usage\"}", 17, &code, &msg), -EBADMSG);
	assert_int_equal(proto_error_parse("nope", 4, &code, &msg), -EBADMSG);
}

static void
test_encode_json(void **state)
{
	struct proto_frame f;
	uint8_t *buf;
	size_t len;
	cJSON *o, *big;
	char *s;

	(void)state;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "k", "v");
	assert_int_equal(proto_encode_json(PROTO_REPLY, o, &buf, &len), 0);
	assert_int_equal(proto_decode(buf, len, &f), (int)len);
	assert_int_equal(f.len, strlen("{\"k\":\"v\"}"));
	free(buf);
	assert_int_equal(proto_encode_json(PROTO_END, NULL, &buf, &len), 0);
	assert_int_equal(len, PROTO_HEADER_SIZE);
	free(buf);
	cJSON_Delete(o);

	s = malloc(PROTO_FRAME_MAX);
	memset(s, 'x', PROTO_FRAME_MAX - 1);
	s[PROTO_FRAME_MAX - 1] = '\0';
	big = cJSON_CreateObject();
	cJSON_AddStringToObject(big, "k", s);
	assert_int_equal(proto_encode_json(PROTO_REPLY, big, &buf, &len), -EMSGSIZE);
	cJSON_Delete(big);
	free(s);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(proto_type_name(PROTO_END), "END");
	assert_string_equal(proto_type_name((enum proto_type)77), "UNKNOWN");
	assert_string_equal(proto_error_name(PROTO_E_USAGE), "usage");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_partial_needs_more),
		cmocka_unit_test(test_two_frames_in_one_buffer),
		cmocka_unit_test(test_bad_magic_early),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_error_roundtrip),
		cmocka_unit_test(test_encode_json),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
