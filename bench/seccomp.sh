#!/bin/sh
# seccomp rows of make bench (issue 15), with the default profile
# (sample_configs/seccomp-default.json) for every runtime:
#  - per-syscall cost inside a container: a tight getppid loop and a mix
#    (getpid, read /dev/zero, write /dev/null, fstat, openat+close, mmap+munmap)
#    timed by a static C program in the container, for nsinit, crun, runc
#    with the profile and nsinit without a filter;
#  - filter build time: nsinit's compiler (NSINIT_DEBUG) vs libseccomp's
#    (seccomp_rule_add + seccomp_export_bpf, what runc and crun call), both
#    from the same profile;
#  - BPF instructions of the default profile: nsinit vs libseccomp's export.
# Results: target/bench/seccomp.json (and a table on stdout). Run from
# bench/run.sh inside its private mount namespace, or alone as root.
# Environment: NSINIT_BIN NSINIT_ROOTFS SECCOMP_LOOPS (2000000) SECCOMP_RUNS (5)
set -eu
cd "$(dirname "$0")/.."
exec python3 -B - "$@" <<'EOF'
import json, os, shutil, statistics, subprocess, sys

REPO = os.getcwd()
BIN = os.path.abspath(os.environ.get("NSINIT_BIN", "target/x86_64-unknown-linux-musl/release/nsinit"))
ROOTFS = os.path.abspath(os.environ.get("NSINIT_ROOTFS", "target/rootfs"))
OUT = os.path.join(REPO, "target/bench")
WORK = os.path.join(OUT, "seccomp")
STATE = "/run/nsinit-bench-seccomp"
LOOPS = int(os.environ.get("SECCOMP_LOOPS", "2000000"))
RUNS = int(os.environ.get("SECCOMP_RUNS", "5"))

LOOP_C = r'''
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}
int main(int argc, char **argv) {
    long n = atol(argv[2]);
    char buf[64];
    struct stat st;
    int z = open("/dev/zero", O_RDONLY), nul = open("/dev/null", O_WRONLY);
    double t = now();
    long calls = 0;
    if (!strcmp(argv[1], "getppid")) {
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
        calls = n;
    } else {
        n /= 8;
        for (long i = 0; i < n; i++) {
            syscall(SYS_getpid);
            if (read(z, buf, sizeof buf) < 0 || write(nul, buf, sizeof buf) < 0) return 1;
            fstat(z, &st);
            close(open("/etc/passwd", O_RDONLY));
            munmap(mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 4096);
        }
        calls = n * 8;
    }
    printf("%.2f\n", (now() - t) / calls);
    return 0;
}
'''

