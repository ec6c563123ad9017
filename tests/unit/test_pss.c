/* Unit tests for pss: every fixture of ../shared/fixtures/pss at its own level
 * and version, plus targeted rules, messages and the workload helper. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fixtures.h"
#include "pss.h"
#include "yamljson.h"

#define UNUSED __attribute__((unused))

static cJSON *
load_yaml(const char *text, const char *name, struct yamljson **yout)
{
	struct yamljson *y = NULL;
	char *err = NULL;

	if (yamljson_parse(text, strlen(text), name, &y, &err) != 0)
		fail_msg("%s", err ? err : "parse failed");
	assert_true(yamljson_count(y) >= 1);
	*yout = y;
	return yamljson_doc(y, 0);
}

static void
eval_text(const char *text, enum pss_level level, unsigned minor, struct pss_result *res)
{
	struct yamljson *y;
	cJSON *pod = load_yaml(text, "inline.yaml", &y);
	const cJSON *meta, *spec;

	assert_int_equal(pss_pod_template(pod, &meta, &spec), 0);
	assert_int_equal(pss_evaluate(meta, spec, level, minor, res), 0);
	yamljson_free(y);
}

static const struct pss_violation *
find_check(const struct pss_result *r, const char *check)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].check, check) == 0)
			return &r->v[i];
	return NULL;
}

/* ---- every fixture ---- */

struct manifest_row {
	char path[256];
	char check[64];
	int seen;
};

static struct manifest_row *
load_manifest(const char *dir, size_t *n)
{
	char path[4200];
	char *text, *line, *save = NULL;
	struct manifest_row *rows = NULL;
	size_t cnt = 0;

	snprintf(path, sizeof(path), "%s/pss/MANIFEST.tsv", dir);
	text = fixtures_read(path, NULL);
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7] = { 0 }, *p = line;
		int i;

		for (i = 0; i < 7 && p; i++) {
			f[i] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
		}
		if (!f[4] || strcmp(f[0], "level") == 0)
			continue;
		rows = realloc(rows, (cnt + 1) * sizeof(*rows));
		assert_non_null(rows);
		snprintf(rows[cnt].path, sizeof(rows[cnt].path), "%s", f[3]);
		snprintf(rows[cnt].check, sizeof(rows[cnt].check), "%s", f[4]);
		rows[cnt].seen = 0;
		cnt++;
	}
	free(text);
	*n = cnt;
	return rows;
}

/* At restricted, some baseline checks are replaced by a stricter form
 * (pod-security-admission OverrideCheckIDs): a fail file generated for the
 * baseline check is then rejected by its replacement. */
static bool
named_or_replacement(const struct pss_result *r, const char *check, enum pss_level level, unsigned minor)
{
	static const struct {
		const char *base, *repl;
		unsigned since;
	} repl[] = {
		{ "seccompProfile_baseline", "seccompProfile_restricted", 19 },
		{ "capabilities_baseline", "capabilities_restricted", 22 },
		{ "procMount", "procMount_restricted", 35 },
	};
	size_t i;

	if (find_check(r, check))
		return true;
	for (i = 0; i < sizeof(repl) / sizeof(repl[0]); i++)
		if (level == PSS_RESTRICTED && minor >= repl[i].since && strcmp(check, repl[i].base) == 0)
			return find_check(r, repl[i].repl) != NULL;
	return false;
}

