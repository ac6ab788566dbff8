#!/usr/bin/env python3
"""nsinit benchmark driver (stdlib only); bench/run.sh starts it as root inside
a private mount namespace with the cgroup2 hierarchy hidden. See bench/README.md.

Measures nsinit against runc, crun and the kernel floor (unshare) on one
busybox rootfs with the same five namespaces, and writes
target/bench/results.json and target/bench/table.md.
"""

import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

import report

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(
    os.environ.get("NSINIT_BIN", os.path.join(REPO, "target/x86_64-unknown-linux-musl/release/nsinit"))
)
ROOTFS = os.path.abspath(os.environ.get("NSINIT_ROOTFS", os.path.join(REPO, "target/rootfs")))
OUT = os.path.join(REPO, "target/bench")
WORK = os.path.join(OUT, "work")
STATE = "/run/nsinit-bench"
RAW = os.path.join(OUT, "raw")
MANY = os.path.join(REPO, "bench/many.sh")

RUNS = int(os.environ.get("BENCH_RUNS", "200"))  # latency runs per command
WARMUP = int(os.environ.get("BENCH_WARMUP", "10"))
MANY_RUNS = int(os.environ.get("BENCH_MANY_RUNS", "5"))  # runs of the 100/10 batches
RSS_RUNS = 5
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "30"))  # runs after an idle pause
COLD_IDLE = 0.1  # seconds: long enough for the kernel's cgroup attach fast path to lapse
# start→exit is timed in this many rounds, each a batch of every command in
# turn, so a machine whose speed drifts during the run weighs on every
# command alike (one command's 200 runs after another's did not).
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
PEERS = ("runc", "crun")
PARALLEL = 10
SERIAL = 100


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def first_line(s):
    s = (s or "").strip()
    return s.splitlines()[-1] if s else ""


# ---------------------------------------------------------------- setup


def nsinit_dir(name):
    """A container dir with minimal.json, sharing the one rootfs."""
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(REPO, "sample_configs/minimal.json")) as f:
        cfg = json.load(f)
    cfg["root_fs"] = ROOTFS
    with open(os.path.join(d, "container.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return d


def oci_bundle(name, args):
    """An OCI bundle equivalent to minimal.json: the same namespaces (no
    cgroup ns), mounts, masked and read-only paths, capabilities, device
    whitelist; loopback comes with the new netns in runc and crun alike."""
    with open(os.path.join(REPO, "sample_configs/minimal.json")) as f:
        cfg = json.load(f)
    caps = ["CAP_" + c for c in cfg["capabilities"]]
    devices = [{"allow": False, "access": "rwm"}]
    for d in cfg["cgroups"]["allowed_devices"]:
        e = {"allow": True, "type": chr(d["type"]), "access": d["cgroup_permissions"]}
        for k, o in (("major_number", "major"), ("minor_number", "minor")):
            if d.get(k, 0) != -1:
                e[o] = d.get(k, 0)
        devices.append(e)
    nodev = ["nosuid", "noexec", "nodev"]
    spec = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": cfg["environment"],
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
        },
        "root": {"path": ROOTFS, "readonly": False},
        "hostname": cfg["hostname"],
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": nodev},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
            },
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": nodev + ["mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": nodev},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": nodev + ["ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "resources": {"devices": devices},
            "maskedPaths": [
                "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap",
            ],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"],
        },
    }
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(spec, f, indent=1)
    return d


def peer_cmd(rt, *args):
    return [rt, "--root", os.path.join(STATE, rt)] + list(args)


def clean_peers():
    for rt in PEERS:
        if not shutil.which(rt) or not os.path.isdir(os.path.join(STATE, rt)):
            continue
        r = run(peer_cmd(rt, "list", "-q"))
        for cid in r.stdout.split():
            run(peer_cmd(rt, "delete", "-f", cid))


def bench_cgroups():
    """Cgroup dirs that this harness's containers left behind (cgroup mounts
    only: the tmpfs standing in for the cgroup2 mount dies with the namespace)."""
    found = []
    with open("/proc/self/mounts") as f:
        tops = [ln.split()[1] for ln in f if ln.split()[2] in ("cgroup", "cgroup2")]
    for top in tops:
        for dirpath, dirs, _ in os.walk(top):
            found += [os.path.join(dirpath, d) for d in dirs if "bench" in d]
            if dirpath.count("/") - top.count("/") >= 2:
                dirs[:] = []
    return found


