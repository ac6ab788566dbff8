/* A seccomp notification listener, as a runtime-spec `listenerPath` agent:
 * `seccomp_listener SOCK OUT` binds the unix socket SOCK and, for each
 * connection, receives the container process state (JSON) with the filter's
 * notification descriptor (SCM_RIGHTS), writes the JSON to OUT.N (N = 0, 1,
 * ...; renamed into place when complete), and answers that filter's
 * notifications in a child process: mkdir and mkdirat "succeed" without doing
 * anything, every other call continues as the filter would have let it. */
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static void answer(int fd) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    for (;;) {
        /* Hang-up: every process under the filter has exited. */
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) _exit(1);
        if (p.revents & POLLHUP) _exit(0);
        if (!(p.revents & POLLIN)) continue;
        memset(&req, 0, sizeof req);
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
            if (errno == EINTR) continue;
            _exit(0); /* the filter's processes are gone */
        }
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        if (req.data.nr == SYS_mkdir || req.data.nr == SYS_mkdirat)
            resp.val = 0; /* a fake success: nothing is created */
        else
            resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 8)) {
        perror("listen");
        return 1;
    }
    for (int n = 0;; n++) {
        int c = accept(s, NULL, NULL);
        if (c < 0) return 1;
        static char buf[65536];
        char ctl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {buf, sizeof buf - 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                           .msg_controllen = sizeof ctl};
        ssize_t len = recvmsg(c, &m, 0);
        int fd = -1;
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        if (h && h->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(h), sizeof fd);
        /* The rest of the JSON, until the runtime closes. */
        ssize_t r;
        while (len >= 0 && (r = read(c, buf + len, sizeof buf - 1 - len)) > 0) len += r;
        close(c);
        char tmp[4096], out[4096];
        snprintf(tmp, sizeof tmp, "%s.%d.tmp", argv[2], n);
        snprintf(out, sizeof out, "%s.%d", argv[2], n);
        FILE *f = fopen(tmp, "w");
        if (!f) return 1;
        fprintf(f, "%s\n%.*s", fd >= 0 ? "fd" : "nofd", (int)(len > 0 ? len : 0), buf);
        fclose(f);
        rename(tmp, out);
        if (fd >= 0 && fork() == 0) {
            close(s);
            answer(fd);
        }
        if (fd >= 0) close(fd);
    }
}