# libseccomp from a line-per-rule text the profile is turned into:
# "arch X", "default ACT ERRNO", "rule ACT ERRNO NAME NARGS (IDX OP A B)*".
LIBSECCOMP_C = r'''
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static unsigned act(const char *a, unsigned e) {
    if (!strcmp(a, "ALLOW")) return SCMP_ACT_ALLOW;
    if (!strcmp(a, "ERRNO")) return SCMP_ACT_ERRNO(e);
    if (!strcmp(a, "KILL_PROCESS")) return SCMP_ACT_KILL_PROCESS;
    if (!strcmp(a, "TRAP")) return SCMP_ACT_TRAP;
    if (!strcmp(a, "LOG")) return SCMP_ACT_LOG;
    return SCMP_ACT_KILL;
}
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
int main(int argc, char **argv) {
    static char lines[4096][512];
    int n = 0;
    FILE *f = fopen(argv[1], "r");
    while (n < 4096 && fgets(lines[n], sizeof lines[n], f)) n++;
    double best = 1e18;
    long insns = 0;
    for (int run = 0; run < atoi(argv[2]); run++) {
        double t = now();
        scmp_filter_ctx ctx = NULL;
        for (int i = 0; i < n; i++) {
            char kind[16], a[32], name[64];
            unsigned e;
            int off;
            sscanf(lines[i], "%15s", kind);
            if (!strcmp(kind, "default")) {
                sscanf(lines[i], "%*s %31s %u", a, &e);
                ctx = seccomp_init(act(a, e));
            } else if (!strcmp(kind, "arch")) {
                sscanf(lines[i], "%*s %31s", a);
                uint32_t arch = !strcmp(a, "X86") ? SCMP_ARCH_X86 : !strcmp(a, "X32") ? SCMP_ARCH_X32 : 0;
                if (arch) seccomp_arch_add(ctx, arch);
            } else {
                int na;
                sscanf(lines[i], "%*s %31s %u %63s %d%n", a, &e, name, &na, &off);
                struct scmp_arg_cmp c[6];
                char *p = lines[i] + off;
                for (int k = 0; k < na && k < 6; k++) {
                    unsigned idx, op;
                    unsigned long long x, y;
                    int m;
                    sscanf(p, "%u %u %llu %llu%n", &idx, &op, &x, &y, &m);
                    p += m;
                    c[k] = (struct scmp_arg_cmp){idx, op, x, y};
                }
                int nr = seccomp_syscall_resolve_name(name);
                if (nr != __NR_SCMP_ERROR) seccomp_rule_add_array(ctx, act(a, e), nr, na, c);
            }
        }
        FILE *out = tmpfile();
        seccomp_export_bpf(ctx, fileno(out));
        double dt = now() - t;
        if (dt < best) best = dt;
        insns = ftell(out) / 8;
        fclose(out);
        seccomp_release(ctx);
    }
    printf("%.1f %ld\n", best, insns);
    return 0;
}
'''

OPS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
       "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def log(msg):
    print(f"bench/seccomp: {msg}", file=sys.stderr, flush=True)


def gcc(src, out, *extra):
    path = os.path.join(WORK, os.path.basename(out) + ".c")
    with open(path, "w") as f:
        f.write(src)
    r = run(["gcc", "-O2", "-o", out, path, *extra])
    if r.returncode != 0:
        log(f"gcc {path}: {r.stderr.strip()}")
        return False
    return True


def libseccomp_spec(profile, path):
    act = lambda a: a.removeprefix("SCMP_ACT_")
    lines = [f"default {act(profile['defaultAction'])} {profile.get('defaultErrnoRet', 1)}"]
    lines += [f"arch {a.removeprefix('SCMP_ARCH_')}" for a in profile.get("architectures", [])]
    for r in profile.get("syscalls", []):
        args = " ".join(f"{c['index']} {OPS[c['op']]} {c.get('value', 0)} {c.get('valueTwo', 0)}"
                        for c in r.get("args", []))
        for n in r["names"]:
            lines.append(f"rule {act(r['action'])} {r.get('errnoRet', 1)} {n} {len(r.get('args', []))} {args}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def oci_config(args, profile):
    cfg = {
        "ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "args": args, "cwd": "/",
                    "env": ["PATH=/bin:/sbin:/usr/bin"], "noNewPrivileges": True,
                    "capabilities": {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")}},
        "root": {"path": os.path.join(WORK, "rootfs")},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]},
    }
    if profile is not None:
        cfg["linux"]["seccomp"] = profile
    return cfg


def nsinit_dir(name, profile):
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(REPO, "sample_configs/minimal.json")) as f:
        cfg = json.load(f)
    cfg["root_fs"] = os.path.join(WORK, "rootfs")
    cfg["no_new_privileges"] = True
    if profile is not None:
        cfg["seccomp"] = profile
    else:
        cfg.pop("seccomp", None)
    with open(os.path.join(d, "container.json"), "w") as f:
        json.dump(cfg, f)
    return d


