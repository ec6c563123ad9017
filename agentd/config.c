/* config.c — YAML configuration: table-driven parse, defaults, validation,
 * environment overrides and normalised output.  config_parse() and
 * config_format() are pure; config_load() is the only function doing I/O. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "log.h"
#include "readfile.h"
#include "strbuf.h"

enum kind {
	K_MAP,       /* nested mapping, described by `sub` */
	K_STRING,    /* non-empty string */
	K_NAME,      /* DNS-1123 label (a namespace) */
	K_PATH,      /* file system path, relative to the config file's directory */
	K_SOCKET,    /* a K_PATH naming a Unix socket: a file, short enough for sun_path */
	K_URL,       /* http:// or https:// URL */
	K_UINT,      /* integer in [min, max] */
	K_BOOL,      /* true or false */
	K_DURATION,  /* "500ms", "30s", "5m", "1h30m": milliseconds in [min, max] */
	K_LEVEL,     /* log level name */
	K_STRLIST,   /* sequence of non-empty strings, at most `max` */
};

struct key;

/* Cross-field checks run after a mapping's keys are all set; they return an
 * error about the key they name. */
struct cross_error {
	const char *key;
	char message[160];
};
typedef bool (*cross_check_fn)(const struct config *c, struct cross_error *e);

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	bool optional;            /* may be absent or null: NULL */
	const char *def;          /* default, as it would be written in YAML; NULL: none */
	uint64_t min, max;
	const struct key *sub;    /* K_MAP */
	cross_check_fn check;     /* K_MAP */
};

#define OFF(f) offsetof(struct config, f)
#define SOCKET_PATH_MAX 107   /* sizeof(sockaddr_un.sun_path) - 1 on Linux */
#define MS(x)  ((uint64_t)(x))
#define SEC    MS(1000)
#define HOUR   (3600 * SEC)

static bool check_vault_init(const struct config *c, struct cross_error *e);
static bool check_api(const struct config *c, struct cross_error *e);

static const struct key vault_init_keys[] = {
	{ "shares", K_UINT, OFF(vault.init.shares), false, "5", 1, 255, NULL, NULL },
	{ "threshold", K_UINT, OFF(vault.init.threshold), false, "3", 1, 255, NULL, NULL },
	{ "pgp_keys", K_STRLIST, OFF(vault.init.pgp_keys), false, NULL, 0, 255, NULL, NULL },
	{ 0 }
};

static const struct key vault_keys[] = {
	{ "namespace", K_NAME, OFF(vault.namespace), false, "vault", 0, 0, NULL, NULL },
	{ "selector", K_STRING, OFF(vault.selector), false,
	  "app.kubernetes.io/name=vault,app.kubernetes.io/component=server", 0, 0, NULL, NULL },
	{ "port", K_UINT, OFF(vault.port), false, "8200", 1, 65535, NULL, NULL },
	{ "address", K_URL, OFF(vault.address), true, NULL, 0, 0, NULL, NULL },
	{ "pod_recovery_deadline", K_DURATION, OFF(vault.pod_recovery_deadline), false, "6m", SEC, 24 * HOUR, NULL, NULL },
	{ "init", K_MAP, 0, false, NULL, 0, 0, vault_init_keys, check_vault_init },
	{ 0 }
};

static const struct key api_keys[] = {
	{ "backoff_initial", K_DURATION, OFF(api.backoff_initial), false, "500ms", MS(10), HOUR, NULL, NULL },
	{ "backoff_max", K_DURATION, OFF(api.backoff_max), false, "30s", MS(10), HOUR, NULL, NULL },
	{ "request_timeout", K_DURATION, OFF(api.request_timeout), false, "10s", MS(100), 10 * 60 * SEC, NULL, NULL },
	{ 0 }
};

static const struct key ask_password_keys[] = {
	{ "enabled", K_BOOL, OFF(ask_password.enabled), false, "true", 0, 0, NULL, NULL },
	{ "dir", K_PATH, OFF(ask_password.dir), false, "/run/systemd/ask-password", 0, 0, NULL, NULL },
	{ 0 }
};

static const struct key verify_keys[] = {
	{ "interval", K_DURATION, OFF(verify.interval), false, "30s", SEC, 24 * HOUR, NULL, NULL },
	{ "grace", K_DURATION, OFF(verify.grace), false, "2m", 0, 24 * HOUR, NULL, NULL },
	{ 0 }
};