static void
test_fixtures(void **state UNUSED)
{
	static const char *const levels[] = { "baseline", "restricted" };
	char dir[1024], path[4096], rel[1400];
	struct manifest_row *rows;
	size_t nrows, li, i, files = 0, bad = 0;

	if (fixtures_dir(dir, sizeof(dir)) != 0)
		fail_msg("shared/fixtures not found (set AGENTD_FIXTURES)");
	rows = load_manifest(dir, &nrows);
	assert_true(nrows > 100);
	for (li = 0; li < 2; li++) {
		DIR *vd;
		struct dirent *ve;

		snprintf(path, sizeof(path), "%s/pss/%s", dir, levels[li]);
		vd = opendir(path);
		assert_non_null(vd);
		while ((ve = readdir(vd))) {
			static const char *const expects[] = { "pass", "fail" };
			enum pss_level level;
			unsigned minor;
			size_t ei;

			if (ve->d_name[0] == '.')
				continue;
			assert_int_equal(pss_level_parse(levels[li], &level), 0);
			if (pss_version_parse(ve->d_name, &minor) != 0)
				fail_msg("unexpected version folder %s", ve->d_name);
			for (ei = 0; ei < 2; ei++) {
				DIR *fd;
				struct dirent *fe;

				snprintf(path, sizeof(path), "%s/pss/%s/%s/%s", dir, levels[li], ve->d_name, expects[ei]);
				fd = opendir(path);
				if (!fd)
					continue;
				while ((fe = readdir(fd))) {
					struct manifest_row *row = NULL;
					struct pss_result res;
					struct yamljson *y;
					const cJSON *meta, *spec;
					char *text;
					bool ok;

					if (!strstr(fe->d_name, ".yaml"))
						continue;
					snprintf(rel, sizeof(rel), "%s/%s/%s/%s", levels[li], ve->d_name, expects[ei],
						 fe->d_name);
					for (i = 0; i < nrows; i++)
						if (strcmp(rows[i].path, rel) == 0)
							row = &rows[i];
					if (!row)
						fail_msg("%s is not in MANIFEST.tsv", rel);
					row->seen++;
					snprintf(path, sizeof(path), "%s/pss/%s", dir, rel);
					text = fixtures_read(path, NULL);
					assert_non_null(text);
					load_yaml(text, rel, &y);
					assert_int_equal(pss_pod_template(yamljson_doc(y, 0), &meta, &spec), 0);
					assert_int_equal(pss_evaluate(meta, spec, level, minor, &res), 0);
					if (ei == 0)
						ok = res.n == 0;
					else
						ok = res.n > 0 && (strcmp(row->check, "(base)") == 0 ||
								   named_or_replacement(&res, row->check, level, minor));
					if (!ok) {
						bad++;
						print_message("MISMATCH %s (check %s): %zu violations\n", rel, row->check,
							      res.n);
						for (i = 0; i < res.n; i++)
							print_message("    %s: %s (%s)\n", res.v[i].check, res.v[i].reason,
								      res.v[i].detail);
					}
					files++;
					pss_result_clear(&res);
					yamljson_free(y);
					free(text);
				}
				closedir(fd);
			}
		}
		closedir(vd);
	}
	for (i = 0; i < nrows; i++)
		if (rows[i].seen != 1)
			fail_msg("MANIFEST row %s not found on disk", rows[i].path);
	print_message("pss fixtures: %zu files, %zu mismatches\n", files, bad);
	assert_int_equal(files, nrows);
	assert_int_equal(bad, 0);
	free(rows);
}

/* ---- targeted rules ---- */

static const char restricted_ok[] =
	"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
	"  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n"
	"  containers:\n  - name: app\n    image: x\n"
	"    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";

static void
test_restricted_clean_and_privileged(void **state UNUSED)
{
	struct pss_result r;

	eval_text(restricted_ok, PSS_RESTRICTED, PSS_VERSION_LATEST, &r);
	assert_int_equal(r.n, 0);
	pss_result_clear(&r);
	eval_text("kind: Pod\nspec:\n  hostNetwork: true\n  containers: [{name: a, securityContext: {privileged: true}}]\n",
		  PSS_PRIVILEGED, PSS_VERSION_LATEST, &r);
	assert_int_equal(r.n, 0);
	pss_result_clear(&r);
}

