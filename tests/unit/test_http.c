/* http.c against a real HTTPS server (tests/unit/http_testserver.py). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "http.h"
#include "testserver.h"

static struct testserver ts;
static struct http_tls tls_ok, tls_client, tls_none;
static char *ca, *cert, *key;
static struct ev_loop *loop;
static struct http_client *client;

struct got {
	int done;
	int err;
	long status;
	char body[256 * 1024];
	size_t body_len;
	char msg[512];
	char lines[16][512];
	int nlines;
	int stop_after;		/* stop the stream after this many lines (0 = never) */
};

static void
on_done(void *arg, int err, const struct http_result *res, const char *msg)
{
	struct got *g = arg;
	g->done++;
	g->err = err;
	g->status = res->status;
	g->body_len = res->body_len;
	if (res->body_len < sizeof g->body)
		memcpy(g->body, res->body, res->body_len + 1);
	snprintf(g->msg, sizeof g->msg, "%s", msg);
}

static bool
on_line(void *arg, const char *line, size_t len)
{
	struct got *g = arg;
	assert_int_equal(strlen(line), len);
	if (g->nlines < 16)
		snprintf(g->lines[g->nlines], sizeof g->lines[0], "%s", line);
	g->nlines++;
	return g->stop_after && g->nlines >= g->stop_after;
}

static char *
url(const char *path)
{
	static char buf[4][256];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, sizeof buf[0], "https://127.0.0.1:%d%s", ts.port, path);
	return b;
}

static void
run(struct got *g, struct http_request *req)
{
	req->on_done = on_done;
	req->arg = g;
	if (!req->tls)
		req->tls = &tls_ok;
	if (!req->method)
		req->method = "GET";
	assert_int_equal(http_start(client, req, NULL), 0);
	assert_int_equal(ts_run_until(loop, &g->done, 10.0), 0);
	assert_int_equal(g->done, 1);
}

static int
setup(void **state)
{
	(void)state;
	if (ts_start(&ts, "tests/unit/http_testserver.py", NULL) < 0)
		return -1;
	size_t cl, crl, kl;
	ca = ts_slurp(ts.dir, "ca.pem", &cl);
	cert = ts_slurp(ts.dir, "client.pem", &crl);
	key = ts_slurp(ts.dir, "client-key.pem", &kl);
	if (!ca || !cert || !key)
		return -1;
	tls_ok = (struct http_tls){ .ca = ca, .ca_len = cl };
	tls_client = (struct http_tls){ .ca = ca, .ca_len = cl, .cert = cert, .cert_len = crl,
					.key = key, .key_len = kl };
	tls_none = (struct http_tls){ 0 };
	loop = ev_loop_new(EVFLAG_AUTO);
	return http_client_new(loop, &client);
}

static int
teardown(void **state)
{
	(void)state;
	client = http_client_free(client);
	ev_loop_destroy(loop);
	ts_stop(&ts);
	free(ca);
	free(cert);
	free(key);
	return 0;
}

static void
test_get_and_headers(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	const char *hdrs[] = { "X-Test: one", "Accept: application/json", NULL };
	struct http_request req = { .url = url("/echo"), .headers = hdrs, .timeout_ms = 5000 };
	run(g, &req);
	assert_int_equal(g->err, 0);
	assert_int_equal(g->status, 200);
	assert_non_null(strstr(g->body, "\"method\": \"GET\""));
	assert_non_null(strstr(g->body, "\"x-test\": \"one\""));
	assert_string_equal(g->msg, "");
	free(g);
}

static void
test_methods_with_bodies(void **state)
{
	(void)state;
	const char *methods[] = { "POST", "PUT", "PATCH", "DELETE" };
	for (size_t i = 0; i < 4; i++) {
		struct got *g = calloc(1, sizeof *g);
		const char *hdrs[] = { "Content-Type: application/json", NULL };
		struct http_request req = { .method = methods[i], .url = url("/echo"), .headers = hdrs,
					    .body = "{\"k\":1}", .body_len = 7, .timeout_ms = 5000 };
		run(g, &req);
		assert_int_equal(g->err, 0);
		assert_int_equal(g->status, 200);
		char want[64];
		snprintf(want, sizeof want, "\"method\": \"%s\"", methods[i]);
		assert_non_null(strstr(g->body, want));
		assert_non_null(strstr(g->body, "\"body\": \"{\\\"k\\\":1}\""));
		free(g);
	}
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .method = "DELETE", .url = url("/echo"), .timeout_ms = 5000 };
	run(g, &req);
	assert_int_equal(g->err, 0);
	assert_non_null(strstr(g->body, "\"method\": \"DELETE\""));
	assert_non_null(strstr(g->body, "\"body\": \"\""));
	free(g);
}