# ---------------------------------------------------------------- timing


def stats(times):
    return {
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "mean": statistics.fmean(times),
        "runs": len(times),
    }


def measure(key, cmd, runs, warmup, env=None, idle=0.0):
    """Time CMD (an argv list) with hyperfine, or a plain loop without it;
    with IDLE, the machine sleeps that many seconds before each run (untimed).
    Returns stats in seconds, or {"failed": why} if one trial run fails."""
    trial = run(cmd, env=env, stdin=subprocess.DEVNULL)
    if trial.returncode != 0:
        return {"failed": f"exit {trial.returncode}: {first_line(trial.stderr) or first_line(trial.stdout)}"}
    times = timings(key, cmd, runs, warmup, env, idle)
    return times if isinstance(times, dict) else stats(times)


def measure_rounds(prefix, cmds, runs, warmup, idle=0.0):
    """Time every command of CMDS (name → argv) in ROUNDS interleaved
    batches of RUNS/ROUNDS runs, the order rotating each round, WARMUP runs
    before the first batch of each and one before every later one. Returns
    name → stats over all batches, or {"failed": why}."""
    res, times = {}, {}
    for name, cmd in cmds.items():
        trial = run(cmd, stdin=subprocess.DEVNULL)
        if trial.returncode != 0:
            why = first_line(trial.stderr) or first_line(trial.stdout)
            res[name] = {"failed": f"exit {trial.returncode}: {why}"}
        else:
            times[name] = []
    rounds = max(1, min(ROUNDS, runs))
    for r in range(rounds):
        live = [n for n in cmds if n in times]
        live = live[r % len(live):] + live[: r % len(live)] if live else []
        for name in live:
            per = runs // rounds + (1 if r < runs % rounds else 0)
            t = timings(f"{prefix}-{name}-r{r}", cmds[name], per, warmup if r == 0 else 1, None, idle)
            if isinstance(t, dict):
                res[name] = t
                del times[name]
            else:
                times[name].extend(t)
    for name, t in times.items():
        res[name] = stats(t)
    return res


def timings(key, cmd, runs, warmup, env, idle):
    """The times of RUNS runs of CMD in seconds, or {"failed": why}."""
    if shutil.which("hyperfine"):
        out = os.path.join(RAW, key + ".json")
        prep = ["--prepare", f"sleep {idle}"] if idle else []
        r = run(
            ["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs), *prep,
             "--export-json", out, "-n", key, " ".join(shlex.quote(c) for c in cmd)],
            env=env,
        )
        if r.returncode != 0:
            return {"failed": first_line(r.stderr) or "hyperfine failed"}
        with open(out) as f:
            res = json.load(f)["results"][0]
        return res["times"]
    times = []
    for i in range(warmup + runs):
        time.sleep(idle)
        t = time.perf_counter()
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        if p.returncode != 0:
            return {"failed": f"exit {p.returncode} on run {i}"}
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return times


def peak_rss(cmd):
    """Median, min and max of /usr/bin/time's %M (KiB) over a few runs."""
    if not os.path.exists("/usr/bin/time"):
        return {"skipped": "/usr/bin/time missing"}
    vals = []
    for _ in range(RSS_RUNS):
        r = run(["/usr/bin/time", "-f", "%M"] + cmd, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            return {"failed": first_line(r.stderr)}
        vals.append(int(r.stderr.strip().splitlines()[-1]))
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "runs": len(vals)}


def vmrss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    return None


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- live containers


