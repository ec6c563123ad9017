/* yamljson — YAML stream to cJSON documents with a position side table.
 * Event-driven (libyaml's event API keeps explicit tags apart from implied
 * ones, which its document API does not). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yamljson.h"

#define MAX_DEPTH	256		/* nesting (also stops self-referencing aliases) */
#define MAX_NODES	500000		/* total nodes per stream */
#define MAX_ALIAS_NODES	100000		/* nodes created by alias expansion ("billion laughs") */

struct posent {
	const cJSON *node;
	unsigned line, column, key_line, key_column;
};

struct yamljson {
	char *file;
	cJSON **docs;
	size_t ndocs;
	struct posent *tab;	/* open addressing, power-of-two size */
	size_t tabsize, tabused;
};

struct anchor {
	char *name;
	cJSON *copy;		/* private copy, positions registered */
};

struct ctx {
	yaml_parser_t parser;
	struct yamljson *y;
	struct anchor *anchors;
	size_t nanchors, anchorcap;
	size_t nodes, alias_nodes;
	const char *text;
	size_t len;
	char *err;
	int errcode;
};

static size_t
ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (size_t)x;
}

static struct posent *
tab_find(const struct yamljson *y, const cJSON *node)
{
	size_t i;

	if (y->tabsize == 0)
		return NULL;
	for (i = ptr_hash(node) & (y->tabsize - 1);; i = (i + 1) & (y->tabsize - 1)) {
		if (y->tab[i].node == node)
			return &y->tab[i];
		if (y->tab[i].node == NULL)
			return NULL;
	}
}

static int
tab_grow(struct yamljson *y)
{
	size_t n = y->tabsize ? y->tabsize * 2 : 256, i, j;
	struct posent *t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < y->tabsize; i++) {
		if (!y->tab[i].node)
			continue;
		for (j = ptr_hash(y->tab[i].node) & (n - 1); t[j].node; j = (j + 1) & (n - 1))
			;
		t[j] = y->tab[i];
	}
	free(y->tab);
	y->tab = t;
	y->tabsize = n;
	return 0;
}

/* Record (or overwrite) the position of NODE. */
static int
tab_put(struct yamljson *y, const struct posent *e)
{
	struct posent *slot;
	size_t i;

	slot = tab_find(y, e->node);
	if (slot) {
		*slot = *e;
		return 0;
	}
	if ((y->tabused + 1) * 2 > y->tabsize && tab_grow(y) < 0)
		return -ENOMEM;
	for (i = ptr_hash(e->node) & (y->tabsize - 1); y->tab[i].node; i = (i + 1) & (y->tabsize - 1))
		;
	y->tab[i] = *e;
	y->tabused++;
	return 0;
}

/* Forget TREE's nodes (about to be freed), so a later allocation at the same
 * address is not mistaken for them.  Backward-shift deletion keeps probing intact. */
static void
tab_forget(struct yamljson *y, const cJSON *tree)
{
	struct posent *e;
	size_t i, j, k, mask = y->tabsize - 1;

	for (; tree; tree = tree->next) {
		tab_forget(y, tree->child);
		e = tab_find(y, tree);
		if (!e)
			continue;
		i = (size_t)(e - y->tab);
		e->node = NULL;
		y->tabused--;
		for (j = (i + 1) & mask; y->tab[j].node; j = (j + 1) & mask) {
			k = ptr_hash(y->tab[j].node) & mask;
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			y->tab[i] = y->tab[j];
			y->tab[j].node = NULL;
			i = j;
		}
	}
}

static void
drop(struct ctx *c, cJSON *tree)
{
	if (!tree)
		return;
	tab_forget(c->y, tree);
	cJSON_Delete(tree);
}

static void
set_err(struct ctx *c, int code, yaml_mark_t mark, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->errcode = code;
	if (asprintf(&c->err, "%s:%zu:%zu: %s", c->y->file, mark.line + 1, mark.column + 1, msg) < 0)
		c->err = NULL;
}

static void
set_oom(struct ctx *c)
{
	yaml_mark_t m = { 0, 0, 0 };

	set_err(c, -ENOMEM, m, "out of memory");
}

