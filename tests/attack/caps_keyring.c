/* Keyring attacker and host helper for tests/integration/caps.rs (keyctl(1)
 * is not installed; this calls add_key(2)/keyctl(2) directly).
 *
 * caps_keyring host CMD ARGS...
 *     On the host: join a fresh anonymous session keyring (so nothing of the
 *     real admin's is touched), add a "user" key "admin-secret" to it, print
 *     "host ring=R key=K", then exec CMD (nsinit) with every "@KEY@" argument
 *     replaced by K, so the container starts with this session keyring.
 *
 * caps_keyring probe K
 *     In the container, as the attacker: print "ring=R" (our session keyring),
 *     "hostkey=" (reading the admin's key K by serial), "perm=" (our keyring's
 *     permission mask), then "neighbour=": a forked process in a new session
 *     keyring of its own (as a second container running as the same uid
 *     would be) describes our keyring by its serial (what /proc/keys shows
 *     it). Each result is "ok:<data>" or the error text.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_DESCRIBE 6
#define KEYCTL_LINK 8
#define KEYCTL_READ 11

static long keyctl(int op, long a, long b, long c)
{
	return syscall(SYS_keyctl, op, a, b, c, 0);
}

static long add_user_key(const char *desc, const char *data)
{
	return syscall(SYS_add_key, "user", desc, data, strlen(data),
		       KEY_SPEC_SESSION_KEYRING);
}

/* "ok:<data>" or the error text of reading key k. */
static void print_read(const char *label, long k)
{
	char buf[128] = {0};
	long n = keyctl(KEYCTL_READ, k, (long)buf, sizeof(buf) - 1);

	if (n < 0)
		printf("%s=%s\n", label, strerror(errno));
	else
		printf("%s=ok:%.*s\n", label, (int)(n < 127 ? n : 127), buf);
}

static int host(int argc, char **argv)
{
	if (keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0) < 0) {
		perror("keyctl join");
		return 2;
	}
	long ring = keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0);
	long key = add_user_key("nsinit-test", "admin-secret");
	if (ring < 0 || key < 0) {
		perror("keyring setup");
		return 2;
	}
	printf("host ring=%ld key=%ld\n", ring, key);
	fflush(stdout);
	char serial[32];
	snprintf(serial, sizeof(serial), "%ld", key);
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "@KEY@") == 0)
			argv[i] = serial;
	execv(argv[2], argv + 2);
	perror("execv");
	return 2;
}

static int probe(long hostkey)
{
	long ring = keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0);
	char desc[256] = {0};

	printf("ring=%ld\n", ring);
	print_read("hostkey", hostkey);
	if (keyctl(KEYCTL_DESCRIBE, ring, (long)desc, sizeof(desc) - 1) < 0)
		printf("perm=%s\n", strerror(errno));
	else /* type;uid;gid;perm;description */
		printf("perm=%s\n", strtok(strchr(strchr(strchr(desc, ';') + 1, ';') + 1, ';') + 1, ";"));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0) < 0) {
			printf("neighbour=join: %s\n", strerror(errno));
			exit(0);
		}
		memset(desc, 0, sizeof(desc));
		if (keyctl(KEYCTL_DESCRIBE, ring, (long)desc, sizeof(desc) - 1) < 0)
			printf("neighbour=%s\n", strerror(errno));
		else
			printf("neighbour=ok:%s\n", desc);
		exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "host") == 0)
		return host(argc, argv);
	if (argc == 3 && strcmp(argv[1], "probe") == 0)
		return probe(strtol(argv[2], NULL, 10));
	fprintf(stderr, "usage: caps_keyring host CMD ARGS... | probe KEY\n");
	return 2;
}