static void
test_messages(void **state UNUSED)
{
	struct pss_result r;
	const struct pss_violation *v;

	eval_text("kind: Pod\nspec:\n  hostNetwork: true\n  hostPID: true\n"
		  "  containers:\n  - name: a\n    securityContext: {privileged: true, capabilities: {add: [SYS_ADMIN]}}\n"
		  "    ports: [{containerPort: 80, hostPort: 8080}]\n"
		  "  ephemeralContainers:\n  - name: dbg\n    securityContext: {runAsNonRoot: false}\n",
		  PSS_RESTRICTED, PSS_VERSION_LATEST, &r);
	v = find_check(&r, "hostNamespaces");
	assert_non_null(v);
	assert_string_equal(v->reason, "host namespaces");
	assert_string_equal(v->detail, "hostNetwork=true, hostPID=true");
	v = find_check(&r, "privileged");
	assert_non_null(v);
	assert_string_equal(v->detail, "container \"a\" must not set securityContext.privileged=true");
	v = find_check(&r, "hostPorts");
	assert_non_null(v);
	assert_string_equal(v->detail, "container \"a\" uses hostPort 8080");
	v = find_check(&r, "capabilities_restricted");
	assert_non_null(v);
	assert_string_equal(v->reason, "unrestricted capabilities");
	assert_string_equal(v->detail, "containers \"a\", \"dbg\" must set securityContext.capabilities.drop=[\"ALL\"]; "
				       "container \"a\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add");
	v = find_check(&r, "runAsNonRoot");
	assert_non_null(v);
	assert_string_equal(v->detail, "container \"dbg\" must not set securityContext.runAsNonRoot=false");
	v = find_check(&r, "seccompProfile_restricted");
	assert_non_null(v);
	assert_string_equal(v->detail, "pod or containers \"a\", \"dbg\" must set securityContext.seccompProfile.type "
				       "to \"RuntimeDefault\" or \"Localhost\"");
	assert_null(find_check(&r, "capabilities_baseline"));
	pss_result_clear(&r);
}

static void
test_versions(void **state UNUSED)
{
	struct pss_result r;
	unsigned minor;

	/* runAsUser=0 is forbidden from 1.23 only, and allowed for user-namespaced pods from 1.35. */
	const char *uid0 = "kind: Pod\nspec:\n  securityContext: {runAsNonRoot: true, runAsUser: 0}\n"
			   "  containers: [{name: a}]\n";
	eval_text(uid0, PSS_RESTRICTED, 22, &r);
	assert_null(find_check(&r, "runAsUser"));
	pss_result_clear(&r);
	eval_text(uid0, PSS_RESTRICTED, 23, &r);
	assert_non_null(find_check(&r, "runAsUser"));
	pss_result_clear(&r);
	eval_text("kind: Pod\nspec:\n  hostUsers: false\n  securityContext: {runAsUser: 0}\n"
		  "  containers: [{name: a}]\n", PSS_RESTRICTED, 35, &r);
	assert_null(find_check(&r, "runAsUser"));
	assert_null(find_check(&r, "runAsNonRoot"));
	pss_result_clear(&r);

	/* sysctls allow-list grows. */
	const char *sysctl = "kind: Pod\nspec:\n  securityContext: {sysctls: [{name: net.ipv4.tcp_notsent_lowat, value: '1'}]}\n"
			     "  containers: [{name: a}]\n";
	eval_text(sysctl, PSS_BASELINE, 36, &r);
	assert_string_equal(find_check(&r, "sysctls")->detail, "net.ipv4.tcp_notsent_lowat");
	pss_result_clear(&r);
	eval_text(sysctl, PSS_BASELINE, 37, &r);
	assert_int_equal(r.n, 0);
	pss_result_clear(&r);

	/* Windows pods skip three restricted checks from 1.25. */
	const char *win = "kind: Pod\nspec:\n  os: {name: windows}\n  securityContext: {runAsNonRoot: true}\n"
			  "  containers: [{name: a}]\n";
	eval_text(win, PSS_RESTRICTED, 25, &r);
	assert_int_equal(r.n, 0);
	pss_result_clear(&r);
	eval_text(win, PSS_RESTRICTED, 24, &r);
	assert_non_null(find_check(&r, "allowPrivilegeEscalation"));
	pss_result_clear(&r);

	assert_int_equal(pss_version_parse("latest", &minor), 0);
	assert_int_equal(minor, PSS_VERSION_LATEST);
	assert_int_equal(pss_version_parse("v1.99", &minor), 0);
	assert_int_equal(minor, PSS_VERSION_LATEST);
	assert_int_equal(pss_version_parse("v1.8", &minor), 0);
	assert_int_equal(minor, 8);
	assert_int_equal(pss_version_parse("1.8", &minor), -EINVAL);
	assert_int_equal(pss_version_parse("v1.", &minor), -EINVAL);
	assert_int_equal(pss_version_parse("v1.08", &minor), -EINVAL);
	assert_int_equal(pss_version_parse("v2.0", &minor), -EINVAL);
}