static const struct key metrics_keys[] = {
	{ "textfile", K_PATH, OFF(metrics.textfile), true, NULL, 0, 0, NULL, NULL },
	{ 0 }
};

static const struct key log_keys[] = {
	{ "level", K_LEVEL, OFF(log.level), false, "info", 0, 0, NULL, NULL },
	{ 0 }
};

static const struct key control_keys[] = {
	{ "max_clients", K_UINT, OFF(control.max_clients), false, "32", 1, 1024, NULL, NULL },
	{ "idle_timeout", K_DURATION, OFF(control.idle_timeout), false, "30s", MS(100), HOUR, NULL, NULL },
	{ 0 }
};

static const struct key root_keys[] = {
	{ "kubeconfig", K_PATH, OFF(kubeconfig), false, "/etc/rancher/k3s/k3s.yaml", 0, 0, NULL, NULL },
	{ "socket", K_SOCKET, OFF(socket), false, "/run/agentd/agentd.sock", 0, 0, NULL, NULL },
	{ "state_dir", K_PATH, OFF(state_dir), false, "/var/lib/agentd", 0, 0, NULL, NULL },
	{ "control_group", K_STRING, OFF(control_group), true, NULL, 0, 0, NULL, NULL },
	{ "manifests", K_PATH, OFF(manifests), false, "manifests", 0, 0, NULL, NULL },
	{ "values", K_PATH, OFF(values), false, "values.yaml", 0, 0, NULL, NULL },
	{ "values_override", K_PATH, OFF(values_override), true, NULL, 0, 0, NULL, NULL },
	{ "vault", K_MAP, 0, false, NULL, 0, 0, vault_keys, NULL },
	{ "api", K_MAP, 0, false, NULL, 0, 0, api_keys, check_api },
	{ "ask_password", K_MAP, 0, false, NULL, 0, 0, ask_password_keys, NULL },
	{ "verify", K_MAP, 0, false, NULL, 0, 0, verify_keys, NULL },
	{ "metrics", K_MAP, 0, false, NULL, 0, 0, metrics_keys, NULL },
	{ "log", K_MAP, 0, false, NULL, 0, 0, log_keys, NULL },
	{ "control", K_MAP, 0, false, NULL, 0, 0, control_keys, NULL },
	{ 0 }
};

static bool
check_vault_init(const struct config *c, struct cross_error *e)
{
	unsigned shares = c->vault.init.shares, threshold = c->vault.init.threshold;

	if (threshold > shares) {
		e->key = "threshold";
		snprintf(e->message, sizeof(e->message),
			 "expected at most vault.init.shares (%u), got %u", shares, threshold);
		return false;
	}
	if (shares > 1 && threshold < 2) {
		e->key = "threshold";
		snprintf(e->message, sizeof(e->message),
			 "expected at least 2 when vault.init.shares is above 1 (Vault's rule), got %u",
			 threshold);
		return false;
	}
	if (c->vault.init.pgp_keys.n != 0 && c->vault.init.pgp_keys.n != shares) {
		e->key = "pgp_keys";
		snprintf(e->message, sizeof(e->message),
			 "expected one key per share (vault.init.shares: %u), got %zu", shares,
			 c->vault.init.pgp_keys.n);
		return false;
	}
	return true;
}

static bool
check_api(const struct config *c, struct cross_error *e)
{
	char lo[32], hi[32];

	if (c->api.backoff_initial > c->api.backoff_max) {
		config_format_duration(c->api.backoff_initial, lo, sizeof(lo));
		config_format_duration(c->api.backoff_max, hi, sizeof(hi));
		e->key = "backoff_max";
		snprintf(e->message, sizeof(e->message),
			 "expected at least api.backoff_initial (%s), got %s", lo, hi);
		return false;
	}
	return true;
}

/* ---- parse state -------------------------------------------------------- */

struct parser {
	const char *path;
	const char *base_dir;
	yaml_document_t *doc;
	struct config *c;
	char *error;
};

static int
fail(struct parser *p, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct parser *p, yaml_mark_t mark, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL || asprintf(&p->error, "%s:%zu:%zu: %s", p->path, mark.line + 1,
				    mark.column + 1, msg) < 0)
		p->error = NULL;
	free(msg);
	return -EINVAL;
}

/* A value quoted into an error message: bounded, control bytes escaped. */
static void
quote_value(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i >= 60) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
}

