"""Tables for bench/bench.py: markdown from the results dict, the targets of
issue 8, and the README update."""

import os
import sys


def fmt_t(s):
    return f"{s * 1000:.2f} ms" if s < 1 else f"{s:.3f} s"


def cell(r, key="median", fmt=fmt_t):
    if r is None:
        return "–"
    if "skipped" in r:
        return "skipped: " + r["skipped"]
    if "failed" in r:
        return "FAILED: " + r["failed"]
    return fmt(r[key])


def span(r, fmt=fmt_t):
    return f"{fmt(r['min'])} – {fmt(r['max'])}" if r and "median" in r else ""


def ratio(r, base):
    if not r or "median" not in r or not base or "median" not in base or not base["median"]:
        return ""
    return f"{r['median'] / base['median']:.2f}×"


def latency_table(title, res, bases):
    head = "".join(f" ÷ {b} |" for b in bases)
    rows = [f"**{title}**", "", f"| runtime | median | min – max |{head}", "|---|---:|---:|" + "---:|" * len(bases)]
    for name, r in res.items():
        rows.append(f"| {name} | {cell(r)} | {span(r)} |" + "".join(f" {ratio(r, res.get(b))} |" for b in bases))
    return rows


def batch_table(res, p):
    serial, parallel = p["serial"], p["parallel"]
    rows = [
        f"**{serial} containers back to back / {parallel} in parallel (total wall time, median of {p['many_runs']})**",
        "",
        f"| runtime | {serial} serial | min – max | ÷ nsinit | {parallel} parallel | min – max | ÷ nsinit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in res["serial"]:
        s, p = res["serial"][name], res["parallel"].get(name)
        rows.append(
            f"| {name} | {cell(s)} | {span(s)} | {ratio(s, res['serial'].get('nsinit'))} "
            f"| {cell(p)} | {span(p)} | {ratio(p, res['parallel'].get('nsinit'))} |"
        )
    return rows


def kib(v):
    return f"{v / 1024:.2f} MiB" if v >= 1024 else f"{v} KiB"


def memory_table(rss, resident, p):
    rows = [
        f"**Memory** (peak RSS of one run via `/usr/bin/time -f %M`, median of {p['rss_runs']}; "
        "VmRSS of a process while a container lives)",
        "",
        "| what | median | min – max | ÷ nsinit |",
        "|---|---:|---:|---:|",
    ]
    for name, r in rss.items():
        rows.append(f"| peak RSS, one `{name}` run | {cell(r, fmt=kib)} | {span(r, kib)} "
                    f"| {ratio(r, rss.get('nsinit'))} |")
    for name, v in resident.items():
        rows.append(f"| resident: {name} | {kib(v) if v else 'not available yet'} | | |")
    return rows


def size_table(sz):
    rows = ["**Size on disk**", "", "| binary | size | linkage | shared libraries | total |",
            "|---|---:|---|---|---:|"]
    for name, s in sz.items():
        if not s:
            rows.append(f"| {name} | skipped | | | |")
            continue
        libs = ", ".join(f"{os.path.basename(lb['path'])} {kib(lb['bytes'] // 1024)}" for lb in s["libs"]) or "–"
        rows.append(f"| {name} | {kib(s['bytes'] // 1024)} | {'static' if s['static'] else 'dynamic'} "
                    f"| {libs} | {kib(s['total_bytes'] // 1024)} |")
    return rows


def med(r):
    return r["median"] if r and "median" in r else None


def targets(start, join, rss, sz, feat, cold=None):
    n = med(start.get("nsinit"))
    out = []
    missing = [w for w, k in (("cgroup placement", "cgroup_placement"), ("loopback", "loopback_up")) if not feat.get(k)]
    less = "nsinit skipped " + " and ".join(missing) if missing else None

    def add(name, value, ok, start_path=False):
        t = {"target": name, "measured": value, "met": ok}
        if start_path and less:
            t["caveat"] = less
        out.append(t)

    f, c, rc = med(start.get("floor")), med(start.get("crun")), med(start.get("runc"))
    add("start→exit ≤ 1.25× floor", f"{n / f:.2f}× floor" if n and f else "n/a",
        n / f <= 1.25 if n and f else None, True)
    add("≥ 2.5× faster than crun", f"{c / n:.2f}× faster" if n and c else "n/a", c / n >= 2.5 if n and c else None, True)
    add("≥ 7× faster than runc", f"{rc / n:.2f}× faster" if n and rc else "n/a", rc / n >= 7 if n and rc else None, True)
    # Issue 14: back to back and lone.
    add("start→exit ≤ 1.4× floor (back to back)", f"{n / f:.2f}× floor" if n and f else "n/a",
        n / f <= 1.4 if n and f else None, True)
    cold = cold or {}
    ln, lf, lc, lr = (med(cold.get(k)) for k in ("nsinit", "floor", "crun", "runc"))
    add("lone start ≤ 1.5× floor", f"{ln / lf:.2f}× floor" if ln and lf else "n/a",
        ln / lf <= 1.5 if ln and lf else None, True)
    for peer, p in (("crun", lc), ("runc", lr)):
        add(f"lone start ≥ 5× faster than {peer}", f"{p / ln:.2f}× faster" if ln and p else "n/a",
            p / ln >= 5 if ln and p else None, True)
    o = med(start.get("nsinit-oci"))
    add("nsinit-oci run ≥ 2× faster than crun run", f"{c / o:.2f}× faster" if o and c else "n/a",
        c / o >= 2 if o and c else None)
    add("nsinit-oci run ≥ 5× faster than runc run", f"{rc / o:.2f}× faster" if o and rc else "n/a",
        rc / o >= 5 if o and rc else None)
    j, e = med(join.get("nsinit")), med(join.get("nsenter"))
    add("join ≤ 1.5× nsenter", f"{j / e:.2f}× nsenter" if j and e else "n/a (join not available yet)",
        j / e <= 1.5 if j and e else None)
    m = med(rss.get("nsinit"))
    add("peak RSS of one nsinit exec ≤ 1.5 MiB", kib(m) if m else "n/a", m <= 1536 if m else None)
    s = sz.get("nsinit")
    add("binary ≤ 1 MiB static", f"{kib(s['bytes'] // 1024)}, {'static' if s['static'] else 'dynamic'}",
        s["bytes"] <= 1 << 20 and s["static"])
    return out


def target_table(tg):
    rows = ["**Targets**", "", "| target | measured | verdict |", "|---|---|---|"]
    for t in tg:
        v = "n/a" if t["met"] is None else ("met" if t["met"] else "**missed**")
        if t.get("caveat"):
            v += f" (not comparable: {t['caveat']})"
        rows.append(f"| {t['target']} | {t['measured']} | {v} |")
    return rows


def report(res):
    p = res["params"]
    m = res["machine"]
    feat = res["nsinit_features"]
    lines = [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), kernel {m['kernel']}, load {m['loadavg_at_start']} "
        f"at start, {m['date']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items() if v) + ".",
        "nsinit features seen: " + ", ".join(f"{k}={v}" for k, v in feat.items()) + ".",
        "",
    ]
    rounds = f"in {p.get('rounds', 1)} interleaved rounds"
    lines += latency_table(f"start → exit of /bin/true ({p['runs']} runs {rounds}, {p['warmup']} warmup)",
                           res["start"], ("nsinit", "floor"))
    lines += [""] + latency_table(
        f"start → exit after {p['cold_idle_s'] * 1000:.0f} ms idle ({p['cold_runs']} runs {rounds}; a lone start, "
        "which pays the kernel's slow path for the first cgroup attach)", res["start_cold"], ("nsinit", "floor"))
    lines += [""] + latency_table(f"join: run /bin/true in a running container ({p['runs']} runs)", res["join"],
                                    ("nsinit", "nsenter"))
    lines += [""] + batch_table(res["batches"], p)
    lines += [""] + memory_table(res["peak_rss_kib"], res["resident_kib"], p)
    lines += [""] + size_table(res["size"])
    lines += [""] + target_table(res["targets"])
    return "\n".join(lines) + "\n"


def update_readme(path, table):
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    with open(path) as f:
        text = f.read()
    if begin not in text or end not in text:
        print("bench: README.md has no bench markers; not updated", file=sys.stderr)
        return
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + begin + "\n" + table + end + tail)