static int
count_node(struct ctx *c, yaml_mark_t mark)
{
	if (++c->nodes > MAX_NODES) {
		set_err(c, -EINVAL, mark, "document too large (more than %d nodes)", MAX_NODES);
		return -EINVAL;
	}
	return 0;
}

static int
record(struct ctx *c, const cJSON *node, yaml_mark_t mark)
{
	struct posent e = { node, (unsigned)mark.line + 1, (unsigned)mark.column + 1, 0, 0 };

	if (tab_put(c->y, &e) < 0) {
		set_oom(c);
		return -ENOMEM;
	}
	return 0;
}

/* Give every node of DST (a copy of SRC) the position SRC's node has. */
static int
copy_positions(struct ctx *c, const cJSON *src, const cJSON *dst)
{
	const struct posent *p;
	struct posent e;

	for (; src && dst; src = src->next, dst = dst->next) {
		p = tab_find(c->y, src);
		if (p) {
			e = *p;
			e.node = dst;
			if (tab_put(c->y, &e) < 0) {
				set_oom(c);
				return -ENOMEM;
			}
		}
		if (copy_positions(c, src->child, dst->child) < 0)
			return -ENOMEM;
	}
	return 0;
}

static size_t
tree_size(const cJSON *n)
{
	size_t s = 0;

	for (; n; n = n->next)
		s += 1 + tree_size(n->child);
	return s;
}

/* ---- scalar resolution (go-yaml v2 resolve.go, as sigs.k8s.io/yaml uses it) ---- */

enum kind { K_NULL, K_TRUE, K_FALSE, K_NUM, K_STR, K_NONFINITE };

static bool
in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const true_words[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					  "on", "On", "ON", NULL };
static const char *const false_words[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					   "off", "Off", "OFF", NULL };
static const char *const nonfinite_words[] = { ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
					       "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
					       NULL };

/* Go strconv.ParseInt/ParseUint with base 0, on a string without '_'. */
static bool
parse_go_int(const char *s, double *out)
{
	bool neg = false;
	unsigned base = 10;
	uint64_t v = 0;
	const char *p = s;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		p += 1;
	}
	if (!*p)
		return false;
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return false;
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	/* ParseInt takes [-2^63, 2^63-1]; ParseUint (no sign) up to 2^64-1. */
	if (neg) {
		if (v > (UINT64_C(1) << 63))
			return false;
		*out = -(double)v;
	} else {
		if (s[0] == '+' && v > (uint64_t)INT64_MAX)
			return false;
		*out = (double)v;
	}
	return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool
yaml_style_float(const char *s)
{
	const char *p = s;

	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	} else {
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static enum kind
resolve_plain(const char *s, double *num)
{
	char *plain;
	size_t i, j;
	bool ok = false;

	if (in_list(s, null_words))
		return K_NULL;
	if (in_list(s, true_words))
		return K_TRUE;
	if (in_list(s, false_words))
		return K_FALSE;
	if (in_list(s, nonfinite_words))
		return K_NONFINITE;
	if (!strchr("+-.0123456789", s[0]))
		return K_STR;
	plain = strdup(s);
	if (!plain)
		return K_STR;
	for (i = j = 0; s[i]; i++)
		if (s[i] != '_')
			plain[j++] = s[i];
	plain[j] = '\0';
	if (parse_go_int(plain, num))
		ok = true;
	else if (yaml_style_float(plain)) {
		*num = strtod(plain, NULL);
		ok = isfinite(*num);
	}
	free(plain);
	return ok ? K_NUM : K_STR;
}

/* ---- tree building ---- */

static int parse_node(struct ctx *c, yaml_event_t *ev, int depth, cJSON **out);

/* The byte at MARK (libyaml counts columns in characters, not bytes). */
static int
char_at(const struct ctx *c, yaml_mark_t mark)
{
	size_t i = 0, line = 0, col = 0;

	while (i < c->len && line < mark.line)
		if (c->text[i++] == '\n')
			line++;
	while (i < c->len && col < mark.column && c->text[i] != '\n') {
		i++;
		while (i < c->len && ((unsigned char)c->text[i] & 0xC0) == 0x80)
			i++;
		col++;
	}
	return i < c->len ? (unsigned char)c->text[i] : -1;
}

static int
next_event(struct ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev)) {
		const char *what = c->parser.problem ? c->parser.problem : "malformed YAML";

		if (c->parser.error == YAML_SCANNER_ERROR && char_at(c, c->parser.problem_mark) == '\t')
			what = "tab character where YAML allows only spaces (indentation must use spaces)";

		if (c->parser.error == YAML_MEMORY_ERROR) {
			set_oom(c);
			return -ENOMEM;
		}
		if (c->parser.context)
			set_err(c, -EINVAL, c->parser.problem_mark, "%s (%s at line %zu, column %zu)",
				what, c->parser.context, c->parser.context_mark.line + 1,
				c->parser.context_mark.column + 1);
		else
			set_err(c, -EINVAL, c->parser.problem_mark, "%s", what);
		return -EINVAL;
	}
	return 0;
}