static const char *
node_kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static bool
scalar_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *
kind_expected(const struct key *k, char *buf, size_t size)
{
	switch (k->kind) {
	case K_MAP:
		return "a mapping";
	case K_STRING:
		return "a non-empty string";
	case K_NAME:
		return "a namespace name (lower-case letters, digits and '-', at most 63)";
	case K_PATH:
		return "a non-empty path";
	case K_SOCKET:
		return "a socket file path of at most 107 bytes";
	case K_URL:
		return "an http:// or https:// URL";
	case K_UINT:
		snprintf(buf, size, "an integer from %llu to %llu", (unsigned long long)k->min,
			 (unsigned long long)k->max);
		return buf;
	case K_BOOL:
		return "true or false";
	case K_DURATION: {
		char lo[32], hi[32];
		config_format_duration(k->min, lo, sizeof(lo));
		config_format_duration(k->max, hi, sizeof(hi));
		snprintf(buf, size, "a duration like 500ms, 30s, 5m or 1h30m, from %s to %s", lo, hi);
		return buf;
	}
	case K_LEVEL:
		return "one of debug, info, notice, warning, error";
	case K_STRLIST:
		snprintf(buf, size, "a list of at most %llu non-empty strings",
			 (unsigned long long)k->max);
		return buf;
	}
	return "?";
}

/* Durations: one or more <digits><unit>, unit ms, s, m or h. */
static int
parse_duration(const char *s, uint64_t *out)
{
	uint64_t total = 0;

	if (*s == '\0')
		return -EINVAL;
	while (*s != '\0') {
		uint64_t n = 0, mult;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s)) {
			if (n > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			n = n * 10 + (uint64_t)(*s++ - '0');
		}
		if (strncmp(s, "ms", 2) == 0) {
			mult = 1;
			s += 2;
		} else if (*s == 's') {
			mult = SEC;
			s++;
		} else if (*s == 'm') {
			mult = 60 * SEC;
			s++;
		} else if (*s == 'h') {
			mult = HOUR;
			s++;
		} else {
			return -EINVAL;
		}
		if (n > (UINT64_MAX - total) / mult)
			return -ERANGE;
		total += n * mult;
	}
	*out = total;
	return 0;
}

void
config_format_duration(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = { { "h", HOUR }, { "m", 60 * SEC }, { "s", SEC }, { "ms", 1 } };
	size_t off = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && off < size; i++) {
		if (ms / units[i].ms == 0)
			continue;
		int r = snprintf(buf + off, size - off, "%llu%s",
				 (unsigned long long)(ms / units[i].ms), units[i].unit);
		if (r < 0)
			return;
		off += (size_t)r;
		ms %= units[i].ms;
	}
}

static bool
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

static bool
valid_url(const char *s)
{
	const char *host;

	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return false;
	if (*host == '\0' || *host == '/')
		return false;
	for (const char *q = s; *q != '\0'; q++)
		if (isspace((unsigned char)*q) || iscntrl((unsigned char)*q))
			return false;
	return true;
}

/* Joins base and rel (unless rel is absolute) and removes ".", ".." and
 * repeated slashes lexically.  Returns malloc'd or NULL. */
static char *
path_resolve(const char *base, const char *rel)
{
	char *joined, *out, *save = NULL, *tok;
	size_t olen = 0;

	if (rel[0] == '/') {
		joined = strdup(rel);
	} else if (asprintf(&joined, "%s/%s", base, rel) < 0) {
		joined = NULL;
	}
	if (joined == NULL)
		return NULL;
	out = malloc(strlen(joined) + 2);
	if (out == NULL) {
		free(joined);
		return NULL;
	}
	for (tok = strtok_r(joined, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			while (olen > 0 && out[olen - 1] != '/')
				olen--;
			if (olen > 0)
				olen--;
			continue;
		}
		out[olen++] = '/';
		memcpy(out + olen, tok, strlen(tok));
		olen += strlen(tok);
	}
	if (olen == 0)
		out[olen++] = '/';
	out[olen] = '\0';
	free(joined);
	return out;
}

/* Kinds stored as a malloc'd char * (NULL when unset). */
static bool
kind_is_string(enum kind k)
{
	return k == K_STRING || k == K_NAME || k == K_PATH || k == K_SOCKET || k == K_URL;
}

static void *
field(struct config *c, const struct key *k)
{
	return (char *)c + k->off;
}

/* Converts one scalar (from YAML or a default) into the field of `k`.
 * `quoted` says the YAML author wrote a string, which a number or boolean is not. */
