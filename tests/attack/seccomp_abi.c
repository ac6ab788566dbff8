/* A container process trying to get past a seccomp filter through another
 * system-call ABI of x86_64: i386 (`int $0x80`, from this 64-bit binary) or
 * x32 (number | 0x40000000). `seccomp_abi ABI` calls getpid (a control) and
 * then unshare(CLONE_NEWUSER) through ABI and prints both raw results
 * (negative errno on failure). ABI "i386-hi" passes the flags with garbage in
 * the upper half of rbx, which the i386 system call ignores. */
#include <stdio.h>
#include <string.h>

#define CLONE_NEWUSER 0x10000000L
#define X32 0x40000000L

static long sys64(long nr, long a0) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a0) : "rcx", "r11", "memory");
    return r;
}

static long sys32(long nr, long a0) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a0) : "memory");
    return r;
}

int main(int argc, char **argv) {
    const char *abi = argc > 1 ? argv[1] : "native";
    long pid, r;
    if (!strcmp(abi, "i386") || !strcmp(abi, "i386-hi")) {
        pid = sys32(20, 0);
        long flags = CLONE_NEWUSER | (!strcmp(abi, "i386-hi") ? 1L << 32 : 0);
        r = sys32(310, flags);
    } else if (!strcmp(abi, "x32")) {
        pid = sys64(X32 | 39, 0);
        r = sys64(X32 | 272, CLONE_NEWUSER);
    } else {
        pid = sys64(39, 0);
        r = sys64(272, CLONE_NEWUSER);
    }
    printf("getpid=%ld unshare=%ld\n", pid, r);
    return 0;
}
