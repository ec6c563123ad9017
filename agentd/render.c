/* render — the I/O half of manifest rendering. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"
#include "render.h"

#define MAX_MANIFEST ((size_t)4 << 20)
#define MAX_FILES 256

static int
load_one(const char *path, struct manifest_file *f, char **err)
{
	char *text;
	size_t len;
	int r = readfile(path, MAX_MANIFEST, &text, &len);
	if (r < 0) {
		if (asprintf(err, "%s: cannot read: %s", path, strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	f->path = path;
	f->text = text;
	f->len = len;
	return 0;
}

static bool
is_yaml(const char *name)
{
	const char *dot = strrchr(name, '.');
	return name[0] != '.' && dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0);
}

int
render_values(const char *values, const char *override, cJSON **out, char **err)
{
	struct manifest_file vf = { 0 }, of = { 0 };
	int r;

	if ((r = load_one(values, &vf, err)) < 0)
		return r;
	if (!override || (r = load_one(override, &of, err)) == 0)
		r = manifest_values(&vf, override ? &of : NULL, out, err);
	free((char *)(uintptr_t)vf.text);
	free((char *)(uintptr_t)of.text);
	return r;
}

int
render_load(const char *dir, const char *values, const char *override, struct kinds *kinds,
	    struct manifest_stack **out, char **err)
{
	struct manifest_file files[MAX_FILES];
	char *paths[MAX_FILES];
	size_t n = 0;
	cJSON *vals = NULL;
	int r;

	if ((r = render_values(values, override, &vals, err)) < 0)
		return r;
	DIR *d = opendir(dir);
	if (!d) {
		r = -errno;
		if (asprintf(err, "%s: cannot open manifests directory: %s", dir, strerror(-r)) < 0)
			*err = NULL;
		goto out;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_yaml(de->d_name))
			continue;
		if (n == MAX_FILES) {
			r = -EFBIG;
			if (asprintf(err, "%s: more than %d manifest files", dir, MAX_FILES) < 0)
				*err = NULL;
			break;
		}
		if (asprintf(&paths[n], "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		if ((r = load_one(paths[n], &files[n], err)) < 0) {
			free(paths[n]);
			break;
		}
		n++;
	}
	closedir(d);
	if (r == 0)
		r = manifest_render(files, n, vals, kinds, out, err);
out:
	for (size_t i = 0; i < n; i++) {
		free((char *)(uintptr_t)files[i].text);
		free(paths[i]);
	}
	cJSON_Delete(vals);
	return r;
}