static int
set_scalar(struct parser *p, const struct key *k, const char *keypath, const char *v,
	   size_t len, bool quoted, yaml_mark_t mark)
{
	char expected[160], shown[256];
	void *f = field(p->c, k);
	uint64_t u;
	char *end, *s;
	int r;

	quote_value(v, len, shown, sizeof(shown));
	if (strlen(v) != len)
		return fail(p, mark, "%s: expected %s, got a string containing a NUL byte", keypath,
			    kind_expected(k, expected, sizeof(expected)));
	if (kind_is_string(k->kind)) {
		if (len == 0 || (k->kind == K_NAME && !valid_name(v)) ||
		    (k->kind == K_URL && !valid_url(v)))
			return fail(p, mark, "%s: expected %s, got '%s'", keypath,
				    kind_expected(k, expected, sizeof(expected)), shown);
		s = k->kind == K_PATH || k->kind == K_SOCKET ? path_resolve(p->base_dir, v) : strdup(v);
		if (s == NULL)
			return -ENOMEM;
		if (k->kind == K_SOCKET && (strcmp(s, "/") == 0 || strlen(s) > SOCKET_PATH_MAX)) {
			free(s);
			return fail(p, mark, "%s: expected %s, got '%s'", keypath,
				    kind_expected(k, expected, sizeof(expected)), shown);
		}
		free(*(char **)f);
		*(char **)f = s;
		return 0;
	}
	switch (k->kind) {
	case K_UINT:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (quoted || len == 0 || !isdigit((unsigned char)v[0]) || *end != '\0' ||
		    errno != 0 || u < k->min || u > k->max)
			return fail(p, mark, "%s: expected %s, got %s'%s'", keypath,
				    kind_expected(k, expected, sizeof(expected)),
				    quoted ? "the string " : "", shown);
		*(unsigned *)f = (unsigned)u;
		return 0;
	case K_BOOL:
		if (!quoted && (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0))
			*(bool *)f = true;
		else if (!quoted && (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 ||
				     strcmp(v, "FALSE") == 0))
			*(bool *)f = false;
		else
			return fail(p, mark, "%s: expected %s, got %s'%s'", keypath,
				    kind_expected(k, expected, sizeof(expected)),
				    quoted ? "the string " : "", shown);
		return 0;
	case K_DURATION:
		r = parse_duration(v, &u);
		if (r < 0 || u < k->min || u > k->max)
			return fail(p, mark, "%s: expected %s, got '%s'", keypath,
				    kind_expected(k, expected, sizeof(expected)), shown);
		*(uint64_t *)f = u;
		return 0;
	case K_LEVEL:
		r = log_level_from_string(v);
		if (r < 0)
			return fail(p, mark, "%s: expected %s, got '%s'", keypath,
				    kind_expected(k, expected, sizeof(expected)), shown);
		*(int *)f = r;
		return 0;
	default:
		break;
	}
	return fail(p, mark, "%s: expected %s, got '%s'", keypath,
		    kind_expected(k, expected, sizeof(expected)), shown);
}

static void
strlist_clear(struct config_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
clear_field(struct config *c, const struct key *k)
{
	void *f = field(c, k);

	if (kind_is_string(k->kind)) {
		free(*(char **)f);
		*(char **)f = NULL;
	} else if (k->kind == K_STRLIST) {
		strlist_clear(f);
	}
}

static int
set_strlist(struct parser *p, const struct key *k, const char *keypath, yaml_node_t *n)
{
	struct config_strlist *l = field(p->c, k);
	char expected[160], shown[256];
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);

	if (count > k->max)
		return fail(p, n->start_mark, "%s: expected %s, got %zu items", keypath,
			    kind_expected(k, expected, sizeof(expected)), count);
	strlist_clear(l);
	l->v = calloc(count ? count : 1, sizeof(char *));
	if (l->v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
		const char *v;
		if (item == NULL || item->type != YAML_SCALAR_NODE || scalar_is_null(item))
			return fail(p, item ? item->start_mark : n->start_mark,
				    "%s[%zu]: expected a non-empty string, got %s", keypath, i,
				    item && item->type != YAML_SCALAR_NODE ? node_kind_name(item) : "null");
		v = (const char *)item->data.scalar.value;
		quote_value(v, item->data.scalar.length, shown, sizeof(shown));
		if (strlen(v) != item->data.scalar.length)
			return fail(p, item->start_mark, "%s[%zu]: expected a non-empty string without NUL bytes",
				    keypath, i);
		l->v[i] = strdup(v);
		if (l->v[i] == NULL)
			return -ENOMEM;
		l->n = i + 1;
	}
	return 0;
}

