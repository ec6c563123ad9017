/* lint — PSS plus the stack's hardening rules on one object. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpath.h"
#include "lint.h"

struct ctx {
	struct lint_result *res;
	const char *who;	/* "Deployment ai-agents/controller" */
	bool oom;
};

__attribute__((format(printf, 5, 6))) static void
add(struct ctx *c, bool note, const char *check, const cJSON *node, const char *fmt, ...)
{
	struct lint_finding *f;
	va_list ap;
	char *msg = NULL, *full = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0 || asprintf(&full, "%s: %s", c->who, msg) < 0) {
		free(msg);
		c->oom = true;
		return;
	}
	free(msg);
	f = realloc(c->res->f, (c->res->n + 1) * sizeof(*f));
	if (!f) {
		free(full);
		c->oom = true;
		return;
	}
	c->res->f = f;
	f = &f[c->res->n];
	f->note = note;
	f->check = strdup(check);
	f->message = full;
	f->node = node;
	if (!f->check) {
		free(full);
		c->oom = true;
		return;
	}
	c->res->n++;
	if (!note)
		c->res->violations++;
}

/* O[K] if it is an array, else NULL (cJSON_ArrayForEach accepts NULL). */
static const cJSON *
arr(const cJSON *o, const char *k)
{
	const cJSON *v = jpath_get(o, k);

	return cJSON_IsArray(v) ? v : NULL;
}

static bool
placeholder(const cJSON *v)
{
	return cJSON_IsString(v) && strstr(v->valuestring, "${") != NULL;
}

static bool
present(const cJSON *v)
{
	return v && !cJSON_IsNull(v) && !(cJSON_IsString(v) && !*v->valuestring);
}

static bool
digest_pinned(const char *image)
{
	const char *at = strstr(image, "@sha256:");
	size_t i;

	if (!at || at == image)
		return false;
	at += 8;
	for (i = 0; i < 64; i++)
		if (!((at[i] >= '0' && at[i] <= '9') || (at[i] >= 'a' && at[i] <= 'f')))
			return false;
	return at[64] == '\0';
}

static void
check_resources(struct ctx *c, const cJSON *ctr, const char *name)
{
	static const char *const need[][2] = {
		{ "requests", "cpu" }, { "requests", "memory" }, { "limits", "cpu" }, { "limits", "memory" },
	};
	const cJSON *res = jpath_get(ctr, "resources");
	char missing[96] = "";
	size_t i;

	if (placeholder(res)) {
		add(c, true, "resources", res, "container %s: resources are the unrendered placeholder %s; not checked",
		    name, res->valuestring);
		return;
	}
	for (i = 0; i < 4; i++) {
		const cJSON *v = jpath_get(jpath_get(res, need[i][0]), need[i][1]);

		if (!present(v))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s.%s",
				 *missing ? ", " : "", need[i][0], need[i][1]);
	}
	if (*missing)
		add(c, false, "resources", res ? res : ctr, "container %s lacks %s", name, missing);
}

static void
check_image(struct ctx *c, const cJSON *ctr, const char *name)
{
	const cJSON *img = jpath_get(ctr, "image");

	if (placeholder(img)) {
		add(c, true, "image-digest", img, "container %s: image is the unrendered placeholder %s; digest not checked (pass --values)",
		    name, img->valuestring);
		return;
	}
	if (!cJSON_IsString(img) || !digest_pinned(img->valuestring))
		add(c, false, "image-digest", img ? img : ctr, "container %s: image %s is not pinned by digest (@sha256:...)",
		    name, cJSON_IsString(img) ? img->valuestring : "(none)");
}

static void
check_container_secrets(struct ctx *c, const cJSON *ctr, const char *name)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr(ctr, "env")) {
		const cJSON *ref = jpath_get(jpath_get(e, "valueFrom"), "secretKeyRef");

		if (ref)
			add(c, false, "no-secrets", ref, "container %s: env %s reads Secret %s via secretKeyRef; take it from Vault",
			    name, jpath_str(e, "name") ? jpath_str(e, "name") : "?",
			    jpath_str(ref, "name") ? jpath_str(ref, "name") : "?");
	}
	cJSON_ArrayForEach(e, arr(ctr, "envFrom")) {
		const cJSON *ref = jpath_get(e, "secretRef");

		if (ref)
			add(c, false, "no-secrets", ref, "container %s: envFrom reads Secret %s; take it from Vault", name,
			    jpath_str(ref, "name") ? jpath_str(ref, "name") : "?");
	}
}

static bool
is_true(const cJSON *v)
{
	return cJSON_IsTrue(v);
}

static void
check_security(struct ctx *c, const cJSON *ctr, const char *name)
{
	const cJSON *sc = jpath_get(ctr, "securityContext"), *d;
	const cJSON *at = sc ? sc : ctr;
	bool all = false;

	if (!is_true(jpath_get(sc, "readOnlyRootFilesystem")))
		add(c, false, "read-only-root", at, "container %s must set securityContext.readOnlyRootFilesystem=true",
		    name);
	if (!cJSON_IsFalse(jpath_get(sc, "allowPrivilegeEscalation")))
		add(c, false, "privilege-escalation", at,
		    "container %s must set securityContext.allowPrivilegeEscalation=false", name);
	cJSON_ArrayForEach(d, arr(jpath_get(sc, "capabilities"), "drop"))
		if (cJSON_IsString(d) && strcmp(d->valuestring, "ALL") == 0)
			all = true;
	if (!all)
		add(c, false, "drop-all", at, "container %s must set securityContext.capabilities.drop=[\"ALL\"]", name);
}