class Live:
    """A container running `sleep` for the join and resident-memory figures."""

    def __init__(self, rt):
        self.rt = rt
        self.proc = None
        self.init_pid = None
        self.error = None
        self.cid = f"bench-{rt}-join"

    def start(self, init_shim=False):
        argv = ["sleep", "1000"]
        dn = subprocess.DEVNULL
        if self.rt == "nsinit":
            self.dir = nsinit_dir("bench-join-shim" if init_shim else "bench-join")
            cmd = [BIN, "--root", self.dir, "exec"] + (["--init"] if init_shim else []) + argv
        else:
            bundle = oci_bundle("bundle-sleep", argv)
            cmd = peer_cmd(self.rt, "run", "-b", bundle, self.cid)
        self.proc = subprocess.Popen(cmd, stdin=dn, stdout=dn, stderr=subprocess.PIPE)
        self.init_pid = wait_for(self._init_pid)
        if not self.init_pid:
            self.stop()
            self.error = first_line(self.proc.stderr.read() if self.proc.stderr else "") or "did not start"
        return self

    def _init_pid(self):
        if self.proc.poll() is not None:
            return None
        if self.rt == "nsinit":
            st = read_json(os.path.join(self.dir, "state.json"))
            return st and st.get("init_pid")
        st = run(peer_cmd(self.rt, "state", self.cid))
        try:
            s = json.loads(st.stdout)
        except ValueError:
            return None
        return s.get("pid") if s.get("status") == "running" else None

    def stop(self):
        if self.proc is None:
            return
        if self.init_pid:
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.rt != "nsinit":
            run(peer_cmd(self.rt, "delete", "-f", self.cid))
        self.proc = None


def placed_in_cgroup(pid):
    """True if PID sits in a different cgroup than this process (v1 hierarchies)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            theirs = f.read().splitlines()
        with open("/proc/self/cgroup") as f:
            ours = f.read().splitlines()
    except OSError:
        return None
    return theirs != ours


def loopback_up(pid):
    """True if lo is up in PID's network namespace (read through its own sysfs)."""
    r = run(["nsenter", "-t", str(pid), "-n", "-m", "cat", "/sys/class/net/lo/flags"])
    try:
        return bool(int(r.stdout.strip(), 16) & 1) if r.returncode == 0 else None
    except ValueError:
        return None


# ---------------------------------------------------------------- the measurements


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "cpu": cpu,
        "loadavg_at_start": load,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def version(cmd):
    r = run(cmd)
    return first_line(r.stdout.splitlines()[0] if r.stdout else r.stderr) if r.returncode == 0 else None


# Capability names in number order (linux/capability.h), for floor+work's mask.
CAP_NAMES = (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
    "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO "
    "SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME "
    "SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP"
).split()