static int
parse_map(struct parser *p, const struct key *keys, const char *prefix, yaml_node_t *map);

static int
parse_value(struct parser *p, const struct key *k, const char *keypath, yaml_node_t *v)
{
	char expected[160];

	if (k->kind == K_MAP) {
		if (scalar_is_null(v))
			return 0;  /* "vault:" alone keeps every default */
		if (v->type != YAML_MAPPING_NODE)
			return fail(p, v->start_mark, "%s: expected a mapping, got %s", keypath,
				    node_kind_name(v));
		return parse_map(p, k->sub, keypath, v);
	}
	if (scalar_is_null(v)) {
		if (!k->optional)
			return fail(p, v->start_mark, "%s: expected %s, got null", keypath,
				    kind_expected(k, expected, sizeof(expected)));
		clear_field(p->c, k);
		return 0;
	}
	if (k->kind == K_STRLIST) {
		if (v->type != YAML_SEQUENCE_NODE)
			return fail(p, v->start_mark, "%s: expected %s, got %s", keypath,
				    kind_expected(k, expected, sizeof(expected)), node_kind_name(v));
		return set_strlist(p, k, keypath, v);
	}
	if (v->type != YAML_SCALAR_NODE)
		return fail(p, v->start_mark, "%s: expected %s, got %s", keypath,
			    kind_expected(k, expected, sizeof(expected)), node_kind_name(v));
	return set_scalar(p, k, keypath, (const char *)v->data.scalar.value, v->data.scalar.length,
			  v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, v->start_mark);
}

static char *
key_path(const char *prefix, const char *name)
{
	char *s;

	if (prefix == NULL)
		return strdup(name);
	if (asprintf(&s, "%s.%s", prefix, name) < 0)
		return NULL;
	return s;
}

static void
key_names(const struct key *keys, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const struct key *k = keys; k->name != NULL && off < size; k++) {
		int r = snprintf(buf + off, size - off, "%s%s", k == keys ? "" : ", ", k->name);
		if (r < 0)
			break;
		off += (size_t)r;
	}
}

static yaml_node_t *
map_find(yaml_document_t *doc, yaml_node_t *map, const char *name, yaml_node_t **keynode)
{
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(doc, pr->key);
		if (kn != NULL && kn->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)kn->data.scalar.value, name) == 0) {
			if (keynode != NULL)
				*keynode = kn;
			return yaml_document_get_node(doc, pr->value);
		}
	}
	return NULL;
}

static int
parse_map(struct parser *p, const struct key *keys, const char *prefix, yaml_node_t *map)
{
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, pr->value);
		const struct key *k;
		char names[512], shown[256], *kp;
		const char *name;
		int r;

		if (kn == NULL || vn == NULL)
			return -EINVAL;
		if (kn->type != YAML_SCALAR_NODE)
			return fail(p, kn->start_mark, "%s%sexpected a key name, got %s",
				    prefix ? prefix : "", prefix ? ": " : "", node_kind_name(kn));
		name = (const char *)kn->data.scalar.value;
		for (k = keys; k->name != NULL; k++)
			if (strcmp(k->name, name) == 0)
				break;
		if (k->name == NULL) {
			key_names(keys, names, sizeof(names));
			quote_value(name, kn->data.scalar.length, shown, sizeof(shown));
			return fail(p, kn->start_mark, "unknown key '%s%s%s' (expected one of: %s)",
				    prefix ? prefix : "", prefix ? "." : "", shown, names);
		}
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pr; q++) {
			yaml_node_t *qn = yaml_document_get_node(p->doc, q->key);
			if (qn != NULL && qn->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)qn->data.scalar.value, name) == 0)
				return fail(p, kn->start_mark, "duplicate key '%s%s%s' (first at line %zu)",
					    prefix ? prefix : "", prefix ? "." : "", name,
					    qn->start_mark.line + 1);
		}
		kp = key_path(prefix, name);
		if (kp == NULL)
			return -ENOMEM;
		r = parse_value(p, k, kp, vn);
		free(kp);
		if (r < 0)
			return r;
	}
	/* Cross-field rules of nested maps written in this one. */
	for (const struct key *k = keys; k->name != NULL; k++) {
		struct cross_error e;
		yaml_node_t *sub, *kn = NULL;
		char *kp;

		if (k->kind != K_MAP || k->check == NULL || k->check(p->c, &e))
			continue;
		sub = map_find(p->doc, map, k->name, NULL);
		kp = key_path(prefix, k->name);
		if (kp == NULL)
			return -ENOMEM;
		if (sub != NULL && sub->type == YAML_MAPPING_NODE && map_find(p->doc, sub, e.key, &kn) != NULL)
			fail(p, kn->start_mark, "%s.%s: %s", kp, e.key, e.message);
		else
			fail(p, sub != NULL ? sub->start_mark : map->start_mark, "%s.%s: %s", kp, e.key,
			     e.message);
		free(kp);
		return -EINVAL;
	}
	return 0;
}

