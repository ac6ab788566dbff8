/*
 * The container's PID 1 attacking every process a join puts into it
 * (CVE-2019-5736 / CVE-2016-9962 class), used by tests/integration/joinsec.rs.
 *
 *   ptrace_join RESULTS NSINIT_DEV NSINIT_INO
 *
 * It watches /proc without pause and attacks every new process the moment it
 * appears: a joining nsinit is in the container from its fork into the PID
 * namespace until its execve, and nothing the container owns can hold it
 * there (its /etc/passwd is opened non-blocking and must be a regular file),
 * so the attacker races it. Each new process it sees is attacked, and
 * attacked again once it runs another program than nsinit:
 *   - open("/proc/PID/exe", O_PATH): the host nsinit binary when the inode is
 *     NSINIT_DEV:NSINIT_INO (a handle to overwrite it later),
 *   - readlink of every /proc/PID/fd/N (the caller's host descriptors),
 *   - PTRACE_SEIZE (then interrupt + detach, so the victim goes on).
 * One line per victim is appended to RESULTS:
 *   pid=N comm=C exe=OK-NSINIT|OK-OTHER|<errno> fd=OK:<links>|<errno> seize=OK|<errno>
 * /ready appears once it watches.
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

static void read_comm(int pid, char *comm, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/comm", pid);
	snprintf(comm, size, "?");
	int c = open(path, O_RDONLY);
	if (c >= 0) {
		ssize_t n = read(c, comm, size - 1);
		comm[n > 0 ? n - 1 : 0] = 0;
		close(c);
	}
}

static void attack(int pid, unsigned long dev, unsigned long ino)
{
	char path[64], comm[64], after[32], exe[32], fds[1024] = "", line[1400];
	read_comm(pid, comm, sizeof comm);

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

	/* A victim that exec'd meanwhile is named by both names: it was
	 * not the same program for the whole attack. */
	read_comm(pid, after, sizeof after);
	if (strcmp(comm, after) != 0) {
		size_t used = strlen(comm);
		snprintf(comm + used, sizeof comm - used, ">%s", after);
	}
	snprintf(line, sizeof line, "pid=%d comm=%s exe=%s fd=%s seize=%s\n", pid, comm, exe, fdres, seize);
	record(line);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	results = argv[1];
	unsigned long dev = strtoul(argv[2], NULL, 10), ino = strtoul(argv[3], NULL, 10);
	/* PIDs of a new PID namespace only grow in a test this short. */
	static unsigned char seen[1 << 16];
	seen[getpid()] = 2;
	touch("/ready");
	for (;;) {
		DIR *d = opendir("/proc");
		if (!d)
			return 6;
		struct dirent *de;
		while ((de = readdir(d))) {
			int pid = atoi(de->d_name);
			if (pid <= 0 || pid >= (int)sizeof seen || seen[pid] == 2)
				continue;
			/* Once as the joining nsinit, once more as what it exec'd. */
			char comm[32];
			read_comm(pid, comm, sizeof comm);
			int joining = strcmp(comm, "nsinit") == 0;
			if (seen[pid] == 1 && joining)
				continue;
			seen[pid] = joining ? 1 : 2;
			attack(pid, dev, ino);
		}
		closedir(d);
	}
}
