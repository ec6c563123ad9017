/* agentd — the daemon entry point (placeholder until the foundation lands). */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("agentd %s\n", AGENTD_VERSION);
		return 0;
	}
	fprintf(stderr, "agentd: not implemented yet\n");
	return 1;
}
