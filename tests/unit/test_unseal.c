/* Unit tests for unseal.c: judging each sys/unseal answer, the verdict over
 * every pod and the operator's line, and the rate limit after wrong keys. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unseal.h"

static struct vault_seal
seal(bool sealed, int progress, int t)
{
	struct vault_seal s = { .initialized = true, .sealed = sealed, .progress = progress, .t = t, .n = 3 };
	return s;
}

static void
test_judge(void **state)
{
	struct vault_reply ok = { .err = 0, .status = 200, .message = "" };
	struct vault_reply bad = { .err = -EINVAL, .status = 400, .message = "vault: HTTP 400: Unseal failed, invalid key" };
	struct vault_reply gone = { .err = -EHOSTUNREACH, .transport = true, .status = 503,
				    .message = "pod proxy: HTTP 503: error trying to reach service" };
	struct vault_reply boom = { .err = -EIO, .status = 500, .message = "vault: HTTP 500" };
	struct vault_seal b0 = seal(true, 0, 2), b1 = seal(true, 1, 3), a;

	(void)state;
	a = seal(true, 1, 2);
	assert_int_equal(unseal_judge(&b0, &ok, &a, false), UNSEAL_PROGRESS);
	a = seal(false, 0, 2);
	assert_int_equal(unseal_judge(&b0, &ok, &a, false), UNSEAL_UNSEALED);
	/* progress back to 0 while still sealed: the set of keys was wrong */
	a = seal(true, 0, 3);
	assert_int_equal(unseal_judge(&b1, &ok, &a, false), UNSEAL_WRONG_KEY);
	/* Vault's own 400 when the threshold is reached with a bad share */
	assert_int_equal(unseal_judge(&b1, &bad, NULL, false), UNSEAL_WRONG_KEY);
	/* the same share twice does not move progress */
	a = seal(true, 1, 3);
	assert_int_equal(unseal_judge(&b1, &ok, &a, false), UNSEAL_DUPLICATE);
	assert_int_equal(unseal_judge(NULL, &ok, &a, false), UNSEAL_PROGRESS);
	assert_int_equal(unseal_judge(&b1, &gone, NULL, false), UNSEAL_UNREACHABLE);
	assert_int_equal(unseal_judge(&b1, &boom, NULL, false), UNSEAL_FAILED);
	/* resets */
	a = seal(true, 0, 3);
	assert_int_equal(unseal_judge(&b1, &ok, &a, true), UNSEAL_RESET);
	assert_int_equal(unseal_judge(&b1, &bad, NULL, true), UNSEAL_FAILED);
	a = seal(false, 0, 3);
	assert_int_equal(unseal_judge(&b1, &ok, &a, true), UNSEAL_NOT_SEALED);
	assert_int_equal(unseal_judge(&b1, &ok, NULL, false), UNSEAL_FAILED);
}

static struct unseal_pod
pod(const char *name, enum unseal_outcome o, int progress, int t, const char *msg)
{
	struct unseal_pod p = { .outcome = o, .progress = progress, .threshold = t };

	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.message, sizeof(p.message), "%s", msg);
	return p;
}

