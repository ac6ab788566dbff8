/* Attacker (tests/integration/caps.rs): inside a container, try to become
 * root with setresuid(0, 0, 0), as a setuid-root or capability-aware binary
 * in an image would, then report the ids it ended up with (CVE-2022-29162:
 * with ambient CAP_SETUID a non-root user got uid 0 this way).
 * Prints: "setresuid=<ok|error text> uid=R euid=E suid=S" */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	int r = setresuid(0, 0, 0);
	const char *how = r == 0 ? "ok" : strerror(errno);
	uid_t ru = -1, eu = -1, su = -1;

	getresuid(&ru, &eu, &su);
	printf("setresuid=%s uid=%u euid=%u suid=%u\n", how, ru, eu, su);
	return 0;
}
