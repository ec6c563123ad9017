/* Unit tests for prompt: lines from a pipe, hidden input on a pseudo-terminal
 * (echo off while reading, restored afterwards and on a signal). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "prompt.h"

#define UNUSED __attribute__((unused))

/* A pipe whose read end holds TEXT, write end closed. */
static int
pipe_with(const char *text)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	return p[0];
}

static void
expect_line(int fd, struct secret *s, int want, const char *line)
{
	secret_clear(s);
	assert_int_equal(prompt_read_line(fd, s), want);
	assert_int_equal(s->len, strlen(line));
	assert_string_equal(s->data, line);
}

static void
test_read_lines(void **state UNUSED)
{
	struct secret *s = secret_new(64);
	int fd = pipe_with("first\r\n\nsecond line \nlast");

	assert_non_null(s);
	expect_line(fd, s, 1, "first");		/* the CR of a CRLF goes too */
	expect_line(fd, s, 1, "");		/* an empty line is a line */
	expect_line(fd, s, 1, "second line ");	/* blanks are the caller's business */
	expect_line(fd, s, 1, "last");		/* no newline at the end */
	expect_line(fd, s, 0, "");
	close(fd);
	secret_free(s);
}

static void
test_read_appends(void **state UNUSED)
{
	struct secret *s = secret_new(64);
	int fd = pipe_with("b\nc\n");

	assert_non_null(s);
	assert_int_equal(secret_append(s, "a", 1), 0);
	assert_int_equal(prompt_read_line(fd, s), 1);
	assert_int_equal(prompt_read_line(fd, s), 1);
	assert_string_equal(s->data, "abc");
	close(fd);
	secret_free(s);
}

static void
test_read_too_long(void **state UNUSED)
{
	struct secret *s = secret_new(4);
	int fd = pipe_with("12345\nok\n");

	assert_non_null(s);
	assert_int_equal(prompt_read_line(fd, s), -EMSGSIZE);
	assert_int_equal(s->len, 4);
	close(fd);
	assert_int_equal(prompt_read_line(-1, s), -EBADF);
	secret_free(s);
}

static void
test_hidden_needs_tty(void **state UNUSED)
{
	struct secret *s = secret_new(16);
	int fd = pipe_with("x\n");

	assert_non_null(s);
	assert_int_equal(prompt_hidden(fd, STDERR_FILENO, "never shown? ", s), -ENOTTY);
	assert_int_equal(s->len, 0);
	close(fd);
	secret_free(s);
}

static bool
echo_on(int fd)
{
	struct termios t;

	assert_int_equal(tcgetattr(fd, &t), 0);
	return (t.c_lflag & ECHO) != 0;
}

/* Waits (at most 5 s) until the prompt has turned echo off on FD. */
static bool
wait_echo_off(int fd)
{
	for (int i = 0; i < 500; i++) {
		struct termios t;

		if (tcgetattr(fd, &t) == 0 && !(t.c_lflag & ECHO))
			return true;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	return false;
}

/* What the terminal showed: everything readable on MASTER now. */
static void
read_screen(int master, char *buf, size_t size)
{
	size_t n = 0;
	struct pollfd p = { .fd = master, .events = POLLIN };

	while (n + 1 < size && poll(&p, 1, 200) == 1) {
		ssize_t r = read(master, buf + n, size - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
}

static void
test_hidden_on_pty(void **state UNUSED)
{
	struct secret *s = secret_new(64);
	char screen[256];
	int master, slave;
	pid_t typist;

	assert_non_null(s);
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	assert_true(echo_on(slave));
	/* The typist types only once echo is off: the prompt flushes earlier input. */
	typist = fork();
	assert_true(typist >= 0);
	if (typist == 0)
		_exit(wait_echo_off(slave) && write(master, "s3cret\n", 7) == 7 ? 0 : 1);
	assert_int_equal(prompt_hidden(slave, slave, "Token: ", s), 1);
	int status;
	assert_int_equal(waitpid(typist, &status, 0), typist);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(s->data, "s3cret");
	assert_true(echo_on(slave));
	read_screen(master, screen, sizeof(screen));
	assert_string_equal(screen, "Token: \r\n");	/* the question, no echo of the answer */
	close(slave);
	close(master);
	secret_free(s);
}

static void
test_signal_restores_echo(void **state UNUSED)
{
	int master, slave, status;
	pid_t asker;

	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	asker = fork();
	assert_true(asker >= 0);
	if (asker == 0) {
		struct secret *s = secret_new(64);

		_exit(s != NULL ? prompt_hidden(slave, slave, "Key: ", s) : 99);
	}
	assert_true(wait_echo_off(slave));
	assert_int_equal(kill(asker, SIGTERM), 0);
	assert_int_equal(waitpid(asker, &status, 0), asker);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_true(echo_on(slave));
	close(slave);
	close(master);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_lines),
		cmocka_unit_test(test_read_appends),
		cmocka_unit_test(test_read_too_long),
		cmocka_unit_test(test_hidden_needs_tty),
		cmocka_unit_test(test_hidden_on_pty),
		cmocka_unit_test(test_signal_restores_echo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