static void
test_summarize(void **state)
{
	struct unseal_pod pods[3];
	struct unseal_result r = { .n = 0, .pods = pods };
	char buf[512];

	(void)state;
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_UNREACHABLE);
	assert_string_equal(buf, "Vault unreachable: no Vault server pod found");

	pods[0] = pod("vault-0", UNSEAL_PROGRESS, 2, 3, "");
	r.n = 1;
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_PROGRESS);
	assert_string_equal(buf, "2/3 keys: Vault still sealed, run agentctl unseal again with the next key");

	pods[1] = pod("vault-1", UNSEAL_UNSEALED, 0, 3, "");
	r.n = 2;
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_PROGRESS);

	pods[0] = pod("vault-0", UNSEAL_UNSEALED, 0, 3, "");
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_UNSEALED);
	assert_string_equal(buf, "Vault unsealed");

	pods[2] = pod("vault-2", UNSEAL_WRONG_KEY, 0, 3, "vault: HTTP 400: Unseal failed, invalid key");
	r.n = 3;
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_WRONG_KEY);
	assert_string_equal(buf, "wrong key: vault-2 discarded the unseal attempt (progress back to 0/3): "
				 "vault: HTTP 400: Unseal failed, invalid key; start again with correct keys");

	pods[2] = pod("vault-2", UNSEAL_UNREACHABLE, 0, 0, "pod proxy: HTTP 503: error trying to reach service");
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_UNREACHABLE);
	assert_string_equal(buf, "Vault unreachable: vault-2: pod proxy: HTTP 503: error trying to reach service");

	r.n = 1;
	pods[0] = pod("vault-0", UNSEAL_NOT_SEALED, 0, 3, "");
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_NOT_SEALED);
	assert_string_equal(buf, "not sealed: Vault is already unsealed");
	assert_int_equal(unseal_summarize(&r, true, buf, sizeof(buf)), UNSEAL_NOT_SEALED);
	assert_string_equal(buf, "not sealed: nothing to reset");

	pods[0] = pod("vault-0", UNSEAL_RESET, 0, 3, "");
	assert_int_equal(unseal_summarize(&r, true, buf, sizeof(buf)), UNSEAL_RESET);
	assert_string_equal(buf, "unseal progress discarded: Vault still sealed, start again with the first key");

	pods[0] = pod("vault-0", UNSEAL_DUPLICATE, 1, 3, "");
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_DUPLICATE);
	assert_string_equal(buf, "1/3 keys: vault-0 already had this key; Vault still sealed, enter a different key");

	pods[0] = pod("vault-0", UNSEAL_NOT_INITIALIZED, 0, 0, "");
	assert_int_equal(unseal_summarize(&r, false, buf, sizeof(buf)), UNSEAL_NOT_INITIALIZED);
	assert_non_null(strstr(buf, "not initialised"));
}

static void
test_limit(void **state)
{
	struct unseal_limit l = { 0 };
	uint64_t t = 1000000000ULL;

	(void)state;
	assert_true(unseal_limit_wait(&l, t) == 0);
	unseal_limit_record(&l, t, UNSEAL_WRONG_KEY);
	assert_true(unseal_limit_wait(&l, t) == 1000000);
	assert_true(unseal_limit_wait(&l, t + 400000) == 600000);
	assert_true(unseal_limit_wait(&l, t + 1000000) == 0);
	unseal_limit_record(&l, t + 1000000, UNSEAL_WRONG_KEY);
	assert_true(unseal_limit_wait(&l, t + 1000000) == 2000000);
	/* unreachable neither punishes nor forgives */
	unseal_limit_record(&l, t + 3000000, UNSEAL_UNREACHABLE);
	assert_true(unseal_limit_wait(&l, t + 3000000) == 0);
	unseal_limit_record(&l, t + 3000000, UNSEAL_WRONG_KEY);
	assert_true(unseal_limit_wait(&l, t + 3000000) == 4000000);
	for (int i = 0; i < 20; i++)
		unseal_limit_record(&l, t, UNSEAL_WRONG_KEY);
	assert_true(unseal_limit_wait(&l, t) == UNSEAL_LIMIT_MAX_USEC);
	/* an accepted key forgives */
	unseal_limit_record(&l, t, UNSEAL_PROGRESS);
	assert_true(unseal_limit_wait(&l, t) == 0);
	unseal_limit_record(&l, t, UNSEAL_WRONG_KEY);
	assert_true(unseal_limit_wait(&l, t) == 1000000);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(unseal_outcome_name(UNSEAL_PROGRESS), "progress");
	assert_string_equal(unseal_outcome_name(UNSEAL_WRONG_KEY), "wrong-key");
	assert_string_equal(unseal_outcome_name(UNSEAL_FAILED), "failed");
	assert_string_equal(unseal_outcome_name((enum unseal_outcome)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_summarize),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