static void
test_bad_method(void **state)
{
	(void)state;
	struct got g = { 0 };
	struct http_request req = { .method = "BREW", .url = url("/echo"), .on_done = on_done, .arg = &g };
	assert_int_equal(http_start(client, &req, NULL), -EINVAL);
	assert_int_equal(http_client_pending(client), 0);
}

static void
test_status_passthrough(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = url("/status/503"), .timeout_ms = 5000 };
	run(g, &req);
	assert_int_equal(g->err, 0);	/* an HTTP answer, whatever its status */
	assert_int_equal(g->status, 503);
	assert_string_equal(g->body, "status 503");
	free(g);
}

static void
test_body_limit(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = url("/big/100000"), .max_body = 1000, .timeout_ms = 5000 };
	run(g, &req);
	assert_int_equal(g->err, -EFBIG);
	assert_non_null(strstr(g->msg, "exceeds 1000 bytes"));
	memset(g, 0, sizeof *g);
	struct http_request req2 = { .url = url("/big/100000"), .timeout_ms = 5000 };
	run(g, &req2);
	assert_int_equal(g->err, 0);
	assert_int_equal(g->body_len, 100000);
	free(g);
}

static void
test_timeout(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = url("/slow/3000"), .timeout_ms = 300 };
	ev_tstamp t0 = ev_time();
	run(g, &req);
	assert_int_equal(g->err, -ETIMEDOUT);
	assert_true(ev_time() - t0 < 2.0);
	free(g);
}

static void
test_connection_refused(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);	/* nothing listens on that port now */
	char u[64];
	snprintf(u, sizeof u, "https://127.0.0.1:%d/", ntohs(sa.sin_port));
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = u, .timeout_ms = 5000 };
	run(g, &req);
	assert_int_equal(g->err, -ECONNREFUSED);
	assert_int_equal(g->status, 0);
	assert_true(strlen(g->msg) > 0);
	free(g);
}

static void
test_tls_untrusted(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	/* No CA given: the system store does not know our test CA. */
	struct http_request req = { .url = url("/echo"), .tls = &tls_none, .timeout_ms = 5000 };
	run(g, &req);
	assert_int_equal(g->err, -EPROTO);
	free(g);
	g = calloc(1, sizeof *g);
	struct http_tls insecure = { .insecure = true };
	struct http_request req2 = { .url = url("/echo"), .tls = &insecure, .timeout_ms = 5000 };
	run(g, &req2);
	assert_int_equal(g->err, 0);
	assert_int_equal(g->status, 200);
	free(g);
}

static void
test_client_cert_from_memory(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = url("/whoami"), .tls = &tls_client, .timeout_ms = 5000 };
	run(g, &req);
	assert_int_equal(g->err, 0);
	assert_string_equal(g->body, "client-cn");
	memset(g, 0, sizeof *g);
	struct http_request req2 = { .url = url("/whoami"), .timeout_ms = 5000 };
	run(g, &req2);
	assert_string_equal(g->body, "anonymous");
	free(g);
}

static void
test_keepalive(void **state)
{
	(void)state;
	struct got *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	struct http_request req = { .url = url("/conn"), .timeout_ms = 5000 };
	run(a, &req);
	struct http_request req2 = { .url = url("/conn"), .timeout_ms = 5000 };
	run(b, &req2);
	assert_int_equal(a->err, 0);
	assert_int_equal(b->err, 0);
	assert_string_equal(a->body, b->body);	/* same source port: connection reused */
	free(a);
	free(b);
}