static const char *
short_tag(const char *tag)
{
	static const char prefix[] = "tag:yaml.org,2002:";

	if (tag && strncmp(tag, prefix, sizeof(prefix) - 1) == 0)
		return tag + sizeof(prefix) - 1;
	return tag;
}

static int
make_scalar(struct ctx *c, const yaml_event_t *ev, cJSON **out)
{
	const char *val = (const char *)ev->data.scalar.value;
	const char *tag = short_tag((const char *)ev->data.scalar.tag);
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	enum kind k = K_STR;
	double num = 0;
	cJSON *n;

	if (strlen(val) != ev->data.scalar.length) {
		set_err(c, -EINVAL, ev->start_mark, "NUL character in scalar");
		return -EINVAL;
	}
	if (tag && strcmp(tag, "!") != 0 && strcmp(tag, "str") != 0 && strcmp(tag, "binary") != 0 &&
	    strcmp(tag, "timestamp") != 0) {
		k = resolve_plain(val, &num);
		if ((strcmp(tag, "null") == 0 && k != K_NULL) ||
		    (strcmp(tag, "bool") == 0 && k != K_TRUE && k != K_FALSE) ||
		    (strcmp(tag, "int") == 0 && (k != K_NUM || num != floor(num))) ||
		    (strcmp(tag, "float") == 0 && k != K_NUM && k != K_NONFINITE)) {
			set_err(c, -EINVAL, ev->start_mark, "cannot decode \"%.64s\" as !!%s", val, tag);
			return -EINVAL;
		}
		if (strcmp(tag, "null") && strcmp(tag, "bool") && strcmp(tag, "int") &&
		    strcmp(tag, "float") && !plain)
			k = K_STR;	/* an application tag on a quoted scalar */
	} else if (!tag && plain) {
		k = resolve_plain(val, &num);
	}
	switch (k) {
	case K_NULL:
		n = cJSON_CreateNull();
		break;
	case K_TRUE:
		n = cJSON_CreateTrue();
		break;
	case K_FALSE:
		n = cJSON_CreateFalse();
		break;
	case K_NUM:
		n = cJSON_CreateNumber(num);
		break;
	case K_NONFINITE:
		set_err(c, -EINVAL, ev->start_mark, "\"%s\" (infinity or NaN) cannot be represented in JSON", val);
		return -EINVAL;
	default:
		n = cJSON_CreateString(val);
		break;
	}
	if (!n) {
		set_oom(c);
		return -ENOMEM;
	}
	*out = n;
	return 0;
}

/* The JSON key for scalar key node K (sigs.k8s.io/yaml stringifies non-string keys). */
static int
key_string(struct ctx *c, const cJSON *k, yaml_mark_t mark, char **out)
{
	char buf[64];
	const char *s;
	int prec;

	if (cJSON_IsString(k))
		s = k->valuestring;
	else if (cJSON_IsTrue(k))
		s = "true";
	else if (cJSON_IsFalse(k))
		s = "false";
	else if (cJSON_IsNumber(k)) {
		/* Go: FormatInt for integers, FormatFloat('g', -1) for floats (shortest round trip). */
		if (k->valuedouble == floor(k->valuedouble) && fabs(k->valuedouble) < 1e18)
			snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)k->valuedouble);
		else
			for (prec = 1; prec <= 17; prec++) {
				snprintf(buf, sizeof(buf), "%.*g", prec, k->valuedouble);
				if (strtod(buf, NULL) == k->valuedouble)
					break;
			}
		s = buf;
	} else {
		set_err(c, -EINVAL, mark, "mapping key must be a string, number or boolean");
		return -EINVAL;
	}
	*out = strdup(s);
	if (!*out) {
		set_oom(c);
		return -ENOMEM;
	}
	return 0;
}

