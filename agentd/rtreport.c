/* rtreport.c — the reset test's three metrics and its table (pure). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpath.h"
#include "rtreport.h"
#include "strbuf.h"

/* A string member, "" when missing: every detail below is printable as it is. */
static const char *
str(const cJSON *o, const char *name)
{
	const char *s = jpath_str(o, name);
	return s ? s : "";
}

static const cJSON *
by_name(const cJSON *arr, const char *key, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) if (strcmp(str(e, key), name) == 0) return e;
	return NULL;
}

static bool
metric(cJSON *metrics, const char *name, const char *description, bool ok, const char *detail)
{
	cJSON *m = cJSON_CreateObject();
	if (!m || !cJSON_AddItemToArray(metrics, m))
		return cJSON_Delete(m), false;
	return cJSON_AddStringToObject(m, "name", name) && cJSON_AddStringToObject(m, "description", description) &&
	       cJSON_AddBoolToObject(m, "ok", ok) && cJSON_AddStringToObject(m, "detail", detail);
}

/* (1) reset and bootstrap work and both runs succeed. */
static bool
metric_runs(cJSON *metrics, const cJSON *phases, const cJSON *runs)
{
	static const char *const tasks[] = RTREPORT_TASKS;
	static const char *const needed[] = { "teardown", "bootstrap" };
	char why[700] = "";

	for (size_t i = 0; i < 2 && !why[0]; i++) {
		const cJSON *p = by_name(phases, "name", needed[i]);
		if (!p)
			snprintf(why, sizeof why, "%s: not reached", needed[i]);
		else if (!cJSON_IsTrue(jpath_get(p, "ok")))
			snprintf(why, sizeof why, "%s failed: %s", needed[i], str(p, "detail"));
	}
	for (size_t i = 0; i < RTREPORT_NTASKS && !why[0]; i++) {
		const cJSON *r = by_name(runs, "task", tasks[i]);
		if (!r)
			snprintf(why, sizeof why, "run %s: not reached", tasks[i]);
		else if (!cJSON_IsTrue(jpath_get(r, "ok")))
			snprintf(why, sizeof why, "run %s failed: %s", tasks[i], str(r, "reason"));
	}
	return metric(metrics, "reset-and-runs", "reset and bootstrap work and both runs succeed", !why[0],
		      why[0] ? why : "teardown, bootstrap, journalist and publisher runs all succeeded");
}

/* (2) zero plain Secrets for agent workloads. */
static bool
metric_secrets(cJSON *metrics, const cJSON *checks, const cJSON *runs)
{
	const cJSON *c = by_name(checks, "name", "secrets"), *r, *f;
	char why[700] = "";
	unsigned files = 0;

	if (!c)
		snprintf(why, sizeof why, "the secrets check has not run");
	else if (!cJSON_IsTrue(jpath_get(c, "ok")))
		snprintf(why, sizeof why, "secrets check: %s", str(c, "message"));
	cJSON_ArrayForEach(r, runs) {
		cJSON_ArrayForEach(f, jpath_get(r, "files")) {
			if (why[0])
				break;
			if (!cJSON_IsTrue(jpath_get(f, "arrived")))
				snprintf(why, sizeof why, "run %s: secret file %s did not arrive from Vault", str(r, "task"),
					 str(f, "file"));
			files++;
		}
	}
	if (!why[0] && files == 0)
		snprintf(why, sizeof why, "no run showed a secret file from Vault");
	char ok[800];
	snprintf(ok, sizeof ok, "%s; %u secret files arrived from Vault in the runs", c ? str(c, "message") : "",
		 files);
	return metric(metrics, "no-plain-secrets", "zero plain Kubernetes Secrets for agent workloads", !why[0],
		      why[0] ? why : ok);
}

