/* ctl_lint.c — `agentctl lint`: offline PSS and hardening checks of manifests.
 * Each finding is printed as FILE:LINE:COL: CHECK: message; exit 1 on any
 * violation or unreadable input, 0 when clean. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "lint.h"
#include "manifest.h"
#include "readfile.h"
#include "yamljson.h"

#define LINT_MAX_FILE (16u << 20)

struct lint_doc {
	cJSON *obj;			/* owned */
	const struct yamljson *y;	/* positions, owned by the file */
	const char *path;
};

struct lint_run {
	bool level_set, version_set;
	enum pss_level level;
	unsigned minor;
	unsigned flags;
	const char *values[2];
	size_t nvalues;
	cJSON *vals;
	struct yamljson **ys;
	size_t nys;
	struct lint_doc *docs;
	size_t ndocs;
	cJSON *json_out;
	size_t violations, errors;
};

static char *
load(const char *path, size_t *len)
{
	char *text;
	int r = readfile(path, LINT_MAX_FILE, &text, len);

	if (r < 0) {
		fprintf(stderr, "agentctl: lint: %s: %s\n", path, strerror(-r));
		return NULL;
	}
	return text;
}

static int
load_values(struct lint_run *L)
{
	struct manifest_file f[2];
	char *text[2] = { NULL, NULL }, *err = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < L->nvalues; i++) {
		text[i] = load(L->values[i], &f[i].len);
		if (!text[i]) {
			r = -EINVAL;
			goto out;
		}
		f[i].path = L->values[i];
		f[i].text = text[i];
	}
	r = manifest_values(&f[0], L->nvalues > 1 ? &f[1] : NULL, &L->vals, &err);
	if (r < 0)
		fprintf(stderr, "agentctl: lint: %s\n", err ? err : strerror(-r));
out:
	free(err);
	free(text[0]);
	free(text[1]);
	return r;
}

static void
report_error(struct lint_run *L, const char *msg)
{
	L->errors++;
	fprintf(stderr, "%s\n", msg);
}

/* Parse PATH (and render it when values were given) into L->docs. */
static void
load_file(struct lint_run *L, const char *path)
{
	struct yamljson *y = NULL, **ys;
	struct lint_doc *d;
	char *text, *err = NULL;
	size_t len, i;
	int r;

	text = load(path, &len);
	if (!text) {
		L->errors++;
		return;
	}
	r = yamljson_parse(text, len, path, &y, &err);
	free(text);
	if (r < 0) {
		report_error(L, err ? err : strerror(-r));
		free(err);
		return;
	}
	ys = realloc(L->ys, (L->nys + 1) * sizeof(*ys));
	if (!ys) {
		yamljson_free(y);
		L->errors++;
		return;
	}
	L->ys = ys;
	ys[L->nys++] = y;
	for (i = 0; i < yamljson_count(y); i++) {
		cJSON *obj;

		if (cJSON_IsNull(yamljson_doc(y, i)))
			continue;
		obj = yamljson_take(y, i);
		if (!obj) {
			L->errors++;
			continue;
		}
		if (L->vals && (r = manifest_substitute(&obj, L->vals, y, path, &err)) < 0) {
			report_error(L, err ? err : strerror(-r));
			free(err);
			err = NULL;
			cJSON_Delete(obj);
			continue;
		}
		d = realloc(L->docs, (L->ndocs + 1) * sizeof(*d));
		if (!d) {
			cJSON_Delete(obj);
			L->errors++;
			continue;
		}
		L->docs = d;
		d[L->ndocs].obj = obj;
		d[L->ndocs].y = y;
		d[L->ndocs].path = path;
		L->ndocs++;
	}
}

/* The namespace's own enforce labels decide, when the Namespace is among the inputs. */
static void
policy_for(const struct lint_run *L, const cJSON *obj, enum pss_level *level, unsigned *minor)
{
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
							   "namespace");
	enum pss_level nl = PSS_RESTRICTED;
	unsigned nm = PSS_VERSION_LATEST;
	size_t i;

	if (cJSON_IsString(ns))
		for (i = 0; i < L->ndocs; i++) {
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(L->docs[i].obj, "metadata"), "name");

			if (cJSON_IsString(n) && strcmp(n->valuestring, ns->valuestring) == 0 &&
			    lint_namespace_policy(L->docs[i].obj, &nl, &nm) == 0)
				break;
		}
	*level = L->level_set ? L->level : nl;
	*minor = L->version_set ? L->minor : nm;
}

