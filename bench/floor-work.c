/*
 * floor+work: the kernel work of the bench's container start, and nothing
 * else. `make bench` builds it (gcc -static) and times it beside nsinit:
 * what a runtime does over this is its own cost (reading and checking the
 * config, the record, the checks made for safety), not the kernel's.
 *
 * It does, in nsinit's order, what sample_configs/minimal.json asks:
 * a cgroup in each hierarchy given (cpuset copied down, the device rules
 * given), clone with the five namespaces, the child moving itself into its
 * cgroups (a write of 0 to each `tasks`), the mounts (rootfs bind, /proc,
 * /dev with its six nodes and links, /dev/pts, /dev/shm, /dev/mqueue,
 * read-only /sys, /tmp), pivot_root, the hostname, `lo` up, the read-only
 * and masked paths, the bounding set and capabilities, exec; then the
 * parent waits and removes the cgroups. No config is read, nothing is
 * recorded, nothing is checked: any failure exits 99 with perror's line.
 *
 * usage: floor-work ROOTFS NAME CAPMASK DIR... -- RULE...
 *   DIR   each v1 hierarchy's parent cgroup directory (cgroup NAME is made in it)
 *   RULE  a devices.allow line, after a deny of everything
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_DIRS 32
#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static void die(const char *what)
{
	perror(what);
	exit(99);
}

static int open_in(const char *dir, const char *file, int flags)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	return open(path, flags | O_CLOEXEC);
}

static int exists_in(const char *dir, const char *file)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

/* Copy a cpuset file from the parent cgroup (a new cpuset is empty). */
static void copy_down(const char *from, const char *to, const char *file)
{
	char buf[256];
	int fd = open_in(from, file, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
	if (n < 0)
		die(file);
	close(fd);
	fd = open_in(to, file, O_WRONLY);
	if (fd < 0 || write(fd, buf, n) != n)
		die(file);
	close(fd);
}

static void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags,
			 const char *data)
{
	if (mount(src, dst, type, flags, data))
		die(dst);
}