/* (3) ai-agents enforces PSS restricted and every pod is admitted under it. */
static bool
metric_pss(cJSON *metrics, const cJSON *checks, const cJSON *runs)
{
	static const char *const tasks[] = RTREPORT_TASKS;
	static const char *const names[] = { "pss-labels", "pss-pods" };
	char why[700] = "";

	for (size_t i = 0; i < 2 && !why[0]; i++) {
		const cJSON *c = by_name(checks, "name", names[i]);
		if (!c)
			snprintf(why, sizeof why, "the %s check has not run", names[i]);
		else if (!cJSON_IsTrue(jpath_get(c, "ok")))
			snprintf(why, sizeof why, "%s check: %s", names[i], str(c, "message"));
	}
	for (size_t i = 0; i < RTREPORT_NTASKS && !why[0]; i++) {
		const cJSON *r = by_name(runs, "task", tasks[i]);
		if (!r)
			snprintf(why, sizeof why, "run %s: not reached, its pod never admitted", tasks[i]);
		else if (!cJSON_IsString(jpath_get(r, "pod")))
			snprintf(why, sizeof why, "run %s: its Job got no pod (%s)", tasks[i], str(r, "reason"));
	}
	return metric(metrics, "pss-restricted",
		      "ai-agents enforces Pod Security restricted and every pod is admitted under it", !why[0],
		      why[0] ? why : "labels enforce restricted, every pod conforms, both run pods were admitted");
}

cJSON *
rtreport_build(const cJSON *phases, const cJSON *checks, const cJSON *runs, const cJSON *teardown)
{
	cJSON *o = cJSON_CreateObject(), *metrics = cJSON_CreateArray(), *m;
	const cJSON *p;
	double total = 0;
	bool ok = true;

	if (!o || !metrics || !cJSON_AddItemToObject(o, "metrics", metrics)) {
		cJSON_Delete(metrics);
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_ArrayForEach(p, phases) {
		double s = cJSON_GetNumberValue(jpath_get(p, "seconds"));
		if (s == s)	/* not NaN: the field is there */
			total += s;
		ok = ok && cJSON_IsTrue(jpath_get(p, "ok"));
	}
	if (!cJSON_GetArraySize(phases))
		ok = false;
	if (!metric_runs(metrics, phases, runs) || !metric_secrets(metrics, checks, runs) ||
	    !metric_pss(metrics, checks, runs))
		goto oom;
	cJSON_ArrayForEach(m, metrics) ok = ok && cJSON_IsTrue(jpath_get(m, "ok"));
	if (!cJSON_AddBoolToObject(o, "ok", ok) || !cJSON_AddNumberToObject(o, "duration", (double)(long)(total * 10) / 10) ||
	    !cJSON_AddItemToObject(o, "phases", phases ? cJSON_Duplicate(phases, true) : cJSON_CreateArray()) ||
	    !cJSON_AddItemToObject(o, "runs", runs ? cJSON_Duplicate(runs, true) : cJSON_CreateArray()) ||
	    !cJSON_AddItemToObject(o, "checks", checks ? cJSON_Duplicate(checks, true) : cJSON_CreateArray()) ||
	    !cJSON_AddItemToObject(o, "teardown", teardown ? cJSON_Duplicate(teardown, true) : cJSON_CreateNull()))
		goto oom;
	return o;
oom:
	cJSON_Delete(o);
	return NULL;
}

char *
rtreport_table(const cJSON *report)
{
	struct strbuf b = { 0 };
	const cJSON *p, *m;
	int i = 0;

	strbuf_printf(&b, "reset test: %s (%.1f s)\n\n", cJSON_IsTrue(jpath_get(report, "ok")) ? "PASS" : "FAIL",
		      cJSON_GetNumberValue(jpath_get(report, "duration")));
	strbuf_printf(&b, "  %-16s %-6s %8s  %s\n", "phase", "result", "seconds", "detail");
	cJSON_ArrayForEach(p, jpath_get(report, "phases"))
		strbuf_printf(&b, "  %-16s %-6s %8.1f  %s\n", str(p, "name"), cJSON_IsTrue(jpath_get(p, "ok")) ? "ok" : "FAIL",
			      cJSON_GetNumberValue(jpath_get(p, "seconds")), str(p, "detail"));
	strbuf_printf(&b, "\n  %-3s %-76s %s\n", "", "success metric", "result");
	cJSON_ArrayForEach(m, jpath_get(report, "metrics")) {
		bool ok = cJSON_IsTrue(jpath_get(m, "ok"));
		strbuf_printf(&b, "  %-3d %-76s %s\n", ++i, str(m, "description"), ok ? "pass" : "FAIL");
		strbuf_printf(&b, "      %s\n", str(m, "detail"));
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
