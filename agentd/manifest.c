/* manifest — phases from NN-NAME.yaml files, values, placeholders, checks. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpath.h"
#include "manifest.h"
#include "yamljson.h"

struct sub {
	const cJSON *values;
	const struct yamljson *y;
	const char *file;
	char **err;
};

static int __attribute__((format(printf, 5, 6)))
errat(const struct yamljson *y, const char *file, const cJSON *node, char **err, const char *fmt, ...)
{
	char what[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	struct yamljson_pos pos;
	int n;
	if (y && node && yamljson_pos(y, node, &pos) == 0)
		n = asprintf(err, "%s:%u:%u: %s", file, pos.line, pos.column, what);
	else
		n = asprintf(err, "%s: %s", file, what);
	if (n < 0) {
		*err = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int
manifest_phase_name(const char *path, unsigned *order, char **name)
{
	const char *b = base_name(path), *p = b;
	unsigned n = 0;
	while (isdigit((unsigned char)*p)) {
		if (n > 100000)
			return -EINVAL;
		n = n * 10 + (unsigned)(*p++ - '0');
	}
	if (p == b || *p != '-')
		return -EINVAL;
	const char *start = ++p, *dot = strrchr(p, '.');
	if (!dot || dot == start || (strcmp(dot, ".yaml") != 0 && strcmp(dot, ".yml") != 0))
		return -EINVAL;
	for (const char *q = start; q < dot; q++)
		if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_' && *q != '.')
			return -EINVAL;
	char *s = strndup(start, (size_t)(dot - start));
	if (!s)
		return -ENOMEM;
	*order = n;
	*name = s;
	return 0;
}

const cJSON *
manifest_lookup(const cJSON *values, const char *path, size_t len)
{
	const cJSON *v = values;
	const char *p = path, *end = path + len;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t sl = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (sl == 0 || sl > 255)
			return NULL;
		char seg[256];
		memcpy(seg, p, sl);
		seg[sl] = '\0';
		if (cJSON_IsObject(v)) {
			v = cJSON_GetObjectItemCaseSensitive(v, seg);
		} else if (cJSON_IsArray(v)) {
			char *e;
			long i = strtol(seg, &e, 10);
			if (*e || i < 0 || i > 100000)
				return NULL;
			v = cJSON_GetArrayItem(v, (int)i);
		} else {
			return NULL;
		}
		if (!v)
			return NULL;
		p += sl + (dot ? 1 : 0);
		if (dot && p == end)
			return NULL;	/* trailing dot */
	}
	return v == values ? NULL : v;
}

static bool
valid_path(const char *p, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '-' && p[i] != '.')
			return false;
	return true;
}

/* Turns NODE into a deep copy of V, keeping NODE's address (and so its position
 * and its place under its parent). */
static int
become(cJSON *node, const cJSON *v)
{
	cJSON *dup = cJSON_Duplicate(v, true);
	if (!dup)
		return -ENOMEM;
	cJSON_free(node->valuestring);
	node->valuestring = dup->valuestring;
	node->valueint = dup->valueint;
	node->valuedouble = dup->valuedouble;
	node->child = dup->child;
	node->type = (dup->type & 0xff) | (node->type & cJSON_StringIsConst);
	dup->valuestring = NULL;
	dup->child = NULL;
	cJSON_Delete(dup);
	return 0;
}

struct strbuf {
	char *s;
	size_t len, cap;
};

static int
sb_add(struct strbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->s, cap);
		if (!q)
			return -ENOMEM;
		b->s = q;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int
format_scalar(const cJSON *v, char *buf, size_t size, const char **out)
{
	if (cJSON_IsString(v)) {
		*out = v->valuestring;
	} else if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v) ? "true" : "false";
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == floor(d) && fabs(d) < 1e15)
			snprintf(buf, size, "%.0f", d);
		else
			snprintf(buf, size, "%.15g", d);
		*out = buf;
	} else {
		return -EINVAL;
	}
	return 0;
}

