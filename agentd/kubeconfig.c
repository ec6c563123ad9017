/* kubeconfig — parse a kubeconfig (YAML via yamljson), pick a context, gather its
 * cluster and user.  Secrets are wiped from every buffer they passed through. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubeconfig.h"
#include "readfile.h"
#include "wipe.h"
#include "yamljson.h"

#define MAX_FILE ((size_t)4 << 20)

struct parse {
	const struct yamljson *y;
	const char *path;
	char **err;
};

static int __attribute__((format(printf, 4, 5)))
fail(struct parse *p, int code, const cJSON *node, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	struct yamljson_pos pos;
	char *m = NULL;
	int n;
	if (node && p->y && yamljson_pos(p->y, node, &pos) == 0)
		n = asprintf(&m, "%s:%u:%u: %s", p->path, pos.key_line ? pos.key_line : pos.line,
			     pos.key_line ? pos.key_column : pos.column, what);
	else
		n = asprintf(&m, "%s: %s", p->path, what);
	if (p->err)
		*p->err = n < 0 ? NULL : m;
	else if (n >= 0)
		free(m);
	return code;
}

struct kubeconfig *
kubeconfig_free(struct kubeconfig *kc)
{
	if (!kc)
		return NULL;
	free(kc->path);
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->namespace);
	free(kc->server);
	free(kc->ca);
	free(kc->cert);
	wipe_free(kc->key, kc->key_len);
	wipe_free_str(kc->token);
	free(kc->ca_file);
	free(kc->cert_file);
	free(kc->key_file);
	free(kc->token_file);
	free(kc);
	return NULL;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64, padding optional, whitespace ignored (multi-line values). */
