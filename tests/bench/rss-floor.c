/* rss-floor — the peak RSS a process pays before doing any work of agentd's:
 * the libraries agentd links (bench.sh builds this with the same -l flags)
 * loaded and relocated, and libcurl's global init (OpenSSL's configuration,
 * providers and error strings).  Prints VmHWM in KiB. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

int
main(void)
{
	char line[256];
	FILE *f;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return 1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			fputs(line + 6, stdout);
	fclose(f);
	curl_global_cleanup();
	return 0;
}