static int
add_member(struct ctx *c, cJSON *obj, const char *key, cJSON *val, yaml_mark_t kmark)
{
	struct posent *p;

	if (!cJSON_AddItemToObject(obj, key, val)) {
		drop(c, val);
		set_oom(c);
		return -ENOMEM;
	}
	p = tab_find(c->y, val);
	if (p) {
		p->key_line = (unsigned)kmark.line + 1;
		p->key_column = (unsigned)kmark.column + 1;
	}
	return 0;
}

/* Merge the members of SRC (a mapping, or a sequence of mappings, per the YAML
 * merge-key spec) into OBJ where OBJ lacks them; KEYS_EXPLICIT says which
 * members were written explicitly (they always win). */
static int
merge_into(struct ctx *c, cJSON *obj, const cJSON *src, yaml_mark_t mark)
{
	const cJSON *m, *s;
	cJSON *dup;

	if (cJSON_IsArray(src)) {
		cJSON_ArrayForEach(s, src) {
			if (!cJSON_IsObject(s)) {
				set_err(c, -EINVAL, mark, "merge key \"<<\" needs a mapping or a sequence of mappings");
				return -EINVAL;
			}
			if (merge_into(c, obj, s, mark) < 0)
				return -EINVAL;
		}
		return 0;
	}
	if (!cJSON_IsObject(src)) {
		set_err(c, -EINVAL, mark, "merge key \"<<\" needs a mapping or a sequence of mappings");
		return -EINVAL;
	}
	cJSON_ArrayForEach(m, src) {
		if (cJSON_GetObjectItemCaseSensitive(obj, m->string))
			continue;
		dup = cJSON_Duplicate(m, 1);
		if (!dup) {
			set_oom(c);
			return -ENOMEM;
		}
		if (copy_positions(c, m, dup) < 0 || !cJSON_AddItemToObject(obj, m->string, dup)) {
			drop(c, dup);
			set_oom(c);
			return -ENOMEM;
		}
		c->nodes += tree_size(dup->child) + 1;
	}
	return 0;
}

static int
parse_mapping(struct ctx *c, yaml_event_t *start, int depth, cJSON *obj)
{
	cJSON *merges = NULL, *k = NULL, *v = NULL;
	yaml_event_t ev;
	yaml_mark_t kmark, mmark = start->start_mark;
	char *key = NULL;
	bool is_merge;
	int r;

	for (;;) {
		if ((r = next_event(c, &ev)) < 0)
			goto out;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		kmark = ev.start_mark;
		is_merge = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			   !ev.data.scalar.tag && strcmp((const char *)ev.data.scalar.value, "<<") == 0;
		if (ev.type != YAML_SCALAR_EVENT && ev.type != YAML_ALIAS_EVENT) {
			set_err(c, -EINVAL, kmark, "mapping key must be a scalar, not a %s",
				ev.type == YAML_SEQUENCE_START_EVENT ? "sequence" : "mapping");
			yaml_event_delete(&ev);
			r = -EINVAL;
			goto out;
		}
		r = parse_node(c, &ev, depth + 1, &k);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
		if (!is_merge && (r = key_string(c, k, kmark, &key)) < 0)
			goto out;
		drop(c, k);
		k = NULL;
		if ((r = next_event(c, &ev)) < 0)
			goto out;
		r = parse_node(c, &ev, depth + 1, &v);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
		if (is_merge) {
			if (!merges && !(merges = cJSON_CreateArray())) {
				set_oom(c);
				r = -ENOMEM;
				goto out;
			}
			mmark = kmark;
			cJSON_AddItemToArray(merges, v);
			v = NULL;
			continue;
		}
		if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
			set_err(c, -EINVAL, kmark, "duplicate key \"%.128s\" in mapping", key);
			r = -EINVAL;
			goto out;
		}
		r = add_member(c, obj, key, v, kmark);
		v = NULL;
		free(key);
		key = NULL;
		if (r < 0)
			goto out;
	}
	if (merges) {
		const cJSON *m;

		cJSON_ArrayForEach(m, merges)
			if ((r = merge_into(c, obj, m, mmark)) < 0)
				goto out;
	}
	r = 0;
