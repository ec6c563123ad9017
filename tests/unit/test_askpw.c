/* Unit tests for askpw.c: the [Ask] file format, reading it back, answers,
 * and a whole request answered over its socket like a password agent does. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "askpw.h"

static void
test_format(void **state)
{
	struct askpw_request r = { .pid = 4242, .socket = "/run/x/sck.1", .not_after = 0,
				   .message = "Vault is sealed: enter a key", .id = "agentd:vault-unseal" };
	char *text = NULL;

	(void)state;
	assert_int_equal(askpw_format(&r, &text), 0);
	assert_string_equal(text, "[Ask]\nPID=4242\nSocket=/run/x/sck.1\nAcceptCached=0\nEcho=0\nNotAfter=0\n"
				  "Message=Vault is sealed: enter a key\nId=agentd:vault-unseal\n");
	free(text);
	r.icon = "dialog-password";
	r.not_after = 123456789;
	assert_int_equal(askpw_format(&r, &text), 0);
	assert_non_null(strstr(text, "\nNotAfter=123456789\n"));
	assert_non_null(strstr(text, "\nIcon=dialog-password\nId=agentd:vault-unseal\n"));
	free(text);
	/* A newline would end Message= and start a key of the caller's choosing. */
	r.message = "two\nSocket=/tmp/evil";
	assert_int_equal(askpw_format(&r, &text), -EINVAL);
	r.message = "ok";
	r.socket = NULL;
	assert_int_equal(askpw_format(&r, &text), -EINVAL);
}

static void
test_parse_roundtrip(void **state)
{
	struct askpw_request r = { .pid = 77, .socket = "/run/a/sck.ff", .not_after = 99, .message = "m = with equals",
				   .icon = "i", .id = "x:y" }, q;
	char *text = NULL, *storage = NULL;
	const char *why = NULL;

	(void)state;
	assert_int_equal(askpw_format(&r, &text), 0);
	assert_int_equal(askpw_parse(text, strlen(text), &q, &storage, &why), 0);
	assert_int_equal(q.pid, 77);
	assert_string_equal(q.socket, "/run/a/sck.ff");
	assert_true(q.not_after == 99);
	assert_string_equal(q.message, "m = with equals");
	assert_string_equal(q.icon, "i");
	assert_string_equal(q.id, "x:y");
	free(text);
	free(storage);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "PID=1\nSocket=/x\n", "no [Ask] section" },
		{ "[Ask]\nPID=1\n", "no absolute Socket= path" },
		{ "[Ask]\nSocket=relative\n", "no absolute Socket= path" },
		{ "[Ask]\nPID=abc\nSocket=/x\n", "PID= is not a process id" },
		{ "[Ask]\nPID=0\nSocket=/x\n", "PID= is not a process id" },
		{ "[Ask]\nNotAfter=-1\nSocket=/x\n", "NotAfter= is not a number of microseconds" },
		{ "[Other]\nSocket=/x\n", "no [Ask] section" },
	};
	struct askpw_request q;
	char *storage = NULL;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(askpw_parse(bad[i].text, strlen(bad[i].text), &q, &storage, &why), -EBADMSG);
		assert_string_equal(why, bad[i].why);
	}
	/* Unknown keys and other sections are ignored, as agents do. */
	const char *ok = "# c\n[Ask]\nFuture=1\nSocket=/s\n[Other]\nSocket=/not-this\n";
	assert_int_equal(askpw_parse(ok, strlen(ok), &q, &storage, &why), 0);
	assert_string_equal(q.socket, "/s");
	assert_null(q.message);
	free(storage);
}

