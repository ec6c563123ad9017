/* rss-floor — the peak RSS a process pays before doing any work of agentd's.
 * Prints two VmHWM figures in KiB: with agentd's libraries only loaded and
 * relocated (bench.sh builds this with the same -l flags; libcurl brings about
 * forty more), then after libcurl's global init (OpenSSL's configuration,
 * providers and error strings). */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static long
hwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			sscanf(line + 6, "%ld", &kib);
	fclose(f);
	return kib;
}

int
main(void)
{
	long loaded = hwm_kib();

	if (loaded < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	printf("%ld %ld\n", loaded, hwm_kib());
	curl_global_cleanup();
	return 0;
}