def cgroup_parents():
    """This process's directory in each cgroup v1 hierarchy (from mountinfo
    and /proc/self/cgroup), where nsinit makes its cgroups for minimal.json."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls:
                own[ctrls] = path
    dirs = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fields, (fstype, _, opts) = pre.split(), post.split()[:3]
            if fstype != "cgroup":
                continue
            root, mnt = fields[3], fields[4]
            for ctrls, path in own.items():
                if ctrls not in dirs and set(ctrls.split(",")) <= set(opts.split(",")):
                    rel = path[len(root):] if root != "/" and path.startswith(root) else path
                    dirs[ctrls] = mnt + (rel.rstrip("/") if rel != "/" else "")
    return list(dirs.values())


def floor_work_cmd():
    """floor+work: bench/floor-work.c built static, with minimal.json's
    capabilities and device rules and this machine's cgroup hierarchies;
    None (the row is left out, and said why) without a static gcc."""
    out = os.path.join(OUT, "floor-work")
    src = os.path.join(REPO, "bench/floor-work.c")
    r = run(["gcc", "-O2", "-static", "-o", out, src]) if shutil.which("gcc") else None
    if r is None or r.returncode != 0:
        log("floor+work skipped: " + (r.stderr.strip() if r else "no gcc"))
        return None
    with open(os.path.join(REPO, "sample_configs/minimal.json")) as f:
        cfg = json.load(f)
    mask = sum(1 << CAP_NAMES.index(c) for c in cfg["capabilities"])
    rules = []
    for d in cfg["cgroups"]["allowed_devices"]:
        num = ["*" if d.get(k, 0) == -1 else str(d.get(k, 0)) for k in ("major_number", "minor_number")]
        rules.append(f"{chr(d['type'])} {num[0]}:{num[1]} {d['cgroup_permissions']}")
    return [out, ROOTFS, "bench-floorwork", f"{mask:x}", *cgroup_parents(), "--", *rules]


def start_exit(avail):
    cmds = {"nsinit": [BIN, "--root", nsinit_dir("bench-start"), "exec", "/bin/true"]}
    bundle = oci_bundle("bundle-true", ["/bin/true"])
    # nsinit-oci on the very bundle runc and crun run: run = create, start,
    # supervise, delete.
    cmds["nsinit-oci"] = [BIN, "oci", "--root", os.path.join(STATE, "nsinit-oci"),
                          "run", "-b", bundle, "bench-nsinit-oci-start"]
    for rt in PEERS:
        if avail[rt]:
            cmds[rt] = peer_cmd(rt, "run", "-b", bundle, f"bench-{rt}-start")
    cmds["floor"] = ["unshare", "-fmpiun", "--mount-proc", "/bin/true"]
    cmds["floor+root"] = ["unshare", "-fmpiun", "--mount-proc", "--root", ROOTFS, "/bin/true"]
    work = floor_work_cmd()
    if work:
        cmds["floor+work"] = work
    log(f"start→exit: {', '.join(cmds)}, {ROUNDS} interleaved rounds")
    res = measure_rounds("start", cmds, RUNS, WARMUP)
    log(f"start→exit after {COLD_IDLE * 1000:.0f} ms idle, {ROUNDS} interleaved rounds")
    cold = measure_rounds("cold", cmds, COLD_RUNS, 1, idle=COLD_IDLE)
    for rt in PEERS:
        if not avail[rt]:
            res[rt] = cold[rt] = {"skipped": f"{rt} not installed"}
    return res, cold, cmds


def join_and_resident(avail):
    """Join latency into a live container, and the resident memory of the
    parent (and nsinit's init shim) while a container lives."""
    join, resident, features = {}, {}, {}
    lives = []
    try:
        n = Live("nsinit").start()
        lives.append(n)
        if n.error:
            join["nsinit"] = {"failed": "container did not start: " + n.error}
        else:
            features["cgroup_placement"] = placed_in_cgroup(n.init_pid)
            features["loopback_up"] = loopback_up(n.init_pid)
            resident["nsinit parent"] = vmrss(n.proc.pid)
            log("join: nsinit")
            r = measure("join-nsinit", [BIN, "--root", n.dir, "exec", "/bin/true"], RUNS, WARMUP)
            if "not implemented" in r.get("failed", ""):
                r = {"skipped": "join not available yet (" + r["failed"] + ")"}
            features["join"] = "median" in r
            join["nsinit"] = r
            log("join: nsenter")
            join["nsenter"] = measure("join-nsenter", ["nsenter", "-t", str(n.init_pid), "-a", "/bin/true"],
                                      RUNS, WARMUP)
        for rt in PEERS:
            if not avail[rt]:
                join[rt] = {"skipped": f"{rt} not installed"}
                continue
            p = Live(rt).start()
            lives.append(p)
            if p.error:
                join[rt] = {"failed": "container did not start: " + p.error}
                continue
            features[rt + " cgroup_placement"] = placed_in_cgroup(p.init_pid)
            features[rt + " loopback_up"] = loopback_up(p.init_pid)
            resident[rt + " run parent"] = vmrss(p.proc.pid)
            log(f"join: {rt} exec")
            join[rt] = measure("join-" + rt, peer_cmd(rt, "exec", p.cid, "/bin/true"), RUNS, WARMUP)
        for live in lives:
            live.stop()
        lives = []
        s = Live("nsinit").start(init_shim=True)
        lives.append(s)
        kids = s.init_pid and wait_for(lambda: children(s.init_pid), 1.0)
        if s.error or not kids:
            resident["nsinit init shim (--init)"] = None
            features["init_shim"] = False
        else:
            resident["nsinit init shim (--init)"] = vmrss(s.init_pid)
            resident["nsinit parent (--init)"] = vmrss(s.proc.pid)
            features["init_shim"] = True
    finally:
        for live in lives:
            live.stop()
    return join, resident, features


def batches(avail):
    env = dict(os.environ, BENCH_NSINIT=BIN, BENCH_WORK=WORK, BENCH_STATE=STATE)
    for i in range(PARALLEL):
        nsinit_dir(f"bench-par-{i}")
    res = {"serial": {}, "parallel": {}}
    for rt in ("nsinit",) + PEERS + ("floor",):
        for mode, n in (("serial", SERIAL), ("parallel", PARALLEL)):
            if rt in PEERS and not avail[rt]:
                res[mode][rt] = {"skipped": f"{rt} not installed"}
                continue
            log(f"{n} {mode}: {rt}")
            res[mode][rt] = measure(f"{mode}-{rt}", ["sh", MANY, mode, str(n), rt], MANY_RUNS, 1, env=env)
    return res


def peak_rss_all(cmds):
    out = {}
    for name, cmd in cmds.items():
        if name in ("floor+root", "floor+work"):
            continue
        log(f"peak RSS: {name}")
        out[name] = peak_rss(cmd)
    return out


def size_of(path):
    if not path:
        return None
    path = os.path.realpath(path)
    libs = []
    r = run(["ldd", path])
    static = r.returncode != 0 or "statically linked" in r.stdout + r.stderr or "not a dynamic" in r.stdout + r.stderr
    if not static:
        for line in r.stdout.splitlines():
            parts = line.split()
            lib = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
            if lib.startswith("/") and os.path.exists(lib):
                libs.append({"path": lib, "bytes": os.path.getsize(os.path.realpath(lib))})
    size = os.path.getsize(path)
    return {
        "path": path,
        "bytes": size,
        "static": static,
        "libs": libs,
        "total_bytes": size + sum(lb["bytes"] for lb in libs),
    }


def sizes(avail):
    out = {"nsinit": size_of(BIN)}
    for rt in PEERS:
        out[rt] = size_of(shutil.which(rt)) if avail[rt] else None
    out["unshare"] = size_of(shutil.which("unshare"))
    return out


# ---------------------------------------------------------------- main


def main():
    if os.geteuid() != 0:
        sys.exit("bench: must run as root (bench/run.sh)")
    for p in (BIN, os.path.join(ROOTFS, "bin/busybox")):
        if not os.path.exists(p):
            sys.exit(f"bench: {p} missing; run `make build rootfs`")
    avail = {rt: bool(shutil.which(rt)) for rt in PEERS}
    shutil.rmtree(WORK, ignore_errors=True)
    shutil.rmtree(RAW, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(RAW)
    clean_peers()
    before = set(bench_cgroups())
    res = {"machine": machine()}
    res["params"] = {
        "runs": RUNS, "warmup": WARMUP, "rounds": ROUNDS, "many_runs": MANY_RUNS, "rss_runs": RSS_RUNS,
        "cold_runs": COLD_RUNS, "cold_idle_s": COLD_IDLE, "serial": SERIAL, "parallel": PARALLEL,
    }
    res["versions"] = {
        "nsinit": version([BIN, "--version"]),
        "runc": version(["runc", "--version"]) if avail["runc"] else None,
        "crun": version(["crun", "--version"]) if avail["crun"] else None,
        "unshare": version(["unshare", "--version"]),
        "hyperfine": version(["hyperfine", "--version"]) if shutil.which("hyperfine") else "absent (python timer)",
    }
    try:
        res["start"], res["start_cold"], cmds = start_exit(avail)
        res["join"], res["resident_kib"], res["nsinit_features"] = join_and_resident(avail)
        res["batches"] = batches(avail)
        res["peak_rss_kib"] = peak_rss_all(cmds)
        res["size"] = sizes(avail)
    finally:
        clean_peers()
        shutil.rmtree(STATE, ignore_errors=True)
    res["targets"] = report.targets(res["start"], res["join"], res["peak_rss_kib"], res["size"],
                                    res["nsinit_features"], res["start_cold"])
    left = sorted(set(bench_cgroups()) - before)
    for d in reversed(left):
        try:
            os.rmdir(d)
        except OSError:
            pass
    res["leftover_cgroups"] = left
    table = report.report(res)
    if left:
        table += "\nLeft-over cgroups (removed by the harness): " + ", ".join(left) + "\n"
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(table)
    shutil.rmtree(WORK, ignore_errors=True)
    print(table)
    log(f"bench: wrote {OUT}/results.json and {OUT}/table.md")
    if "--update-readme" in sys.argv[1:]:
        report.update_readme(os.path.join(REPO, "bench/README.md"), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