static const char *
type_name(const cJSON *v)
{
	return cJSON_IsObject(v) ? "a map" : cJSON_IsArray(v) ? "a list" : cJSON_IsNull(v) ? "null" : "not text";
}

static int
interpolate(struct sub *c, cJSON *node)
{
	const char *s = node->valuestring;
	struct strbuf b = { 0 };
	int r = 0;
	while (*s) {
		const char *d = strchr(s, '$');
		if (!d) {
			r = sb_add(&b, s, strlen(s));
			break;
		}
		if ((r = sb_add(&b, s, (size_t)(d - s))) < 0)
			break;
		if (d[1] == '$' && d[2] == '{') {	/* $${ → literal ${ */
			r = sb_add(&b, "${", 2);
			s = d + 3;
		} else if (d[1] == '{') {
			const char *close = strchr(d + 2, '}');
			if (!close) {
				r = errat(c->y, c->file, node, c->err, "unterminated ${ in \"%.200s\"", node->valuestring);
				break;
			}
			size_t pl = (size_t)(close - d - 2);
			if (!valid_path(d + 2, pl)) {
				r = errat(c->y, c->file, node, c->err,
					  "bad placeholder ${%.*s} (a dotted path of letters, digits, _ and -; write $${ for a literal ${)",
					  (int)(pl > 100 ? 100 : pl), d + 2);
				break;
			}
			const cJSON *v = manifest_lookup(c->values, d + 2, pl);
			char num[64];
			const char *text;
			if (!v) {
				r = errat(c->y, c->file, node, c->err, "undefined value ${%.*s}", (int)pl, d + 2);
				break;
			}
			if (format_scalar(v, num, sizeof num, &text) < 0) {
				r = errat(c->y, c->file, node, c->err,
					  "${%.*s} is %s and cannot be part of a longer string", (int)pl, d + 2,
					  type_name(v));
				break;
			}
			if ((r = sb_add(&b, text, strlen(text))) < 0)
				break;
			s = close + 1;
		} else {
			if ((r = sb_add(&b, "$", 1)) < 0)
				break;
			s = d + 1;
		}
	}
	if (r == 0 && !cJSON_SetValuestring(node, b.s ? b.s : ""))
		r = -ENOMEM;
	free(b.s);
	return r;
}

static int
subst(struct sub *c, cJSON *node)
{
	if (cJSON_IsString(node)) {
		const char *s = node->valuestring;
		size_t len = strlen(s);
		if (len >= 3 && s[0] == '$' && s[1] == '{' && s[len - 1] == '}' &&
		    !memchr(s + 2, '}', len - 3) && !memchr(s + 2, '$', len - 3)) {
			if (!valid_path(s + 2, len - 3))
				return errat(c->y, c->file, node, c->err,
					     "bad placeholder %.200s (a dotted path of letters, digits, _ and -)", s);
			const cJSON *v = manifest_lookup(c->values, s + 2, len - 3);
			if (!v)
				return errat(c->y, c->file, node, c->err, "undefined value %.200s", s);
			return become(node, v);
		}
		return strchr(s, '$') ? interpolate(c, node) : 0;
	}
	for (cJSON *ch = node->child; ch; ch = ch->next) {
		int r = subst(c, ch);
		if (r < 0)
			return r;
	}
	return 0;
}

int
manifest_substitute(cJSON **tree, const cJSON *values, const struct yamljson *y, const char *file,
		    char **err)
{
	struct sub c = { values, y, file, err };
	return subst(&c, *tree);
}

/* Maps merge; the override wins everywhere else. */
static int
deep_merge(cJSON *dst, const cJSON *src)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, src) {
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, s->string);
		if (cJSON_IsObject(d) && cJSON_IsObject(s)) {
			int r = deep_merge(d, s);
			if (r < 0)
				return r;
			continue;
		}
		cJSON *dup = cJSON_Duplicate(s, true);
		if (!dup)
			return -ENOMEM;
		if (d ? !cJSON_ReplaceItemInObjectCaseSensitive(dst, s->string, dup)
		      : !cJSON_AddItemToObject(dst, s->string, dup)) {
			cJSON_Delete(dup);
			return -ENOMEM;
		}
	}
	return 0;
}