static void
emit(struct lint_run *L, const struct ctl *c, const struct lint_doc *d, const struct lint_finding *f)
{
	struct yamljson_pos p;

	if (yamljson_pos(d->y, f->node, &p) < 0 && yamljson_pos(d->y, d->obj, &p) < 0) {
		p.line = 0;
		p.column = 0;
	}
	if (c->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "file", d->path);
		cJSON_AddNumberToObject(o, "line", p.line);
		cJSON_AddNumberToObject(o, "column", p.column);
		cJSON_AddStringToObject(o, "check", f->check);
		cJSON_AddStringToObject(o, "severity", f->note ? "note" : "violation");
		cJSON_AddStringToObject(o, "message", f->message);
		cJSON_AddItemToArray(L->json_out, o);
		return;
	}
	printf("%s:%u:%u: %s%s: %s\n", d->path, p.line, p.column, f->note ? "note: " : "", f->check, f->message);
}

static int
parse_args(struct lint_run *L, const struct ctl_cmd *cmd, int argc, char **argv, int *first)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i], *val = NULL;
		size_t n = strcspn(a, "=");

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--pss-only") == 0) {
			L->flags |= LINT_PSS_ONLY;
			continue;
		}
		if (a[n] == '=')
			val = a + n + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		if (!val)
			return ctl_usage(cmd);
		if (strncmp(a, "--level", n) == 0 && n == 7) {
			if (pss_level_parse(val, &L->level) < 0) {
				fprintf(stderr, "agentctl: lint: --level must be privileged, baseline or restricted, not '%s'\n", val);
				return CTL_EXIT_USAGE;
			}
			L->level_set = true;
		} else if (strncmp(a, "--version", n) == 0 && n == 9) {
			if (pss_version_parse(val, &L->minor) < 0) {
				fprintf(stderr, "agentctl: lint: --version must be 'latest' or v1.N, not '%s'\n", val);
				return CTL_EXIT_USAGE;
			}
			L->version_set = true;
		} else if (strncmp(a, "--values", n) == 0 && n == 8) {
			if (L->nvalues == 2) {
				fprintf(stderr, "agentctl: lint: at most two --values files (values, then override)\n");
				return CTL_EXIT_USAGE;
			}
			L->values[L->nvalues++] = val;
		} else {
			fprintf(stderr, "agentctl: lint: unknown option '%s'\n", a);
			return ctl_usage(cmd);
		}
	}
	if (i == argc)
		return ctl_usage(cmd);
	*first = i;
	return CTL_EXIT_OK;
}

static int
ctl_lint(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct lint_run L;
	size_t i, j, objects = 0;
	int first = 0, rc;

	memset(&L, 0, sizeof(L));
	L.level = PSS_RESTRICTED;
	L.minor = PSS_VERSION_LATEST;
	if ((rc = parse_args(&L, cmd, argc, argv, &first)) != CTL_EXIT_OK)
		return rc;
	if (L.nvalues && load_values(&L) < 0)
		return CTL_EXIT_NOT_OK;
	if (c->json)
		L.json_out = cJSON_CreateArray();
	for (; first < argc; first++)
		load_file(&L, argv[first]);
	for (i = 0; i < L.ndocs; i++) {
		struct lint_result res = { NULL, 0, 0 };
		enum pss_level level;
		unsigned minor;

		policy_for(&L, L.docs[i].obj, &level, &minor);
		if (lint_object(L.docs[i].obj, level, minor, L.flags, &res) < 0) {
			fprintf(stderr, "agentctl: lint: out of memory\n");
			L.errors++;
		}
		for (j = 0; j < res.n; j++)
			emit(&L, c, &L.docs[i], &res.f[j]);
		L.violations += res.violations;
		objects++;
		lint_result_clear(&res);
	}
	if (c->json) {
		ctl_print_json(c, L.json_out);
		cJSON_Delete(L.json_out);
	}
	if (L.violations || L.errors)
		fprintf(stderr, "lint: %zu violation%s, %zu error%s in %zu object%s\n", L.violations,
			L.violations == 1 ? "" : "s", L.errors, L.errors == 1 ? "" : "s", objects, objects == 1 ? "" : "s");
	else
		fprintf(stderr, "lint: %zu object%s clean\n", objects, objects == 1 ? "" : "s");
	for (i = 0; i < L.ndocs; i++)
		cJSON_Delete(L.docs[i].obj);
	free(L.docs);
	for (i = 0; i < L.nys; i++)
		yamljson_free(L.ys[i]);
	free(L.ys);
	cJSON_Delete(L.vals);
	return L.violations || L.errors ? CTL_EXIT_NOT_OK : CTL_EXIT_OK;
}

const struct ctl_cmd ctl_lint_cmd = {
	.name = "lint",
	.usage = "[--level L] [--version V] [--values FILE [--values OVERRIDE]] [--pss-only] FILE...",
	.summary = "offline: Pod Security Standards and hardening rules on manifests",
	.flags = CTL_OFFLINE,
	.exec = ctl_lint,
};