static void
test_parallel(void **state)
{
	(void)state;
	struct got *g = calloc(5, sizeof *g);
	int all = 0;
	ev_tstamp t0 = ev_time();
	for (int i = 0; i < 5; i++) {
		struct http_request req = { .method = "GET", .url = url("/slow/600"), .tls = &tls_ok,
					    .timeout_ms = 5000, .on_done = on_done, .arg = &g[i] };
		assert_int_equal(http_start(client, &req, NULL), 0);
	}
	assert_int_equal(http_client_pending(client), 5);
	while (ev_time() - t0 < 10.0) {
		all = 1;
		for (int i = 0; i < 5; i++)
			all &= g[i].done == 1;
		if (all)
			break;
		ev_run(loop, EVRUN_ONCE);
	}
	assert_true(all);
	for (int i = 0; i < 5; i++)
		assert_int_equal(g[i].err, 0);
	assert_true(ev_time() - t0 < 2.5);	/* concurrent, not 5 x 600 ms */
	assert_int_equal(http_client_pending(client), 0);
	free(g);
}

static void
test_cancel(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_call *call = NULL;
	struct http_request req = { .method = "GET", .url = url("/slow/300"), .tls = &tls_ok,
				    .on_done = on_done, .arg = g };
	assert_int_equal(http_start(client, &req, &call), 0);
	ev_run(loop, EVRUN_NOWAIT);
	http_call_cancel(call);
	assert_int_equal(http_client_pending(client), 0);
	int never = 0;
	ts_run_until(loop, &never, 0.6);
	assert_int_equal(g->done, 0);
	free(g);
}

static void
test_stream_lines(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = url("/stream"), .on_line = on_line };
	run(g, &req);
	assert_int_equal(g->err, 0);
	assert_int_equal(g->status, 200);
	assert_int_equal(g->nlines, 3);	/* the empty line is skipped */
	assert_string_equal(g->lines[0], "{\"type\":\"ADDED\",\"n\":1}");
	assert_string_equal(g->lines[1], "{\"type\":\"MODIFIED\",\"n\":2}");
	assert_string_equal(g->lines[2], "{\"type\":\"DELETED\",\"n\":3}");
	assert_int_equal(g->body_len, 0);
	free(g);
}

static void
test_stream_unterminated_tail(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = url("/stream-tail"), .on_line = on_line };
	run(g, &req);
	assert_int_equal(g->err, 0);
	assert_int_equal(g->nlines, 2);
	assert_string_equal(g->lines[1], "{\"n\":2");	/* handed over for the reader to judge */
	free(g);
}

static void
test_stream_stop(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	g->stop_after = 1;
	struct http_request req = { .url = url("/stream"), .on_line = on_line };
	run(g, &req);
	assert_int_equal(g->err, -ECANCELED);
	assert_int_equal(g->nlines, 1);
	free(g);
}

static void
test_stream_line_limit(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = url("/stream-long/5000"), .on_line = on_line, .max_line = 1000 };
	run(g, &req);
	assert_int_equal(g->err, -E2BIG);
	assert_int_equal(g->nlines, 0);
	assert_non_null(strstr(g->msg, "exceeds 1000 bytes"));
	memset(g, 0, sizeof *g);
	struct http_request req2 = { .url = url("/stream-long/5000"), .on_line = on_line };
	run(g, &req2);
	assert_int_equal(g->err, 0);
	assert_int_equal(g->nlines, 1);
	free(g);
}

static void
test_stream_error_status_buffered(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof *g);
	struct http_request req = { .url = url("/stream-status/410"), .on_line = on_line };
	run(g, &req);
	assert_int_equal(g->err, 0);
	assert_int_equal(g->status, 410);
	assert_int_equal(g->nlines, 0);
	assert_string_equal(g->body, "{\"kind\":\"Status\",\"code\":410}");
	free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_headers),
		cmocka_unit_test(test_methods_with_bodies),
		cmocka_unit_test(test_bad_method),
		cmocka_unit_test(test_status_passthrough),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_tls_untrusted),
		cmocka_unit_test(test_client_cert_from_memory),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_stream_lines),
		cmocka_unit_test(test_stream_unterminated_tail),
		cmocka_unit_test(test_stream_stop),
		cmocka_unit_test(test_stream_line_limit),
		cmocka_unit_test(test_stream_error_status_buffered),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
