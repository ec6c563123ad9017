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

/* Whole file, NUL-terminated, malloc'd; NULL on error. */
static inline char *
fixtures_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *p = realloc(buf, cap = (n + 4096 + 1) * 2);

			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

#endif