static void
check_pod(struct ctx *c, const cJSON *spec)
{
	static const char *const lists[] = { "initContainers", "containers", "ephemeralContainers" };
	const cJSON *sc = jpath_get(spec, "securityContext"), *ctr, *vol, *seccomp = jpath_get(jpath_get(sc, "seccompProfile"), "type");
	size_t i;

	if (!is_true(jpath_get(sc, "runAsNonRoot")))
		add(c, false, "run-as-non-root", sc ? sc : spec, "pod must set securityContext.runAsNonRoot=true");
	if (!cJSON_IsString(seccomp) ||
	    (strcmp(seccomp->valuestring, "RuntimeDefault") != 0 && strcmp(seccomp->valuestring, "Localhost") != 0))
		add(c, false, "seccomp", sc ? sc : spec, "pod must set securityContext.seccompProfile.type=RuntimeDefault");
	for (i = 0; i < 3; i++)
		cJSON_ArrayForEach(ctr, arr(spec, lists[i])) {
			const char *name = jpath_str(ctr, "name") ? jpath_str(ctr, "name") : "?";

			check_resources(c, ctr, name);
			check_image(c, ctr, name);
			check_container_secrets(c, ctr, name);
			check_security(c, ctr, name);
		}
	cJSON_ArrayForEach(vol, arr(spec, "volumes")) {
		const char *vname = jpath_str(vol, "name") ? jpath_str(vol, "name") : "?";
		const cJSON *src, *ed = jpath_get(vol, "emptyDir");

		if (jpath_get(vol, "secret"))
			add(c, false, "no-secrets", jpath_get(vol, "secret"), "volume %s mounts Secret %s; take it from Vault",
			    vname, jpath_str(jpath_get(vol, "secret"), "secretName") ? jpath_str(jpath_get(vol, "secret"), "secretName") : "?");
		src = arr(jpath_get(vol, "projected"), "sources");
		cJSON_ArrayForEach(ctr, src)
			if (jpath_get(ctr, "secret"))
				add(c, false, "no-secrets", jpath_get(ctr, "secret"),
				    "projected volume %s includes Secret %s; take it from Vault", vname,
				    jpath_str(jpath_get(ctr, "secret"), "name") ? jpath_str(jpath_get(ctr, "secret"), "name") : "?");
		if (ed && !present(jpath_get(ed, "sizeLimit")))
			add(c, false, "emptydir-size", ed, "emptyDir volume %s has no sizeLimit", vname);
	}
}

static void
check_pss(struct ctx *c, const cJSON *meta, const cJSON *spec, enum pss_level level, unsigned minor)
{
	struct pss_result r = { NULL, 0 };
	char check[96];
	size_t i;

	if (pss_evaluate(meta, spec, level, minor, &r) < 0) {
		c->oom = true;
		return;
	}
	for (i = 0; i < r.n; i++) {
		snprintf(check, sizeof(check), "pss/%s", r.v[i].check);
		add(c, false, check, spec, "violates PodSecurity \"%s:v1.%u\": %s (%s)", pss_level_name(level), minor,
		    r.v[i].reason, r.v[i].detail);
	}
	pss_result_clear(&r);
}

int
lint_object(const cJSON *obj, enum pss_level level, unsigned minor, unsigned flags, struct lint_result *res)
{
	const cJSON *meta = jpath_get(obj, "metadata"), *pmeta, *spec;
	const char *kind = jpath_str(obj, "kind"), *name = jpath_str(meta, "name"), *ns = jpath_str(meta, "namespace");
	char who[512];
	struct ctx c = { res, who, false };

	snprintf(who, sizeof(who), "%s %s%s%s", kind ? kind : "object", ns ? ns : "", ns ? "/" : "",
		 name ? name : "?");
	if (!(flags & LINT_PSS_ONLY) && kind && strcmp(kind, "Secret") == 0)
		add(&c, false, "no-secrets", obj, "plain Secret object; agent secrets belong in Vault");
	if (pss_pod_template(obj, &pmeta, &spec) == 0) {
		check_pss(&c, pmeta, spec, level, minor);
		if (!(flags & LINT_PSS_ONLY))
			check_pod(&c, spec);
	}
	return c.oom ? -ENOMEM : 0;
}

int
lint_namespace_policy(const cJSON *ns, enum pss_level *level, unsigned *minor)
{
	const cJSON *labels = jpath_get(jpath_get(ns, "metadata"), "labels");
	const char *kind = jpath_str(ns, "kind"), *l, *v;
	enum pss_level lv;
	unsigned mv = PSS_VERSION_LATEST;

	if (!kind || strcmp(kind, "Namespace") != 0)
		return -ENOENT;
	l = jpath_str(labels, "pod-security.kubernetes.io/enforce");
	v = jpath_str(labels, "pod-security.kubernetes.io/enforce-version");
	if (!l || pss_level_parse(l, &lv) < 0)
		return -ENOENT;
	if (v && pss_version_parse(v, &mv) < 0)
		return -ENOENT;
	*level = lv;
	*minor = mv;
	return 0;
}

void
lint_result_clear(struct lint_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; i < res->n; i++) {
		free(res->f[i].check);
		free(res->f[i].message);
	}
	free(res->f);
	memset(res, 0, sizeof(*res));
}