static void child(const char *rootfs, unsigned long long caps, int *tasks, int ntasks)
{
	for (int i = 0; i < ntasks; i++)
		if (write(tasks[i], "0", 1) != 1)
			die("tasks");
	mount_or_die(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	mount_or_die(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
	if (chdir(rootfs))
		die(rootfs);
	mount_or_die("proc", "proc", "proc", NOSUID_NODEV_NOEXEC, NULL);
	mount_or_die("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	static const struct { const char *name; int major, minor; } nodes[] = {
		{"dev/null", 1, 3}, {"dev/zero", 1, 5}, {"dev/full", 1, 7},
		{"dev/tty", 5, 0},  {"dev/urandom", 1, 9}, {"dev/random", 1, 8},
	};
	for (unsigned i = 0; i < sizeof nodes / sizeof *nodes; i++)
		if (mknod(nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)))
			die(nodes[i].name);
	static const char *links[][2] = {
		{"pts/ptmx", "dev/ptmx"},       {"/proc/self/fd", "dev/fd"},
		{"/proc/self/fd/0", "dev/stdin"}, {"/proc/self/fd/1", "dev/stdout"},
		{"/proc/self/fd/2", "dev/stderr"},
	};
	for (unsigned i = 0; i < sizeof links / sizeof *links; i++)
		if (symlink(links[i][0], links[i][1]))
			die(links[i][1]);
	mkdir("dev/pts", 0755);
	mount_or_die("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620");
	mkdir("dev/shm", 0755);
	mount_or_die("shm", "dev/shm", "tmpfs", NOSUID_NODEV_NOEXEC, "mode=1777,size=65536k");
	mkdir("dev/mqueue", 0755);
	mount_or_die("mqueue", "dev/mqueue", "mqueue", NOSUID_NODEV_NOEXEC, NULL);
	mount_or_die("sysfs", "sys", "sysfs", MS_RDONLY | NOSUID_NODEV_NOEXEC, NULL);
	mount_or_die("tmpfs", "tmp", "tmpfs", NOSUID_NODEV_NOEXEC, NULL);
	if (syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) || chdir("/"))
		die("pivot_root");
	if (sethostname("nsinit", 6))
		die("sethostname");
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		die("lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("lo up");
	close(s);
	/* restrict_sys: the same lists as nsinit's; a path this kernel lacks is skipped. */
	static const char *readonly[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus",
					 "/proc/fs"};
	for (unsigned i = 0; i < sizeof readonly / sizeof *readonly; i++) {
		if (mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL))
			continue;
		mount_or_die(NULL, readonly[i], NULL,
			     MS_BIND | MS_REMOUNT | MS_RDONLY | NOSUID_NODEV_NOEXEC, NULL);
	}
	static const char *masked[] = {"/proc/kcore", "/proc/keys", "/proc/latency_stats",
				       "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
				       "/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware",
				       "/sys/devices/virtual/powercap"};
	for (unsigned i = 0; i < sizeof masked / sizeof *masked; i++) {
		struct stat st;
		if (lstat(masked[i], &st))
			continue;
		if (S_ISDIR(st.st_mode))
			mount(NULL, masked[i], "tmpfs", MS_RDONLY, "size=0");
		else
			mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
	}
	for (int cap = 0; cap < 64; cap++)
		if (!(caps >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno == EINVAL)
			break;
	struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {0};
	for (int i = 0; i < 2; i++)
		data[i].effective = data[i].permitted = (unsigned)(caps >> (32 * i));
	if (syscall(SYS_capset, &head, data))
		die("capset");
	char *argv[] = {"/bin/true", NULL};
	execv(argv[0], argv);
	die("exec /bin/true");
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: floor-work ROOTFS NAME CAPMASK DIR... -- RULE...\n");
		return 2;
	}
	const char *rootfs = argv[1], *name = argv[2];
	unsigned long long caps = strtoull(argv[3], NULL, 16);
	char dirs[MAX_DIRS][4096];
	const char *parents[MAX_DIRS];
	int ndirs = 0, arg = 4;
	for (; arg < argc && strcmp(argv[arg], "--") && ndirs < MAX_DIRS; arg++, ndirs++) {
		parents[ndirs] = argv[arg];
		snprintf(dirs[ndirs], sizeof dirs[ndirs], "%s/%s", argv[arg], name);
	}
	char **rules = argv + arg + (arg < argc);
	int nrules = argc - arg - (arg < argc);

	int tasks[MAX_DIRS];
	for (int i = 0; i < ndirs; i++) {
		if (mkdir(dirs[i], 0755))
			die(dirs[i]);
		if (exists_in(dirs[i], "cpuset.cpus")) {
			copy_down(parents[i], dirs[i], "cpuset.cpus");
			copy_down(parents[i], dirs[i], "cpuset.mems");
		}
		if (exists_in(dirs[i], "devices.allow")) {
			int fd = open_in(dirs[i], "devices.deny", O_WRONLY);
			if (fd < 0 || write(fd, "a", 1) != 1)
				die("devices.deny");
			close(fd);
			fd = open_in(dirs[i], "devices.allow", O_WRONLY);
			for (int r = 0; r < nrules; r++)
				if (fd < 0 || write(fd, rules[r], strlen(rules[r])) < 0)
					die(rules[r]);
			close(fd);
		}
	}
	for (int i = 0; i < ndirs; i++)
		if ((tasks[i] = open_in(dirs[i], "tasks", O_WRONLY)) < 0)
			die("tasks");
	long flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET;
	pid_t pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		die("clone");
	if (pid == 0)
		child(rootfs, caps, tasks, ndirs);
	for (int i = 0; i < ndirs; i++)
		close(tasks[i]);
	int status;
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	for (int i = ndirs - 1; i >= 0; i--)
		if (rmdir(dirs[i]))
			die(dirs[i]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