static void
test_workloads(void **state UNUSED)
{
	static const char *const docs[] = {
		"kind: Deployment\nspec:\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: x, securityContext: {privileged: true}}]}\n",
		"kind: StatefulSet\nspec:\n  template:\n    spec: {containers: [{name: x, securityContext: {privileged: true}}]}\n",
		"kind: Job\nspec:\n  template:\n    spec: {containers: [{name: x, securityContext: {privileged: true}}]}\n",
		"kind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {containers: [{name: x, securityContext: {privileged: true}}]}\n",
		"kind: DaemonSet\nspec:\n  template:\n    spec: {containers: [{name: x, securityContext: {privileged: true}}]}\n",
	};
	struct pss_result r;
	struct yamljson *y;
	const cJSON *meta, *spec;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		eval_text(docs[i], PSS_BASELINE, PSS_VERSION_LATEST, &r);
		assert_non_null(find_check(&r, "privileged"));
		pss_result_clear(&r);
	}
	load_yaml("kind: ConfigMap\ndata: {}\n", "cm.yaml", &y);
	assert_int_equal(pss_pod_template(yamljson_doc(y, 0), &meta, &spec), -ENOENT);
	yamljson_free(y);
	load_yaml("kind: Deployment\nspec: {}\n", "d.yaml", &y);
	assert_int_equal(pss_pod_template(yamljson_doc(y, 0), &meta, &spec), -ENOENT);
	yamljson_free(y);
}

static void
test_seccomp_annotations_v1_0(void **state UNUSED)
{
	struct pss_result r;

	eval_text("kind: Pod\nmetadata:\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: unconfined\n"
		  "spec: {containers: [{name: a}]}\n", PSS_BASELINE, 0, &r);
	assert_string_equal(find_check(&r, "seccompProfile_baseline")->detail,
			    "forbidden annotation seccomp.security.alpha.kubernetes.io/pod=\"unconfined\"");
	pss_result_clear(&r);
	/* From 1.19 the annotation is no longer read, the field is. */
	eval_text("kind: Pod\nmetadata:\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: unconfined\n"
		  "spec:\n  securityContext: {seccompProfile: {type: Unconfined}}\n  containers: [{name: a}]\n",
		  PSS_BASELINE, 19, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].detail, "pod must not set securityContext.seccompProfile.type to \"Unconfined\"");
	pss_result_clear(&r);
}

static void
test_volumes_and_selinux(void **state UNUSED)
{
	struct pss_result r;

	eval_text("kind: Pod\nspec:\n  containers: [{name: a, securityContext: {seLinuxOptions: {type: spc_t, user: u}}}]\n"
		  "  volumes:\n  - {name: h, hostPath: {path: /}}\n  - {name: nf, nfs: {server: s, path: /}}\n"
		  "  - {name: e, emptyDir: {}}\n  - {name: implicit}\n",
		  PSS_RESTRICTED, PSS_VERSION_LATEST, &r);
	assert_string_equal(find_check(&r, "hostPathVolumes")->detail, "volume \"h\"");
	assert_string_equal(find_check(&r, "restrictedVolumes")->detail,
			    "volumes \"h\", \"nf\" use restricted volume types \"hostPath\", \"nfs\"");
	assert_string_equal(find_check(&r, "seLinuxOptions")->detail,
			    "container \"a\" set forbidden securityContext.seLinuxOptions: type \"spc_t\"; user \"u\"");
	pss_result_clear(&r);
}

static void
test_clear_zeroed(void **state UNUSED)
{
	struct pss_result r = { NULL, 0 };

	pss_result_clear(&r);
	pss_result_clear(NULL);
	assert_null(r.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_restricted_clean_and_privileged),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_workloads),
		cmocka_unit_test(test_seccomp_annotations_v1_0),
		cmocka_unit_test(test_volumes_and_selinux),
		cmocka_unit_test(test_clear_zeroed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