static int
parse_values(const struct manifest_file *f, cJSON **out, char **err)
{
	struct yamljson *y = NULL;
	int r = yamljson_parse(f->text, f->len, f->path, &y, err);
	if (r < 0)
		return r;
	size_t n = yamljson_count(y);
	cJSON *doc = n ? yamljson_doc(y, 0) : NULL;
	if (n > 1)
		r = errat(y, f->path, yamljson_doc(y, 1), err, "values must be one YAML document");
	else if (doc && !cJSON_IsNull(doc) && !cJSON_IsObject(doc))
		r = errat(y, f->path, doc, err, "values must be a mapping");
	else if (!doc || cJSON_IsNull(doc))
		*out = cJSON_CreateObject();
	else
		*out = yamljson_take(y, 0);
	if (r == 0 && !*out)
		r = -ENOMEM;
	yamljson_free(y);
	return r;
}

int
manifest_values(const struct manifest_file *base, const struct manifest_file *ovr, cJSON **out, char **err)
{
	cJSON *v = NULL, *o = NULL;
	int r = parse_values(base, &v, err);
	if (r < 0)
		return r;
	if (ovr) {
		if ((r = parse_values(ovr, &o, err)) < 0 || (r = deep_merge(v, o)) < 0) {
			cJSON_Delete(v);
			cJSON_Delete(o);
			return r;
		}
		cJSON_Delete(o);
	}
	*out = v;
	return 0;
}

static void
phase_clear_objects(struct manifest_phase *ph)
{
	for (size_t i = 0; i < ph->count; i++) {
		cJSON_Delete(ph->objects[i].obj);
		free(ph->objects[i].where);
	}
	free(ph->objects);
	ph->objects = NULL;
	ph->count = 0;
}

struct manifest_stack *
manifest_stack_free(struct manifest_stack *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->count; i++) {
		phase_clear_objects(&s->phases[i]);
		free(s->phases[i].name);
		free(s->phases[i].file);
		free(s->phases[i].error);
	}
	free(s->phases);
	free(s);
	return NULL;
}

