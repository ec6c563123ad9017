/* Test helper: find ../shared/fixtures (third-party reference data) and read files.
 * Tried in order: $AGENTD_FIXTURES, then "shared/fixtures" in the current
 * directory's ancestors (the repo root's parent holds it for worktrees), then
 * the same walk from the test binary's directory. */
#ifndef AGENTD_TEST_FIXTURES_H
#define AGENTD_TEST_FIXTURES_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

static inline int
fixtures_probe(const char *dir, char *out, size_t outlen)
{
	struct stat st;

	if (snprintf(out, outlen, "%s", dir) >= (int)outlen)
		return -1;
	return stat(out, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static inline int
fixtures_walk_up(const char *start, char *out, size_t outlen)
{
	char dir[PATH_MAX], cand[PATH_MAX + 32];
	char *slash;

	if (!realpath(start, dir))
		return -1;
	for (;;) {
		snprintf(cand, sizeof(cand), "%s/shared/fixtures", dir);
		if (fixtures_probe(cand, out, outlen) == 0)
			return 0;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return -1;
		*slash = '\0';
	}
}

/* Writes the fixtures directory into OUT; 0 or -1 when not found. */
static inline int
fixtures_dir(char *out, size_t outlen)
{
	const char *env = getenv("AGENTD_FIXTURES");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return fixtures_probe(env, out, outlen);
	if (fixtures_walk_up(".", out, outlen) == 0)
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		return fixtures_walk_up(exe, out, outlen);
	}
	return -1;
}

/* Whole file (at most FIXTURES_MAX bytes), NUL-terminated, malloc'd; NULL on error. */
#define FIXTURES_MAX (1 << 20)
static inline char *
fixtures_read(const char *path, size_t *len)
{
	char *buf;
	size_t n;

	if (readfile(path, FIXTURES_MAX, &buf, &n) < 0)
		return NULL;
	if (len)
		*len = n;
	return buf;
}

#endif