static int
apply_defaults(struct parser *p, const struct key *keys, const char *prefix)
{
	yaml_mark_t none = { 0, 0, 0 };
	int r;

	for (const struct key *k = keys; k->name != NULL; k++) {
		char *kp = key_path(prefix, k->name);
		if (kp == NULL)
			return -ENOMEM;
		if (k->kind == K_MAP)
			r = apply_defaults(p, k->sub, kp);
		else if (k->def != NULL)
			r = set_scalar(p, k, kp, k->def, strlen(k->def), false, none);
		else
			r = 0;
		free(kp);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The root cross checks also guard the defaults when the map is absent. */
static int
check_all(struct parser *p, const struct key *keys, const char *prefix)
{
	for (const struct key *k = keys; k->name != NULL; k++) {
		struct cross_error e;
		yaml_mark_t none = { 0, 0, 0 };
		char *kp;
		int r = 0;

		if (k->kind != K_MAP)
			continue;
		kp = key_path(prefix, k->name);
		if (kp == NULL)
			return -ENOMEM;
		if (k->check != NULL && !k->check(p->c, &e))
			r = fail(p, none, "%s.%s: %s", kp, e.key, e.message);
		if (r == 0)
			r = check_all(p, k->sub, kp);
		free(kp);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *
first_of_list(const char *s, char *buf, size_t size)
{
	size_t n = strcspn(s, ":");

	if (n == 0 || n >= size)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static int
apply_env(struct parser *p, const struct config_env *env, bool kubeconfig_in_file)
{
	struct config *c = p->c;
	char buf[PATH_MAX];
	const char *d;
	char *s;

	if (env == NULL)
		return 0;
	if (env->kubeconfig != NULL && env->kubeconfig[0] != '\0') {
		/* $KUBECONFIG may list several files; like kubectl's merge, the first wins. */
		d = first_of_list(env->kubeconfig, buf, sizeof(buf));
		if (d != NULL) {
			if ((s = strdup(d)) == NULL)
				return -ENOMEM;
			free(c->kubeconfig);
			c->kubeconfig = s;
			c->env_overrides |= CONFIG_ENV_KUBECONFIG;
		}
	}
	if (!(c->env_overrides & CONFIG_ENV_KUBECONFIG) && !kubeconfig_in_file &&
	    env->kubeconfig_credential != NULL) {
		if ((s = strdup(env->kubeconfig_credential)) == NULL)
			return -ENOMEM;
		free(c->kubeconfig);
		c->kubeconfig = s;
		c->env_overrides |= CONFIG_ENV_CREDENTIAL;
	}
	if (env->socket != NULL && env->socket[0] != '\0') {
		if ((s = strdup(env->socket)) == NULL)
			return -ENOMEM;
		free(c->socket);
		c->socket = s;
		c->env_overrides |= CONFIG_ENV_SOCKET;
	} else if (env->runtime_directory != NULL &&
		   (d = first_of_list(env->runtime_directory, buf, sizeof(buf))) != NULL) {
		/* The socket keeps its file name; c->socket is absolute and never "/". */
		char *dir = path_resolve(p->base_dir, d);
		if (dir == NULL)
			return -ENOMEM;
		if (asprintf(&s, "%s%s", strcmp(dir, "/") == 0 ? "" : dir, strrchr(c->socket, '/')) < 0)
			s = NULL;
		free(dir);
		if (s == NULL)
			return -ENOMEM;
		if (strlen(s) > SOCKET_PATH_MAX) {
			if (asprintf(&p->error, "%s: socket %s (from $RUNTIME_DIRECTORY): longer than %d bytes",
				     p->path, s, SOCKET_PATH_MAX) < 0)
				p->error = NULL;
			free(s);
			return -ENAMETOOLONG;
		}
		free(c->socket);
		c->socket = s;
		c->env_overrides |= CONFIG_ENV_RUNTIME_DIR;
	}
	if (env->state_directory != NULL &&
	    (d = first_of_list(env->state_directory, buf, sizeof(buf))) != NULL) {
		if ((s = strdup(d)) == NULL)
			return -ENOMEM;
		free(c->state_dir);
		c->state_dir = s;
		c->env_overrides |= CONFIG_ENV_STATE_DIR;
	}
	return 0;
}

static void
free_fields(struct config *c, const struct key *keys)
{
	for (const struct key *k = keys; k->name != NULL; k++) {
		if (k->kind == K_MAP)
			free_fields(c, k->sub);
		else
			clear_field(c, k);
	}
}

struct config *
config_free(struct config *c)
{
	if (c == NULL)
		return NULL;
	free_fields(c, root_keys);
	free(c->path);
	free(c);
	return NULL;
}

/* libyaml says where it gave up and, for a construct left open, where that
 * construct started: both help find an unclosed quote or bracket. */
static int
syntax_error(struct parser *p, const yaml_parser_t *yp)
{
	const char *problem = yp->problem ? yp->problem : "unknown problem";

	if (yp->context != NULL && (yp->context_mark.line != yp->problem_mark.line ||
				    yp->context_mark.column != yp->problem_mark.column))
		return fail(p, yp->problem_mark, "YAML syntax error: %s %s (opened at line %zu, column %zu)",
			    problem, yp->context, yp->context_mark.line + 1, yp->context_mark.column + 1);
	return fail(p, yp->problem_mark, "YAML syntax error: %s%s%s", problem,
		    yp->context ? " " : "", yp->context ? yp->context : "");
}

int
config_parse(const char *buf, size_t len, const char *path, const char *base_dir,
	     const struct config_env *env, struct config **out, char **error)
{
	struct parser p = { .path = path, .base_dir = base_dir };
	yaml_parser_t yp;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	bool have_doc = false;
	int r;

	p.c = calloc(1, sizeof(*p.c));
	if (p.c == NULL || (p.c->path = strdup(path)) == NULL) {
		free(p.c);
		return -ENOMEM;
	}
	r = apply_defaults(&p, root_keys, NULL);
	if (r < 0)
		goto out;
	if (!yaml_parser_initialize(&yp)) {
		r = -ENOMEM;
		goto out;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&yp, &doc)) {
		r = syntax_error(&p, &yp);
		yaml_parser_delete(&yp);
		goto out;
	}
	have_doc = true;
	p.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root != NULL) {
		/* A second document would be silently ignored: refuse it. */
		if (!yaml_parser_load(&yp, &extra)) {
			r = syntax_error(&p, &yp);
		} else {
			yaml_node_t *x = yaml_document_get_root_node(&extra);
			if (x != NULL)
				r = fail(&p, x->start_mark, "expected one YAML document, found another");
			yaml_document_delete(&extra);
		}
		if (r == 0 && scalar_is_null(root))
			r = 0;
		else if (r == 0 && root->type != YAML_MAPPING_NODE)
			r = fail(&p, root->start_mark, "expected a mapping of configuration keys, got %s",
				 node_kind_name(root));
		else if (r == 0)
			r = parse_map(&p, root_keys, NULL, root);
	}
	yaml_parser_delete(&yp);
	if (r == 0)
		r = check_all(&p, root_keys, NULL);
	if (r == 0)
		r = apply_env(&p, env, root != NULL && root->type == YAML_MAPPING_NODE &&
					       map_find(&doc, root, "kubeconfig", NULL) != NULL);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (r < 0) {
		if (error != NULL) {
			*error = p.error;
			p.error = NULL;
		}
		free(p.error);
		config_free(p.c);
		return r;
	}
	*out = p.c;
	return 0;
}

void
config_env_from_environ(struct config_env *env)
{
	static char credential[PATH_MAX];
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	struct stat st;
	int n;

	*env = (struct config_env){
		.kubeconfig = getenv("KUBECONFIG"),
		.socket = getenv("AGENTD_SOCKET"),
		.state_directory = getenv("STATE_DIRECTORY"),
		.runtime_directory = getenv("RUNTIME_DIRECTORY"),
	};
	if (creds != NULL && creds[0] == '/') {
		n = snprintf(credential, sizeof(credential), "%s/kubeconfig", creds);
		if (n > 0 && (size_t)n < sizeof(credential) && stat(credential, &st) == 0 &&
		    S_ISREG(st.st_mode))
			env->kubeconfig_credential = credential;
	}
}

int
config_load(const char *path, const struct config_env *env, struct config **out, char **error)
{
	char *buf = NULL, *dir, *slash, *copy;
	size_t len = 0;
	int r;

	r = readfile(path, CONFIG_MAX_SIZE, &buf, &len);
	if (r < 0) {
		if (asprintf(error, "%s: %s", path,
			     r == -EINVAL ? "not a regular file"
			     : r == -EFBIG ? "larger than 1 MiB" : strerror(-r)) < 0)
			*error = NULL;
		return r;
	}
	/* The directory the file really lives in: relative paths follow the file. */
	copy = strdup(path);
	if (copy == NULL) {
		free(buf);
		return -ENOMEM;
	}
	slash = strrchr(copy, '/');
	if (slash == copy)
		copy[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	dir = realpath(slash != NULL ? copy : ".", NULL);
	free(copy);
	if (dir == NULL) {
		r = -errno;
		if (asprintf(error, "%s: %s", path, strerror(-r)) < 0)
			*error = NULL;
		free(buf);
		return r;
	}
	r = config_parse(buf, len, path, dir, env, out, error);
	free(buf);
	free(dir);
	return r;
}

/* ---- normalised output -------------------------------------------------- */

/* YAML double-quoted scalar; the escapes are the JSON subset. */
static void
sb_quoted(struct strbuf *b, const char *s)
{
	strbuf_printf(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			strbuf_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			strbuf_printf(b, "\\x%02x", ch);
		else
			strbuf_printf(b, "%c", ch);
	}
	strbuf_printf(b, "\"");
}

static const char *
env_note(const struct config *c, const struct key *k)
{
	if (k->off == OFF(kubeconfig) && (c->env_overrides & CONFIG_ENV_KUBECONFIG))
		return "  # from $KUBECONFIG";
	if (k->off == OFF(kubeconfig) && (c->env_overrides & CONFIG_ENV_CREDENTIAL))
		return "  # from $CREDENTIALS_DIRECTORY";
	if (k->off == OFF(socket) && (c->env_overrides & CONFIG_ENV_SOCKET))
		return "  # from $AGENTD_SOCKET";
	if (k->off == OFF(socket) && (c->env_overrides & CONFIG_ENV_RUNTIME_DIR))
		return "  # from $RUNTIME_DIRECTORY";
	if (k->off == OFF(state_dir) && (c->env_overrides & CONFIG_ENV_STATE_DIR))
		return "  # from $STATE_DIRECTORY";
	return "";
}

static void
format_keys(struct strbuf *b, const struct config *c, const struct key *keys, int depth)
{
	char dur[64];

	for (const struct key *k = keys; k->name != NULL; k++) {
		const void *f = (const char *)c + k->off;
		strbuf_printf(b, "%*s%s:", depth * 2, "", k->name);
		switch (k->kind) {
		case K_MAP:
			strbuf_printf(b, "\n");
			format_keys(b, c, k->sub, depth + 1);
			continue;
		case K_STRING:
		case K_NAME:
		case K_PATH:
		case K_SOCKET:
		case K_URL:  /* kind_is_string */
			if (*(char *const *)f == NULL) {
				strbuf_printf(b, " ~");
			} else {
				strbuf_printf(b, " ");
				sb_quoted(b, *(char *const *)f);
			}
			strbuf_printf(b, "%s", env_note(c, k));
			break;
		case K_UINT:
			strbuf_printf(b, " %u", *(const unsigned *)f);
			break;
		case K_BOOL:
			strbuf_printf(b, " %s", *(const bool *)f ? "true" : "false");
			break;
		case K_DURATION:
			config_format_duration(*(const uint64_t *)f, dur, sizeof(dur));
			strbuf_printf(b, " %s", dur);
			break;
		case K_LEVEL:
			strbuf_printf(b, " %s", log_level_to_string(*(const int *)f));
			break;
		case K_STRLIST: {
			const struct config_strlist *l = f;
			if (l->n == 0)
				strbuf_printf(b, " []");
			for (size_t i = 0; i < l->n; i++) {
				strbuf_printf(b, "\n%*s- ", depth * 2 + 2, "");
				sb_quoted(b, l->v[i]);
			}
			break;
		}
		}
		strbuf_printf(b, "\n");
	}
}

char *
config_format(const struct config *c)
{
	struct strbuf b = { 0 };

	format_keys(&b, c, root_keys, 0);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
