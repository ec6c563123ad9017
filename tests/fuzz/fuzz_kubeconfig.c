/* libFuzzer: kubeconfig_parse must never crash, leak or accept without a server. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubeconfig *kc = NULL;
	char *err = NULL;
	int r = kubeconfig_parse((const char *)data, size, "fuzz.yaml", NULL, &kc, &err);
	if (r == 0) {
		if (!kc || !kc->server || err)
			abort();
		kubeconfig_free(kc);
	} else {
		if (kc)
			abort();
		free(err);
	}
	return 0;
}