def bundle(rt, profile):
    d = os.path.join(WORK, f"bundle-{rt}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(oci_config(["/loop", "getppid", "1"], profile), f)
    return d


def in_container(rt, dirs, mode):
    """ns per call, the median of RUNS runs."""
    vals = []
    for i in range(RUNS):
        if rt.startswith("nsinit"):
            cmd = [BIN, "--root", dirs[rt], "exec", "/loop", mode, str(LOOPS)]
        else:
            cfg_path = os.path.join(dirs[rt], "config.json")
            with open(cfg_path) as f:
                cfg = json.load(f)
            cfg["process"]["args"] = ["/loop", mode, str(LOOPS)]
            with open(cfg_path, "w") as f:
                json.dump(cfg, f)
            cmd = [rt, "--root", os.path.join(STATE, rt), "run", "-b", dirs[rt], f"sc{os.getpid()}-{i}"]
        r = run(cmd, stdin=subprocess.DEVNULL)
        try:
            vals.append(float(r.stdout.split()[-1]))
        except (IndexError, ValueError):
            log(f"{rt} {mode}: {r.stderr.strip()[-300:]}")
            return None
    return statistics.median(vals)


def main():
    if os.geteuid() != 0:
        log("needs root")
        return 1
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    with open(os.path.join(REPO, "sample_configs/seccomp-default.json")) as f:
        profile = json.load(f)["seccomp"]
    res = {"loops": LOOPS, "runs": RUNS}
    r = run(["cp", "-a", ROOTFS, os.path.join(WORK, "rootfs")])
    if r.returncode != 0 or not gcc(LOOP_C, os.path.join(WORK, "rootfs/loop"), "-static"):
        log("no rootfs copy or no static gcc: per-call rows skipped")
    else:
        dirs = {"nsinit": nsinit_dir("nsinit", profile), "nsinit-nofilter": nsinit_dir("plain", None)}
        for rt in ("crun", "runc"):
            if shutil.which(rt):
                dirs[rt] = bundle(rt, profile)
        for mode in ("getppid", "mix"):
            res[mode] = {rt: in_container(rt, dirs, mode) for rt in dirs}
    # Build time and size.
    d = nsinit_dir("compile", profile)
    times = []
    for _ in range(20):
        r = run([BIN, "--root", d, "config"], env=dict(os.environ, NSINIT_DEBUG="1"))
        line = [l for l in r.stderr.splitlines() if "compiled in" in l]
        if line:
            times.append(float(line[0].split("compiled in ")[1].split()[0]))
            res["nsinit_insns"] = int(line[0].split("seccomp: ")[1].split()[0])
    res["nsinit_build_us"] = min(times) if times else None
    res["nsinit_build_us_median"] = statistics.median(times) if times else None
    spec = os.path.join(WORK, "profile.txt")
    libseccomp_spec(profile, spec)
    helper = os.path.join(WORK, "libseccomp_build")
    if gcc(LIBSECCOMP_C, helper, "-lseccomp"):
        r = run([helper, spec, "20"])
        us, n = r.stdout.split()
        res["libseccomp_build_us"], res["libseccomp_insns"] = float(us), int(n)
    else:
        log("libseccomp-dev missing (apt-get install libseccomp-dev): libseccomp rows skipped")
    shutil.rmtree(os.path.join(WORK, "rootfs"), ignore_errors=True)
    with open(os.path.join(OUT, "seccomp.json"), "w") as f:
        json.dump(res, f, indent=1)
    # The table.
    print("\nseccomp, default profile (ns per system call, median of %d runs of %d calls)" % (RUNS, LOOPS))
    for mode in ("getppid", "mix"):
        row = res.get(mode) or {}
        base = row.get("nsinit")
        cells = []
        for rt, v in row.items():
            ratio = f" ({v / base:.2f}x nsinit)" if v and base and rt != "nsinit" else ""
            cells.append(f"{rt} {v if v is not None else 'n/a'}{ratio}")
        print(f"  {mode}: " + ", ".join(cells))
    nb, lb = res.get("nsinit_build_us"), res.get("libseccomp_build_us")
    ni, li = res.get("nsinit_insns"), res.get("libseccomp_insns")
    print(f"  filter build: nsinit {nb} us (best of 20, one compile per process), libseccomp {lb} us (best of 20)"
          + (f", ratio {lb / nb:.1f}x" if nb and lb else ""))
    print(f"  BPF instructions: nsinit {ni}, libseccomp {li}")
    return 0


sys.exit(main())
EOF