static void
test_parse_answer(void **state)
{
	size_t start = 9, len = 9;

	(void)state;
	assert_int_equal(askpw_parse_answer("+abc", 4, &start, &len), 1);
	assert_int_equal(start, 1);
	assert_int_equal(len, 3);
	assert_int_equal(askpw_parse_answer("+", 1, &start, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(askpw_parse_answer("-", 1, &start, &len), 0);
	assert_int_equal(askpw_parse_answer("", 0, &start, &len), -EBADMSG);
	assert_int_equal(askpw_parse_answer("abc", 3, &start, &len), -EBADMSG);
	assert_int_equal(askpw_parse_answer("--", 2, &start, &len), -EBADMSG);
}

struct answers {
	int n;
	bool cancelled;
	char key[64];
	bool locked;
};

static void
on_answer(struct secret *key, void *data)
{
	struct answers *a = data;

	a->n++;
	a->cancelled = key == NULL;
	if (key != NULL) {
		snprintf(a->key, sizeof(a->key), "%.*s", (int)key->len, key->data);
		a->locked = key->locked;
	}
	secret_free(key);
}

/* Reads the ask file like an agent and sends DGRAM to its Socket=. */
static void
agent_answer(const char *path, const char *dgram, size_t len)
{
	char buf[4096], *storage = NULL;
	const char *why;
	struct askpw_request q;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	FILE *f;
	size_t n;
	int fd;

	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(askpw_parse(buf, n, &q, &storage, &why), 0);
	assert_int_equal(q.pid, getpid());
	assert_non_null(strstr(buf, "AcceptCached=0\n"));
	assert_non_null(strstr(buf, "Echo=0\n"));
	assert_non_null(strstr(buf, "NotAfter=0\n"));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", q.socket);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, dgram, len, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)len);
	close(fd);
	free(storage);
}

static int
count_entries(const char *dir)
{
	char cmd[600];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static void
test_request_answered(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct answers a = { 0 };
	struct askpw *ap = askpw_new(loop, on_answer, &a);
	char dir[] = "/tmp/askpw-test.XXXXXX", *error = NULL, path[512];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(askpw_ask(ap, dir, "Vault is sealed", &error), 0);
	assert_true(askpw_active(ap));
	snprintf(path, sizeof(path), "%s", askpw_path(ap));
	assert_non_null(strstr(path, "/ask."));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(count_entries(dir), 2);   /* ask.X and sck.X, no temporary left */
	/* The same question again keeps the same request. */
	assert_int_equal(askpw_ask(ap, dir, "Vault is sealed", &error), 0);
	assert_string_equal(askpw_path(ap), path);

	/* Garbage is ignored: the request stays open. */
	agent_answer(path, "?", 1);
	ev_run(loop, EVRUN_ONCE);
	assert_int_equal(a.n, 0);
	assert_true(askpw_active(ap));

	agent_answer(path, "+s3cr3t-share", 13);
	ev_run(loop, EVRUN_ONCE);
	assert_int_equal(a.n, 1);
	assert_false(a.cancelled);
	assert_string_equal(a.key, "s3cr3t-share");
	assert_false(askpw_active(ap));
	assert_int_equal(count_entries(dir), 0);   /* withdrawn before the answer is used */

	/* A new question replaces the file; "-" cancels it. */
	assert_int_equal(askpw_ask(ap, dir, "again", &error), 0);
	snprintf(path, sizeof(path), "%s", askpw_path(ap));
	agent_answer(path, "-", 1);
	ev_run(loop, EVRUN_ONCE);
	assert_int_equal(a.n, 2);
	assert_true(a.cancelled);
	assert_int_equal(count_entries(dir), 0);

	/* Withdrawn explicitly (Vault unsealed another way). */
	assert_int_equal(askpw_ask(ap, dir, "third", &error), 0);
	askpw_withdraw(ap);
	assert_int_equal(count_entries(dir), 0);
	assert_null(askpw_path(ap));

	/* A directory that does not exist is an error naming it. */
	assert_int_equal(askpw_ask(ap, "/nonexistent/askpw", "x", &error), -ENOENT);
	assert_non_null(error);
	assert_non_null(strstr(error, "/nonexistent/askpw"));
	free(error);
	error = NULL;

	assert_int_equal(askpw_ask(ap, dir, "freed", &error), 0);
	askpw_free(ap);
	assert_int_equal(count_entries(dir), 0);
	rmdir(dir);
	ev_loop_destroy(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_roundtrip),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_answer),
		cmocka_unit_test(test_request_answered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
