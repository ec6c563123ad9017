/* agentctl — the CLI entry point (placeholder until the foundation lands). */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("agentctl %s\n", AGENTD_VERSION);
		return 0;
	}
	fprintf(stderr, "agentctl: not implemented yet\n");
	return 1;
}