/* Checks one substituted document and records its identity. */
static int
check_doc(const struct yamljson *y, const char *file, cJSON *doc, size_t idx, struct manifest_object *mo,
	  char **err)
{
	static const char *const req[] = { "apiVersion", "kind" };
	for (size_t i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, req[i]);
		if (!cJSON_IsString(v) || !v->valuestring[0])
			return errat(y, file, v ? v : doc, err, "document %zu: %s must be a non-empty string", idx + 1,
				     req[i]);
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	if (!cJSON_IsObject(md))
		return errat(y, file, md ? md : doc, err, "document %zu: metadata must be a mapping", idx + 1);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
	if (!cJSON_IsString(name) || !name->valuestring[0])
		return errat(y, file, name ? name : md, err, "document %zu: metadata.name must be a non-empty string",
			     idx + 1);
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	if (ns && !(cJSON_IsString(ns) && ns->valuestring[0]))
		return errat(y, file, ns, err, "document %zu: metadata.namespace must be a non-empty string", idx + 1);
	mo->api_version = jpath_str(doc, "apiVersion");
	mo->kind = jpath_str(doc, "kind");
	mo->name = name->valuestring;
	mo->namespace = ns ? ns->valuestring : NULL;
	struct yamljson_pos pos;
	const cJSON *kn = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	int n = yamljson_pos(y, kn, &pos) == 0 ? asprintf(&mo->where, "%s:%u:%u", file, pos.line, pos.column)
					       : asprintf(&mo->where, "%s", file);
	if (n < 0) {
		mo->where = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Parses and substitutes one file; the phase keeps its objects or its error. */
static int
render_file(const struct manifest_file *f, const cJSON *values, struct manifest_phase *ph)
{
	struct yamljson *y = NULL;
	int r = yamljson_parse(f->text, f->len, f->path, &y, &ph->error);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	size_t n = yamljson_count(y);
	ph->objects = calloc(n ? n : 1, sizeof *ph->objects);
	if (!ph->objects) {
		yamljson_free(y);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		cJSON *doc = yamljson_doc(y, i);
		if (cJSON_IsNull(doc))
			continue;
		if (!cJSON_IsObject(doc)) {
			r = errat(y, f->path, doc, &ph->error, "document %zu is not a mapping", i + 1);
			break;
		}
		if ((r = manifest_substitute(&doc, values, y, f->path, &ph->error)) < 0)
			break;
		struct manifest_object *mo = &ph->objects[ph->count];
		if ((r = check_doc(y, f->path, doc, i, mo, &ph->error)) < 0)
			break;
		mo->obj = yamljson_take(y, i);
		ph->count++;
	}
	yamljson_free(y);
	if (r < 0) {
		phase_clear_objects(ph);
		if (r == -ENOMEM && !ph->error)
			return r;
	}
	return 0;
}

static int
phase_reject(struct manifest_phase *ph, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
phase_reject(struct manifest_phase *ph, const char *where, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	/* WHERE may belong to one of the objects cleared here. */
	int n = asprintf(&ph->error, "%s: %s", where, what);
	phase_clear_objects(ph);
	if (n < 0) {
		ph->error = NULL;
		return -ENOMEM;
	}
	return 0;
}

static bool
same_object(const struct manifest_object *a, const struct manifest_object *b)
{
	return strcmp(a->kind, b->kind) == 0 && strcmp(a->name, b->name) == 0 &&
	       (a->namespace ? b->namespace && strcmp(a->namespace, b->namespace) == 0 : !b->namespace) &&
	       a->info && b->info && strcmp(a->info->group, b->info->group) == 0;
}

/* Kind, scope and uniqueness of object I of phase P; rejects the phase on error. */
static int
check_object(struct manifest_stack *s, size_t p, size_t i, struct kinds *kinds)
{
	struct manifest_phase *ph = &s->phases[p];
	struct manifest_object *mo = &ph->objects[i];
	const struct kind_info *ki = kinds_find(kinds, mo->api_version, mo->kind);
	const struct kind_info *any = kinds_find_kind(kinds, mo->kind);
	char av[128];
	if (!ki && any) {
		kinds_api_version(any, av, sizeof av);
		return phase_reject(ph, mo->where, "%s \"%s\": kind %s is served as %s, not %s", mo->kind, mo->name,
				    mo->kind, av, mo->api_version);
	}
	if (!ki)
		return phase_reject(ph, mo->where,
				    "%s \"%s\": unknown kind %s (%s); not built in and no CustomResourceDefinition in the manifests defines it",
				    mo->kind, mo->name, mo->kind, mo->api_version);
	if (ki->namespaced && !mo->namespace)
		return phase_reject(ph, mo->where, "%s \"%s\" is namespaced: metadata.namespace is required", mo->kind,
				    mo->name);
	if (!ki->namespaced && mo->namespace)
		return phase_reject(ph, mo->where, "%s \"%s\" is cluster-scoped: metadata.namespace must not be set",
				    mo->kind, mo->name);
	mo->info = ki;
	for (size_t q = 0; q <= p; q++)
		for (size_t j = 0; j < (q == p ? i : s->phases[q].count); j++)
			if (same_object(&s->phases[q].objects[j], mo))
				return phase_reject(ph, mo->where, "%s \"%s\" is already defined at %s", mo->kind,
						    mo->name, s->phases[q].objects[j].where);
	return 0;
}

/* Kinds, scopes and duplicates, once every CRD of the stack is known. */
static int
check_kinds(struct manifest_stack *s, struct kinds *kinds)
{
	for (size_t p = 0; p < s->count; p++) {
		struct manifest_phase *ph = &s->phases[p];
		for (size_t i = 0; i < ph->count && !ph->error; i++) {
			int r = check_object(s, p, i, kinds);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int
cmp_phase(const void *a, const void *b)
{
	const struct manifest_phase *x = a, *y = b;
	return x->order < y->order ? -1 : x->order > y->order;
}

int
manifest_render(const struct manifest_file *files, size_t n, const cJSON *values, struct kinds *kinds,
		struct manifest_stack **out, char **err)
{
	struct manifest_stack *s = calloc(1, sizeof *s);
	if (!s || !(s->phases = calloc(n ? n : 1, sizeof *s->phases))) {
		free(s);
		return -ENOMEM;
	}
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		struct manifest_phase *ph = &s->phases[s->count];
		r = manifest_phase_name(files[i].path, &ph->order, &ph->name);
		if (r == -EINVAL && asprintf(err, "%s: a manifest file is named NN-NAME.yaml (e.g. 00-namespaces.yaml)",
					     files[i].path) < 0)
			*err = NULL;
		if (r < 0)
			goto fail;
		s->count++;
		if (!(ph->file = strdup(files[i].path))) {
			r = -ENOMEM;
			goto fail;
		}
	}
	qsort(s->phases, s->count, sizeof *s->phases, cmp_phase);
	for (size_t i = 1; i < s->count; i++) {
		if (s->phases[i].order == s->phases[i - 1].order) {
			if (asprintf(err, "%s: phase number %u is also used by %s", s->phases[i].file,
				     s->phases[i].order, s->phases[i - 1].file) < 0)
				*err = NULL;
			r = -EINVAL;
			goto fail;
		}
	}
	for (size_t i = 0; i < s->count; i++) {
		const struct manifest_file *f = NULL;
		for (size_t j = 0; j < n && !f; j++)
			if (strcmp(files[j].path, s->phases[i].file) == 0)
				f = &files[j];
		if ((r = render_file(f, values, &s->phases[i])) < 0)
			goto fail;
	}
	/* CRDs of every accepted phase, so custom resources in any phase are known. */
	for (size_t p = 0; p < s->count; p++) {
		struct manifest_phase *ph = &s->phases[p];
		for (size_t i = 0; i < ph->count && !ph->error; i++) {
			struct manifest_object *mo = &ph->objects[i];
			if (strcmp(mo->kind, "CustomResourceDefinition") != 0)
				continue;
			r = kinds_add_crd(kinds, mo->obj);
			if (r == -EINVAL)
				r = phase_reject(ph, mo->where,
						 "CustomResourceDefinition \"%s\": needs spec.group, spec.names.kind, spec.names.plural, spec.scope and a served version",
						 mo->name);
			if (r < 0)
				goto fail;
		}
	}
	if ((r = check_kinds(s, kinds)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	manifest_stack_free(s);
	return r;
}

char *
manifest_format(const struct manifest_stack *s)
{
	struct strbuf b = { 0 };
	if (sb_add(&b, "", 0) < 0)
		return NULL;
	for (size_t p = 0; p < s->count; p++) {
		const struct manifest_phase *ph = &s->phases[p];
		size_t k = ph->error ? 1 : ph->count;
		for (size_t i = 0; i < k; i++) {
			cJSON *line = cJSON_CreateObject();
			char *text = NULL;
			if (line && cJSON_AddStringToObject(line, "phase", ph->name) &&
			    (ph->error ? cJSON_AddStringToObject(line, "error", ph->error) != NULL
				       : cJSON_AddItemReferenceToObject(line, "object", ph->objects[i].obj)))
				text = cJSON_PrintUnformatted(line);
			cJSON_Delete(line);
			if (!text || sb_add(&b, text, strlen(text)) < 0 || sb_add(&b, "\n", 1) < 0) {
				free(text);
				free(b.s);
				return NULL;
			}
			free(text);
		}
	}
	return b.s;
}