static int
b64_decode(const char *in, char **out, size_t *outlen)
{
	size_t n = strlen(in);
	char *buf = malloc(n / 4 * 3 + 4);
	if (!buf)
		return -ENOMEM;
	unsigned acc = 0;
	int bits = 0, pad = 0;
	size_t o = 0;
	for (const char *p = in; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad) {
			wipe_free(buf, n / 4 * 3 + 4);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (pad > 2 || bits >= 6) {
		wipe_free(buf, n / 4 * 3 + 4);
		return -EINVAL;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

static const cJSON *
member(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

/* A string member, or NULL; an error if present with another type. */
static int
get_str(struct parse *p, const cJSON *obj, const char *name, const char *where, const char **out)
{
	const cJSON *v = member(obj, name);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return fail(p, -EINVAL, v, "%s: %s must be a string", where, name);
	*out = v->valuestring;
	return 0;
}

/* Finds NAME in the list KEY (clusters/users/contexts) and returns its ITEM
 * (cluster/user/context) mapping. */
static int
find_named(struct parse *p, const cJSON *root, const char *key, const char *item, const char *name,
	   const cJSON **out)
{
	const cJSON *list = member(root, key);
	if (list && !cJSON_IsArray(list) && !cJSON_IsNull(list))
		return fail(p, -EINVAL, list, "%s must be a list", key);
	const cJSON *e;
	cJSON_ArrayForEach(e, list) {
		const cJSON *n = member(e, "name");
		if (!cJSON_IsObject(e) || !cJSON_IsString(n))
			return fail(p, -EINVAL, e, "every entry of %s needs a string name", key);
		if (strcmp(n->valuestring, name) != 0)
			continue;
		const cJSON *body = member(e, item);
		if (!cJSON_IsObject(body))
			return fail(p, -EINVAL, e, "%s entry \"%s\" has no %s mapping", key, name, item);
		*out = body;
		return 0;
	}
	return fail(p, -ENOENT, list, "%s \"%s\" not found in %s", item, name, key);
}

/* Joins a relative file name to the kubeconfig's directory. */
static int
resolve_file(const char *kcpath, const char *name, char **out)
{
	if (name[0] == '/') {
		*out = strdup(name);
		return *out ? 0 : -ENOMEM;
	}
	const char *slash = strrchr(kcpath, '/');
	int n = slash ? asprintf(out, "%.*s/%s", (int)(slash - kcpath), kcpath, name)
		      : asprintf(out, "%s", name);
	return n < 0 ? -ENOMEM : 0;
}

/* A -data field (base64) or a file reference; data wins, like kubectl. */
static int
get_material(struct parse *p, const cJSON *obj, const char *datakey, const char *filekey,
	     const char *where, char **data, size_t *len, char **file)
{
	const char *d, *f;
	int r;
	if ((r = get_str(p, obj, datakey, where, &d)) < 0 || (r = get_str(p, obj, filekey, where, &f)) < 0)
		return r;
	if (d && *d) {
		r = b64_decode(d, data, len);
		if (r == -EINVAL)
			return fail(p, r, member(obj, datakey), "%s: %s is not valid base64", where, datakey);
		return r;
	}
	if (f && *f)
		return resolve_file(p->path, f, file);
	return 0;
}

static bool
unsupported_member(const cJSON *user, const char *name)
{
	const cJSON *v = member(user, name);
	return v && !cJSON_IsNull(v);
}

static int
parse_doc(struct parse *p, const cJSON *root, const char *want, struct kubeconfig *kc)
{
	const char *ctxname = want, *s;
	int r;

	if (!cJSON_IsObject(root))
		return fail(p, -EINVAL, root, "not a kubeconfig (expected a mapping)");
	if (!ctxname) {
		if ((r = get_str(p, root, "current-context", "kubeconfig", &ctxname)) < 0)
			return r;
		if (!ctxname || !*ctxname)
			return fail(p, -ENOENT, NULL, "no current-context set");
	}
	const cJSON *ctx, *cluster, *user = NULL;
	if ((r = find_named(p, root, "contexts", "context", ctxname, &ctx)) < 0)
		return r;
	if (!(kc->context = strdup(ctxname)))
		return -ENOMEM;

	char where[300];
	snprintf(where, sizeof where, "context \"%.200s\"", ctxname);
	const char *cname, *uname, *ns;
	if ((r = get_str(p, ctx, "cluster", where, &cname)) < 0 ||
	    (r = get_str(p, ctx, "user", where, &uname)) < 0 ||
	    (r = get_str(p, ctx, "namespace", where, &ns)) < 0)
		return r;
	if (!cname || !*cname)
		return fail(p, -EINVAL, ctx, "%s names no cluster", where);
	if ((r = find_named(p, root, "clusters", "cluster", cname, &cluster)) < 0)
		return r;
	if (!(kc->cluster = strdup(cname)) || (ns && *ns && !(kc->namespace = strdup(ns))))
		return -ENOMEM;

	snprintf(where, sizeof where, "cluster \"%.200s\"", cname);
	if ((r = get_str(p, cluster, "server", where, &s)) < 0)
		return r;
	if (!s || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0))
		return fail(p, -EINVAL, s ? member(cluster, "server") : cluster,
			    "%s: server must be an http(s):// URL", where);
	size_t sl = strlen(s);
	while (sl > 0 && s[sl - 1] == '/')
		sl--;
	if (!(kc->server = strndup(s, sl)))
		return -ENOMEM;
	const cJSON *insecure = member(cluster, "insecure-skip-tls-verify");
	if (insecure && !cJSON_IsBool(insecure) && !cJSON_IsNull(insecure))
		return fail(p, -EINVAL, insecure, "%s: insecure-skip-tls-verify must be true or false", where);
	kc->insecure = cJSON_IsTrue(insecure);
	if ((r = get_material(p, cluster, "certificate-authority-data", "certificate-authority", where,
			      &kc->ca, &kc->ca_len, &kc->ca_file)) < 0)
		return r;
	if (kc->insecure && (kc->ca || kc->ca_file))
		return fail(p, -EINVAL, insecure,
			    "%s: a certificate authority together with insecure-skip-tls-verify is not allowed",
			    where);

	if (!uname || !*uname)
		return 0;	/* anonymous */
	if ((r = find_named(p, root, "users", "user", uname, &user)) < 0)
		return r;
	if (!(kc->user = strdup(uname)))
		return -ENOMEM;
	snprintf(where, sizeof where, "user \"%.200s\"", uname);
	if (unsupported_member(user, "exec"))
		return fail(p, -ENOTSUP, member(user, "exec"),
			    "%s: exec credential plugins are unsupported; use client-certificate/client-key or a token",
			    where);
	if (unsupported_member(user, "auth-provider"))
		return fail(p, -ENOTSUP, member(user, "auth-provider"),
			    "%s: auth-provider is unsupported; use client-certificate/client-key or a token", where);
	if (unsupported_member(user, "username") || unsupported_member(user, "password"))
		return fail(p, -ENOTSUP, user, "%s: basic authentication (username/password) is unsupported",
			    where);
	if ((r = get_material(p, user, "client-certificate-data", "client-certificate", where, &kc->cert,
			      &kc->cert_len, &kc->cert_file)) < 0 ||
	    (r = get_material(p, user, "client-key-data", "client-key", where, &kc->key, &kc->key_len,
			      &kc->key_file)) < 0)
		return r;
	bool has_cert = kc->cert || kc->cert_file, has_key = kc->key || kc->key_file;
	if (has_cert != has_key)
		return fail(p, -EINVAL, user, "%s: %s without %s", where,
			    has_cert ? "client certificate" : "client key",
			    has_cert ? "client key" : "client certificate");
	const char *tok, *tokfile;
	if ((r = get_str(p, user, "token", where, &tok)) < 0 || (r = get_str(p, user, "tokenFile", where, &tokfile)) < 0)
		return r;
	if (tok && *tok) {
		if (!(kc->token = strdup(tok)))
			return -ENOMEM;
	} else if (tokfile && *tokfile) {
		if ((r = resolve_file(p->path, tokfile, &kc->token_file)) < 0)
			return r;
	}
	return 0;
}

int
kubeconfig_parse(const char *text, size_t len, const char *path, const char *context,
		 struct kubeconfig **out, char **err)
{
	struct yamljson *y = NULL;
	struct parse p = { .path = path, .err = err };
	char *yerr = NULL;
	int r = yamljson_parse(text, len, path, &y, &yerr);
	if (r < 0) {
		if (err)
			*err = yerr;
		else
			free(yerr);
		return r;
	}
	p.y = y;
	struct kubeconfig *kc = calloc(1, sizeof *kc);
	if (!kc || !(kc->path = strdup(path))) {
		r = -ENOMEM;
		goto out;
	}
	size_t ndocs = yamljson_count(y);
	if (ndocs != 1) {
		r = fail(&p, -EINVAL, NULL, "expected one YAML document, found %zu", ndocs);
		goto out;
	}
	r = parse_doc(&p, yamljson_doc(y, 0), context, kc);
out:
	for (size_t i = 0; y && i < yamljson_count(y); i++)
		wipe_json(yamljson_doc(y, i));	/* key material */
	yamljson_free(y);
	if (r < 0) {
		kubeconfig_free(kc);
		return r;
	}
	*out = kc;
	return 0;
}

static int
load_ref(const char *kcpath, const char *what, const char *file, char **data, size_t *len, char **err)
{
	int r = readfile(file, MAX_FILE, data, len);
	if (r < 0 && err && asprintf(err, "%s: cannot read %s %s: %s", kcpath, what, file, strerror(-r)) < 0)
		*err = NULL;
	return r;
}

int
kubeconfig_load(const char *path, const char *context, struct kubeconfig **out, char **err)
{
	char *text;
	size_t len;
	int r = readfile(path, MAX_FILE, &text, &len);
	if (r < 0) {
		if (err && asprintf(err, "%s: %s", path, strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	struct kubeconfig *kc = NULL;
	r = kubeconfig_parse(text, len, path, context, &kc, err);
	wipe_free(text, len + 1);
	if (r < 0)
		return r;
	if (kc->ca_file && !kc->ca && (r = load_ref(path, "certificate-authority", kc->ca_file, &kc->ca,
						    &kc->ca_len, err)) < 0)
		goto fail;
	if (kc->cert_file && !kc->cert && (r = load_ref(path, "client-certificate", kc->cert_file,
							&kc->cert, &kc->cert_len, err)) < 0)
		goto fail;
	if (kc->key_file && !kc->key && (r = load_ref(path, "client-key", kc->key_file, &kc->key,
						      &kc->key_len, err)) < 0)
		goto fail;
	if (kc->token_file && !kc->token) {
		char *t;
		size_t tl;
		if ((r = load_ref(path, "tokenFile", kc->token_file, &t, &tl, err)) < 0)
			goto fail;
		while (tl > 0 && (t[tl - 1] == '\n' || t[tl - 1] == '\r' || t[tl - 1] == ' '))
			t[--tl] = '\0';
		kc->token = t;
	}
	*out = kc;
	return 0;
fail:
	kubeconfig_free(kc);
	return r;
}