out:
	drop(c, merges);
	drop(c, k);
	drop(c, v);
	free(key);
	return r;
}

static int
parse_sequence(struct ctx *c, int depth, cJSON *arr)
{
	yaml_event_t ev;
	cJSON *v;
	int r;

	for (;;) {
		if ((r = next_event(c, &ev)) < 0)
			return r;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		r = parse_node(c, &ev, depth + 1, &v);
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
		cJSON_AddItemToArray(arr, v);
	}
}

static int
register_anchor(struct ctx *c, const char *name, const cJSON *node)
{
	struct anchor *a;
	size_t i;

	for (i = 0; i < c->nanchors; i++)
		if (strcmp(c->anchors[i].name, name) == 0)
			break;
	if (i == c->nanchors) {
		if (c->nanchors == c->anchorcap) {
			size_t n = c->anchorcap ? c->anchorcap * 2 : 8;

			a = realloc(c->anchors, n * sizeof(*a));
			if (!a)
				goto oom;
			c->anchors = a;
			c->anchorcap = n;
		}
		c->anchors[i].name = strdup(name);
		if (!c->anchors[i].name)
			goto oom;
		c->anchors[i].copy = NULL;
		c->nanchors++;
	}
	/* A redefined anchor replaces the old one for later aliases (YAML spec). */
	drop(c, c->anchors[i].copy);
	c->anchors[i].copy = cJSON_Duplicate(node, 1);
	if (!c->anchors[i].copy)
		goto oom;
	return copy_positions(c, node, c->anchors[i].copy);
oom:
	set_oom(c);
	return -ENOMEM;
}

static void
anchors_clear(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nanchors; i++) {
		free(c->anchors[i].name);
		drop(c, c->anchors[i].copy);
	}
	c->nanchors = 0;
}

/* Build the node that starts with event EV (which the caller deletes). */
static int
parse_node(struct ctx *c, yaml_event_t *ev, int depth, cJSON **out)
{
	const char *anchor = NULL;
	cJSON *n = NULL;
	size_t i, sz;
	int r;

	if (depth > MAX_DEPTH) {
		set_err(c, -EINVAL, ev->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
		return -EINVAL;
	}
	if ((r = count_node(c, ev->start_mark)) < 0)
		return r;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		for (i = 0; i < c->nanchors; i++)
			if (strcmp(c->anchors[i].name, (const char *)ev->data.alias.anchor) == 0)
				break;
		if (i == c->nanchors) {
			set_err(c, -EINVAL, ev->start_mark, "unknown anchor \"%.128s\" referenced",
				(const char *)ev->data.alias.anchor);
			return -EINVAL;
		}
		sz = tree_size(c->anchors[i].copy);
		c->alias_nodes += sz;
		c->nodes += sz;
		if (c->alias_nodes > MAX_ALIAS_NODES || c->nodes > MAX_NODES) {
			set_err(c, -EINVAL, ev->start_mark, "aliases expand to too many nodes (more than %d)",
				MAX_ALIAS_NODES);
			return -EINVAL;
		}
		n = cJSON_Duplicate(c->anchors[i].copy, 1);
		if (!n) {
			set_oom(c);
			return -ENOMEM;
		}
		if ((r = copy_positions(c, c->anchors[i].copy, n)) < 0) {
			drop(c, n);
			return r;
		}
		*out = n;
		return 0;
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		r = make_scalar(c, ev, &n);
		if (r == 0)
			r = record(c, n, ev->start_mark);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool seq = ev->type == YAML_SEQUENCE_START_EVENT;

		anchor = (const char *)(seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor);
		n = seq ? cJSON_CreateArray() : cJSON_CreateObject();
		if (!n) {
			set_oom(c);
			return -ENOMEM;
		}
		r = record(c, n, ev->start_mark);
		if (r == 0)
			r = seq ? parse_sequence(c, depth, n) : parse_mapping(c, ev, depth, n);
		break;
	}
	default:
		set_err(c, -EINVAL, ev->start_mark, "unexpected YAML event");
		return -EINVAL;
	}
	if (r == 0 && anchor)
		r = register_anchor(c, anchor, n);
	if (r < 0) {
		drop(c, n);
		return r;
	}
	*out = n;
	return 0;
}

static int
add_doc(struct ctx *c, cJSON *root)
{
	cJSON **d = realloc(c->y->docs, (c->y->ndocs + 1) * sizeof(*d));

	if (!d) {
		cJSON_Delete(root);
		set_oom(c);
		return -ENOMEM;
	}
	c->y->docs = d;
	d[c->y->ndocs++] = root;
	return 0;
}

static int
parse_stream(struct ctx *c)
{
	yaml_event_t ev;
	cJSON *root;
	int r;

	for (;;) {
		if ((r = next_event(c, &ev)) < 0)
			return r;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			return 0;
		case YAML_DOCUMENT_START_EVENT:
			yaml_event_delete(&ev);
			if ((r = next_event(c, &ev)) < 0)
				return r;
			r = parse_node(c, &ev, 0, &root);
			yaml_event_delete(&ev);
			if (r < 0)
				return r;
			if ((r = add_doc(c, root)) < 0)
				return r;
			if ((r = next_event(c, &ev)) < 0)
				return r;
			if (ev.type != YAML_DOCUMENT_END_EVENT) {
				set_err(c, -EINVAL, ev.start_mark, "expected end of document");
				yaml_event_delete(&ev);
				return -EINVAL;
			}
			yaml_event_delete(&ev);
			anchors_clear(c);	/* anchors are per document */
			break;
		default:	/* STREAM_START */
			yaml_event_delete(&ev);
			break;
		}
	}
}

int
yamljson_parse(const char *text, size_t len, const char *file, struct yamljson **ret, char **errmsg)
{
	struct ctx c;
	int r;

	memset(&c, 0, sizeof(c));
	c.text = text;
	c.len = len;
	c.y = calloc(1, sizeof(*c.y));
	if (!c.y)
		return -ENOMEM;
	c.y->file = strdup(file ? file : "<input>");
	if (!c.y->file || !yaml_parser_initialize(&c.parser)) {
		yamljson_free(c.y);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
	r = parse_stream(&c);
	yaml_parser_delete(&c.parser);
	anchors_clear(&c);
	free(c.anchors);
	if (r < 0) {
		if (errmsg && c.err)
			*errmsg = c.err;
		else
			free(c.err);
		yamljson_free(c.y);
		return c.errcode ? c.errcode : r;
	}
	*ret = c.y;
	return 0;
}

size_t
yamljson_count(const struct yamljson *y)
{
	return y ? y->ndocs : 0;
}

cJSON *
yamljson_doc(const struct yamljson *y, size_t i)
{
	return y && i < y->ndocs ? y->docs[i] : NULL;
}

cJSON *
yamljson_take(struct yamljson *y, size_t i)
{
	cJSON *d, *null;

	if (!y || i >= y->ndocs)
		return NULL;
	null = cJSON_CreateNull();
	if (!null)
		return NULL;
	d = y->docs[i];
	y->docs[i] = null;
	return d;
}

int
yamljson_pos(const struct yamljson *y, const cJSON *node, struct yamljson_pos *pos)
{
	const struct posent *e;

	if (!y || !node)
		return -ENOENT;
	e = tab_find(y, node);
	if (!e)
		return -ENOENT;
	pos->file = y->file;
	pos->line = e->line;
	pos->column = e->column;
	pos->key_line = e->key_line;
	pos->key_column = e->key_column;
	return 0;
}

struct yamljson *
yamljson_free(struct yamljson *y)
{
	size_t i;

	if (!y)
		return NULL;
	for (i = 0; i < y->ndocs; i++)
		cJSON_Delete(y->docs[i]);
	free(y->docs);
	free(y->tab);
	free(y->file);
	free(y);
	return NULL;
}
