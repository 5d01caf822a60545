#!/usr/bin/env python3
"""bench: what the preload costs, as ratios "with the shim / without", on
the same commands on the same machine (run by `make bench`).

  1. python3 -c pass start-up                       target <= 1.02x
  2. 10^6 getenv("HOME") calls in a C program         target <= 1.10x
  3. 10^6 16-byte write()s to a pipe in a C program   target <= 1.02x
  4. load time of a generated 1000-rule file          target <= 20 ms
     (start-up of a no-op program under the preload with the 1000-rule
     file minus with a 1-rule file; the file must pass `hfshim check`)
  5. peak RSS of python3 -c pass                      informational, <= 1.05x

"With" runs get LD_PRELOAD=<build>/lib/libhfshim.so; both sides get
HFSHIM_LOG=off and HFSHIM_RULES=<build>/share/hfshim/rules/default.json,
so the two environments differ only in LD_PRELOAD. Runs alternate A,B,B,A
to cancel drift; each figure is a median, its 95% interval comes from
resampling the (with, without) pairs. Timed loops run inside the C helpers
(bench/*.c, compiled here into <build>/bench/ when stale), so process
start-up is not in those figures. Start-up and RSS are measured by
bench/runexec.c, which forks from a small process: a child started straight
from Python would inherit this interpreter's peak RSS in ru_maxrss (Linux
records the old mm's high-water mark at exec).

Exit status: 0 when every target is met, 1 when one is not, 2 on set-up
errors. Nothing here uses the network.
"""
import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CFLAGS = ["-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror"]
HELPERS = ["getenv_loop", "pipe_writes", "noop", "runexec", "tinyhttpd"]
GETENV_NAME = "HOME"


class SetupError(Exception):
    pass


# ---------------------------------------------------------------- set-up


def compile_helpers(outdir):
    """Compiles bench/<name>.c into outdir/<name> when missing or stale."""
    cc = os.environ.get("CC") or "cc"
    os.makedirs(outdir, exist_ok=True)
    paths = {}
    for name in HELPERS:
        src = os.path.join(HERE, name + ".c")
        out = os.path.join(outdir, name)
        paths[name] = out
        if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
            continue
        cmd = [cc] + CFLAGS + ["-o", out, src]
        print("  " + " ".join(cmd), flush=True)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise SetupError("cannot compile %s:\n%s" % (src, r.stdout))
    return paths


def compile_decide_time(build, outdir):
    """bench/decide_time.c linked with the core's objects from the build."""
    cc = os.environ.get("CC") or "cc"
    src = os.path.join(HERE, "decide_time.c")
    out = os.path.join(outdir, "decide_time")
    objdir = os.path.join(build, "obj", "core")
    objs = sorted(os.path.join(objdir, f) for f in os.listdir(objdir)
                  if f.endswith(".o") and f != "cjson_bind_dl.o")
    newest = max(os.path.getmtime(f) for f in objs + [src])
    if not os.path.exists(out) or os.path.getmtime(out) < newest:
        cmd = [cc] + CFLAGS + ["-I", os.path.join(HERE, "..", "shim", "core"), "-o", out, src] + objs + \
              ["-lcjson", "-lpcre2-8", "-pthread"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise SetupError("cannot compile %s:\n%s" % (src, r.stdout))
    return out


def start_server(tool):
    """bench/tinyhttpd on 127.0.0.1 (cheap and steady, unlike a Python
    server whose noise would drown the shim's cost); (proc, port)."""
    p = subprocess.Popen([tool], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("READY"):
        p.kill()
        raise SetupError("tinyhttpd did not start: %r" % line)
    return p, int(line.split()[1])


def gen_rules(n, seed=1):
    """A rules file of n varied rules: exact names, *.suffix and real globs,
    IPv4/IPv6 literals with ports, @hub, methods, ports, schemes, path/url
    regexes and header regexes. Deterministic; no catch-all, unique names,
    so a correct loader has nothing to warn about."""
    rnd = random.Random(seed)
    tlds = ["com", "org", "net", "io", "dev", "co"]
    words = ["api", "cdn", "models", "data", "files", "mirror", "hub", "s3", "storage", "lfs", "proxy", "cache"]
    rules = []
    for i in range(n):
        k = i % 10
        w, w2, t = rnd.choice(words), rnd.choice(words), rnd.choice(tlds)
        m = {}
        if k == 0:
            m["host"] = "@hub"
            m["path"] = r"^/api/models/[^/]+/revision/%d/" % i
        elif k == 1:
            m["host"] = "%s%d.%s.example.%s" % (w, i, w2, t)
        elif k == 2:
            m["host"] = "*.%s%d.example.%s" % (w, i, t)
            m["method"] = ["GET", "HEAD"]
        elif k == 3:
            m["host"] = "%s-?%d.[a-f]*.example.%s" % (w, i, t)
            m["port"] = [80, 443, 8000 + i % 1000]
        elif k == 4:
            m["host"] = "10.%d.%d.%d" % (i // 65536 % 256, i // 256 % 256, i % 256)
            m["port"] = 1024 + i
        elif k == 5:
            m["host"] = "127.0.0.1:%d" % (20000 + i)
            m["method"] = "POST"
            m["path"] = r"^/v1/(upload|commit)/%d(/.*)?$" % i
        elif k == 6:
            m["host"] = "[fd00::%x]:%d" % (i + 1, 30000 + i % 30000)
        elif k == 7:
            m["host"] = "@hub"
            m["method"] = ["PUT", "POST", "DELETE"]
            m["url"] = r"^https://[^/]+/datasets/org%d/[A-Za-z0-9._-]+/resolve/.*\.(bin|safetensors)$" % i
        elif k == 8:
            m["host"] = "%s%d.example.%s:%d" % (w, i, t, 443 if i % 2 else 8443)
            m["scheme"] = "https"
            m["header"] = {"Authorization": r"^Bearer hf_[A-Za-z0-9]{%d,}$" % (8 + i % 30)}
        else:
            m["host"] = "*.%s.%s%d.internal" % (w, w2, i)
            m["path"] = r"^/(?:%s|%s)/\d+/[a-z]{2,8}/file-%d\.json$" % (w, w2, i)
        rule = {"name": "r%04d-%s" % (i, w), "match": m, "action": "block" if rnd.random() < 0.5 else "allow"}
        if i % 50 == 0:
            rule["comment"] = "generated rule %d" % i
        rules.append(rule)
    return {
        "version": 1,
        "comment": "generated by bench/bench.py",
        "offline": False,
        "env": {"set": {"HF_HUB_DISABLE_TELEMETRY": "1"}},
        "rules": rules,
    }


def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(text)


def base_env(rules):
    """The caller's environment without any preload, HFSHIM_* or HF_*
    variable, plus the two HFSHIM_* variables both sides get."""
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.startswith("HFSHIM_") and not k.startswith("HF_")}
    env.setdefault(GETENV_NAME, "/nonexistent")
    env["HFSHIM_LOG"] = "off"
    env["HFSHIM_RULES"] = rules
    return env


# ------------------------------------------------------------ statistics


def ratio_ci(pairs, est=statistics.median, reps=400):
    """Ratio est(with)/est(without) and a 95% interval from resampling the
    pairs (which keeps each pair's shared drift together)."""
    wo = [p[0] for p in pairs]
    wi = [p[1] for p in pairs]
    point = est(wi) / est(wo)
    rnd = random.Random(7)
    n = len(pairs)
    rs = []
    for _ in range(reps):
        idx = [rnd.randrange(n) for _ in range(n)]
        rs.append(est([wi[i] for i in idx]) / est([wo[i] for i in idx]))
    rs.sort()
    return point, rs[int(0.025 * reps)], rs[int(0.975 * reps) - 1]


def diff_ci(pairs, reps=400):
    """Difference of medians (with - without) and its 95% interval."""
    wo = [p[0] for p in pairs]
    wi = [p[1] for p in pairs]
    point = statistics.median(wi) - statistics.median(wo)
    rnd = random.Random(7)
    n = len(pairs)
    ds = []
    for _ in range(reps):
        idx = [rnd.randrange(n) for _ in range(n)]
        ds.append(statistics.median([wi[i] for i in idx]) - statistics.median([wo[i] for i in idx]))
    ds.sort()
    return point, ds[int(0.025 * reps)], ds[int(0.975 * reps) - 1]


# ------------------------------------------------------------ measuring


def runexec(tool, reps, env, a, b, argv):
    """Runs argv reps times under env+a and env+b (A,B,B,A order) via
    runexec; returns [(A, B)] pairs of dicts wall/rss/cpu."""
    cmd = [tool, "-n", str(reps)]
    for kv in a:
        cmd += ["-a", kv]
    for kv in b:
        cmd += ["-b", kv]
    cmd += ["--"] + argv
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SetupError("%s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    runs = {"A": [], "B": []}
    for line in r.stdout.splitlines():
        tag, wall, rss, cpu = line.split()
        runs[tag].append({"wall": int(wall), "rss": int(rss), "cpu": int(cpu)})
    if len(runs["A"]) != reps or len(runs["B"]) != reps:
        raise SetupError("runexec printed %d/%d runs, expected %d" % (len(runs["A"]), len(runs["B"]), reps))
    return list(zip(runs["A"], runs["B"]))


def helper_ns(argv, env):
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SetupError("%s failed (%d): %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
    return int(r.stdout.split()[0])


def helper_pairs(argv, env_without, env_with, reps):
    """reps (without, with) figures printed by a timing helper, A,B,B,A."""
    pairs = []
    for i in range(reps):
        if i % 2 == 0:
            a = helper_ns(argv, env_without)
            b = helper_ns(argv, env_with)
        else:
            b = helper_ns(argv, env_with)
            a = helper_ns(argv, env_without)
        pairs.append((a, b))
    return pairs


def refine(sample, target, first, step, most, budget_s, est=statistics.median):
    """Takes `first` pairs, then adds `step` more at a time, up to `most`
    pairs or budget_s, unless the 95% interval of the ratio is already
    clear of the target and narrower than ±1%."""
    t0 = time.monotonic()
    pairs = sample(first)
    while len(pairs) < most and time.monotonic() - t0 < budget_s:
        _, lo, hi = ratio_ci(pairs, est, reps=200)
        if not (lo <= target <= hi) and hi - lo <= 0.02:
            break
        pairs += sample(min(step, most - len(pairs)))
    return pairs


# ------------------------------------------------------------ reporting


def fmt_ms(ns):
    ms = ns / 1e6
    return "%.0f ms" % ms if ms >= 100 else "%.1f ms" % ms if ms >= 10 else "%.2f ms" % ms


def row(name, without, with_, figure, pm, target, result):
    return "%-36s %10s %10s %11s %8s %8s  %s" % (name, without, with_, figure, pm, target, result)


def main():
    ap = argparse.ArgumentParser(description="hfshim overhead benchmarks (ratios with/without the preload)")
    ap.add_argument("--build", default="build", help="staged build tree (default: build)")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--json", metavar="FILE", help="also save the figures (and raw samples) as JSON")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    lib = os.path.join(build, "lib", "libhfshim.so")
    launcher = os.path.join(build, "bin", "hfshim")
    rules = os.path.join(build, "share", "hfshim", "rules", "default.json")
    python = "/usr/bin/python3"
    for p in (lib, launcher, rules, python):
        if not os.path.exists(p):
            raise SetupError("%s is missing (run `make` first)" % p)
    q = args.quick
    started = time.monotonic()

    print("hfshim bench: %s, %d CPUs, %s%s" % (build, os.cpu_count() or 0, platform.release(),
                                                ", quick" if q else ""), flush=True)
    tools = compile_helpers(os.path.join(build, "bench"))
    benchdir = os.path.join(build, "bench")
    big = os.path.join(benchdir, "rules-1000.json")
    tiny = os.path.join(benchdir, "rules-1.json")
    write_if_changed(big, json.dumps(gen_rules(1000), indent=2) + "\n")
    write_if_changed(tiny, json.dumps(gen_rules(1), indent=2) + "\n")

    env_without = base_env(rules)
    env_with = dict(env_without, LD_PRELOAD=lib)
    preload = "LD_PRELOAD=" + lib

    # Sanity: the preload loads and applies the rules (default.json sets
    # HF_HUB_DISABLE_TELEMETRY=1); without it nothing is set.
    probe = [python, "-c", "import os; print(os.environ.get('HF_HUB_DISABLE_TELEMETRY'))"]
    got_with = subprocess.run(probe, env=env_with, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got_without = subprocess.run(probe, env=env_without, stdout=subprocess.PIPE, text=True)
    if got_with.stdout.strip() != "1" or got_with.stderr.strip() or got_without.stdout.strip() != "None":
        raise SetupError("the preload does not seem active: with=%r (stderr %r), without=%r"
                         % (got_with.stdout, got_with.stderr, got_without.stdout))

    # The 1000-rule file must be accepted.
    chk = subprocess.run([launcher, "check", big], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check_warnings = len([l for l in chk.stderr.splitlines() if "warning" in l])
    check_ok = chk.returncode == 0
    first_line = (chk.stdout.splitlines() or [""])[0]
    print("  hfshim check rules-1000.json: exit %d, %s%s" % (
        chk.returncode, first_line.split(": ", 1)[-1] if check_ok else chk.stderr.strip()[:300],
        ", %d warning lines" % check_warnings if check_warnings else ""), flush=True)

    results = []
    raw = {}

    # 1 + 5: python3 -c pass start-up and peak RSS (same runs).
    print("  measuring python3 -c pass start-up ...", flush=True)
    runexec(tools["runexec"], 2, env_without, [], [preload], [python, "-c", "pass"])  # warm-up
    startup = []

    def sample_startup(n):
        got = runexec(tools["runexec"], n, env_without, [], [preload], [python, "-c", "pass"])
        startup.extend(got)
        return [(a["wall"], b["wall"]) for a, b in got]

    pairs = refine(sample_startup, 1.02, 40 if q else 120, 40 if q else 80, 80 if q else 400, 8 if q else 22)
    r, lo, hi = ratio_ci(pairs)
    wo, wi = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    results.append(dict(key="python_startup", name="python3 -c pass startup", unit="ns", without=wo, with_=wi,
                        ratio=r, ci=[lo, hi], target=1.02, kind="ratio", counted=True, n=len(pairs)))
    raw["python_startup"] = startup
    cpu_pairs = [(a["cpu"], b["cpu"]) for a, b in startup]
    r, lo, hi = ratio_ci(cpu_pairs)
    results.append(dict(key="python_startup_cpu", name="  same, user+sys CPU time (info)", unit="ns",
                        without=statistics.median(p[0] for p in cpu_pairs),
                        with_=statistics.median(p[1] for p in cpu_pairs), ratio=r, ci=[lo, hi], target=None,
                        kind="ratio", counted=False, n=len(cpu_pairs)))

    # 2: getenv.
    print("  measuring getenv ...", flush=True)
    n_calls = 1000000
    ge = [tools["getenv_loop"], str(n_calls), GETENV_NAME, "3"]
    pairs = refine(lambda n: helper_pairs(ge, env_without, env_with, n), 1.10, 10 if q else 25, 10, 20 if q else 60,
                   3 if q else 8, est=min)
    r, lo, hi = ratio_ci(pairs, min)
    names = list(env_with)
    results.append(dict(key="getenv", name='getenv("%s") ×10⁶' % GETENV_NAME, unit="ns",
                        without=min(p[0] for p in pairs), with_=min(p[1] for p in pairs), estimator="min",
                        ratio=r, ci=[lo, hi], target=1.10, kind="ratio", counted=True, n=len(pairs),
                        env_index=names.index(GETENV_NAME), env_size=len(names)))
    raw["getenv"] = pairs

    # Informational: a name that many variables share a first letter with
    # (the shim's scan compares one byte before calling strncmp, glibc two).
    if "PATH" in env_with:
        ge2 = [tools["getenv_loop"], str(n_calls), "PATH", "3"]
        pairs = helper_pairs(ge2, env_without, env_with, 5 if q else 9)
        r, lo, hi = ratio_ci(pairs, min)
        idx = names.index("PATH")
        results.append(dict(key="getenv_path", name='getenv("PATH") ×10⁶ (info)', unit="ns",
                            without=min(p[0] for p in pairs), with_=min(p[1] for p in pairs), estimator="min",
                            ratio=r, ci=[lo, hi], target=None,
                            kind="ratio", counted=False, n=len(pairs), env_index=idx, env_size=len(names),
                            same_first_letter_before=sum(1 for k in names[:idx] if k[:1] == "P"),
                            same_first_two_before=sum(1 for k in names[:idx] if k[:2] == "PA")))
        raw["getenv_path"] = pairs

    # 3: pipe writes.
    print("  measuring pipe writes ...", flush=True)
    pw = [tools["pipe_writes"], str(n_calls), "16", "1"]
    pairs = refine(lambda n: helper_pairs(pw, env_without, env_with, n), 1.02, 10 if q else 24, 8, 16 if q else 40,
                   5 if q else 14, est=min)
    r, lo, hi = ratio_ci(pairs, min)
    results.append(dict(key="pipe_writes", name="16-byte pipe writes ×10⁶", unit="ns",
                        without=min(p[0] for p in pairs), with_=min(p[1] for p in pairs), estimator="min",
                        ratio=r, ci=[lo, hi], target=1.02, kind="ratio", counted=True, n=len(pairs)))
    raw["pipe_writes"] = pairs

    # 4: rules load: no-op start-up under the preload, 1000 rules vs 1 rule.
    print("  measuring rules load ...", flush=True)
    noop = [tools["noop"]]
    env_pre = dict(env_without, LD_PRELOAD=lib)
    probe_pairs = runexec(tools["runexec"], 1, env_pre, ["HFSHIM_RULES=" + tiny], ["HFSHIM_RULES=" + big], noop)
    per_pair = (probe_pairs[0][0]["wall"] + probe_pairs[0][1]["wall"]) / 1e9
    reps = int(max(7, min(60 if not q else 20, (2.5 if q else 6) / max(per_pair, 1e-4))))
    got = runexec(tools["runexec"], reps, env_pre, ["HFSHIM_RULES=" + tiny], ["HFSHIM_RULES=" + big], noop)
    pairs = [(a["wall"], b["wall"]) for a, b in got]
    d, lo, hi = diff_ci(pairs)
    cpu_d = statistics.median(b["cpu"] for a, b in got) - statistics.median(a["cpu"] for a, b in got)
    results.append(dict(key="rules_load", name="rules load: 1000 rules vs 1", unit="ns",
                        without=statistics.median(p[0] for p in pairs), with_=statistics.median(p[1] for p in pairs),
                        delta=d, ci=[lo, hi], target=20e6, kind="delta", counted=True, n=len(pairs),
                        cpu_delta=cpu_d, check_exit=chk.returncode, check_warnings=check_warnings))
    raw["rules_load"] = got

    # Informational: the same through the launcher (`hfshim check -q`).
    reps_chk = 3 if q else 5
    chk_pairs = []
    for _ in range(reps_chk):
        row_ = []
        for f in (tiny, big):
            t0 = time.perf_counter_ns()
            subprocess.run([launcher, "check", "-q", f], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            row_.append(time.perf_counter_ns() - t0)
        chk_pairs.append(tuple(row_))
    d2, lo2, hi2 = diff_ci(chk_pairs)
    results.append(dict(key="check_load", name="  same, via hfshim check (info)", unit="ns",
                        without=statistics.median(p[0] for p in chk_pairs),
                        with_=statistics.median(p[1] for p in chk_pairs), delta=d2, ci=[lo2, hi2], target=None,
                        kind="delta", counted=False, n=len(chk_pairs)))
    raw["check_load"] = chk_pairs

    # Informational: the library's fixed cost at every exec (no-op program).
    got = runexec(tools["runexec"], 60 if q else 200, env_without, [], [preload], noop)
    pairs = [(a["wall"], b["wall"]) for a, b in got]
    d3, lo3, hi3 = diff_ci(pairs)
    results.append(dict(key="noop_startup", name="no-op C program start-up (info)", unit="ns",
                        without=statistics.median(p[0] for p in pairs), with_=statistics.median(p[1] for p in pairs),
                        delta=d3, ci=[lo3, hi3], target=None, kind="delta", counted=False, n=len(pairs),
                        rss_without=statistics.median(a["rss"] for a, b in got),
                        rss_with=statistics.median(b["rss"] for a, b in got)))
    raw["noop_startup"] = got

    # 6: libcurl layer: 1000 requests by the curl CLI on one keep-alive
    # connection to a local server, with no rule matching and with a
    # strip-header rule on every request, against no shim.
    print("  measuring curl: 1000 keep-alive requests ...", flush=True)
    hub, port = start_server(tools["tinyhttpd"])
    try:
        cfg = os.path.join(benchdir, "curl-1000.cfg")
        write_if_changed(cfg, "".join('url = "http://127.0.0.1:%d/health?n=%d"\noutput = "/dev/null"\n' % (port, i)
                                      for i in range(1000)))
        nomatch = os.path.join(benchdir, "rules-curl-nomatch.json")
        strip = os.path.join(benchdir, "rules-curl-strip.json")
        write_if_changed(nomatch, json.dumps({"version": 1, "rules": [
            {"name": "elsewhere", "match": {"host": "other.example"}, "action": "strip-header",
             "header": "Authorization"}]}) + "\n")
        write_if_changed(strip, json.dumps({"version": 1, "rules": [
            {"name": "strip-auth", "match": {"host": "127.0.0.1"}, "action": "strip-header",
             "header": "Authorization"}]}) + "\n")
        curl = ["/usr/bin/curl", "-s", "-H", "Authorization: Bearer hf_" + "x" * 34, "-K", cfg]
        for key, name, rf in (("curl_nomatch", "curl 1000 requests, no rule matching", nomatch),
                              ("curl_strip", "curl 1000 requests, strip-header rule", strip)):
            runexec(tools["runexec"], 1, env_without, [], [preload, "HFSHIM_RULES=" + rf], curl)  # warm-up
            got = runexec(tools["runexec"], 10 if q else 30, env_without, [], [preload, "HFSHIM_RULES=" + rf], curl)
            # the client's own CPU time (user+sys): the shim's cost is there,
            # while wall time mostly measures the server and the scheduler
            pairs = [(a["cpu"], b["cpu"]) for a, b in got]
            r, lo, hi = ratio_ci(pairs)
            results.append(dict(key=key, name=name + " (CPU)", unit="ns", without=statistics.median(p[0] for p in pairs),
                                with_=statistics.median(p[1] for p in pairs), ratio=r, ci=[lo, hi], target=1.05,
                                kind="ratio", counted=True, n=len(pairs)))
            wpairs = [(a["wall"], b["wall"]) for a, b in got]
            wr, wlo, whi = ratio_ci(wpairs)
            results.append(dict(key=key + "_wall", name="  same, wall time (info)", unit="ns",
                                without=statistics.median(p[0] for p in wpairs),
                                with_=statistics.median(p[1] for p in wpairs), ratio=wr, ci=[wlo, whi], target=None,
                                kind="ratio", counted=False, n=len(wpairs)))
            raw[key] = got
        # Informational and exact: the client's user-space instructions per
        # request under callgrind (300 requests), immune to the machine's noise.
        if shutil.which("valgrind"):
            cfg300 = os.path.join(benchdir, "curl-300.cfg")
            write_if_changed(cfg300, "".join('url = "http://127.0.0.1:%d/health?n=%d"\noutput = "/dev/null"\n'
                                             % (port, i) for i in range(300)))
            curl300 = ["/usr/bin/curl", "-s", "-H", "Authorization: Bearer hf_" + "x" * 34, "-K", cfg300]

            def instructions(extra):
                r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + curl300,
                                   env=dict(env_without, **extra), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
                m = re.search(r"Collected : (\d+)", r.stderr)
                return int(m.group(1)) if m else None

            base = instructions({})
            for key, name, rf in (("curl_instr_nomatch", "  curl user-space instructions/request, no match (info)",
                                   nomatch),
                                  ("curl_instr_strip", "  curl user-space instructions/request, strip (info)", strip)):
                got = instructions({"LD_PRELOAD": lib, "HFSHIM_RULES": rf})
                if base and got:
                    results.append(dict(key=key, name=name, unit="instr", value=(got - base) / 300,
                                        ratio=got / base, target=None, kind="count", counted=False, n=1))
    finally:
        hub.kill()
        hub.wait()

    # 7: the decision core alone, 1000 rules, for several kinds of request
    print("  measuring one decision with 1000 rules ...", flush=True)
    dt = compile_decide_time(build, benchdir)
    kinds = [("GET", "https://huggingface.co/api/models/acme/tiny"),
             ("POST", "http://127.0.0.1:20995/v1/upload/995/x"),
             ("GET", "https://nomatch.example/x/y"),
             ("GET", "https://api1.cdn.example.com/x"),
             ("HEAD", "https://huggingface.co/acme/tiny/resolve/main/config.json")]
    per = []
    for m, u in kinds:
        out = subprocess.run([dt, big, m, u, "20000", "5" if q else "9"], stdout=subprocess.PIPE, text=True,
                             check=True).stdout.split()
        per.append((int(out[0]), m + " " + u))
    med = statistics.median(n for n, _ in per)
    results.append(dict(key="decide", name="one decision, 1000 rules (median)", unit="ns", value=med,
                        target=5000, kind="time", counted=True, n=len(per), per_request=per))
    worst = max(per)
    results.append(dict(key="decide_worst", name="  worst request kind (info)", unit="ns", value=worst[0],
                        target=None, kind="time", counted=False, n=1, request=worst[1]))

    # 5: peak RSS of python3 -c pass, from the start-up runs.
    rss_wo = statistics.median(a["rss"] for a, b in startup)
    rss_wi = statistics.median(b["rss"] for a, b in startup)
    results.append(dict(key="python_rss", name="python3 -c pass peak RSS", unit="KiB", without=rss_wo, with_=rss_wi,
                        ratio=rss_wi / rss_wo, delta=rss_wi - rss_wo, ci=None, target=1.05, kind="rss",
                        counted=False, n=len(startup)))

    # ---- table
    failed, unclear = [], []
    print()
    print(row("benchmark", "without", "with", "ratio", "±95%", "target", "result"))
    for res in results:
        if res["kind"] == "ratio":
            figure = "%.3f×" % res["ratio"]
            pm = "%.3f" % ((res["ci"][1] - res["ci"][0]) / 2)
            ok = res["target"] is None or res["ratio"] <= res["target"]
            tgt = "≤%.2f×" % res["target"] if res["target"] else "-"
            wo_s, wi_s = fmt_ms(res["without"]), fmt_ms(res["with_"])
        elif res["kind"] == "count":
            figure = "+%.0f" % res["value"]
            pm = "%.3f×" % res["ratio"]
            ok = True
            tgt = "-"
            wo_s, wi_s = "-", "-"
        elif res["kind"] == "time":
            figure = "%.2f µs" % (res["value"] / 1e3)
            pm = "-"
            ok = res["target"] is None or res["value"] <= res["target"]
            tgt = "≤%.0f µs" % (res["target"] / 1e3) if res["target"] else "-"
            wo_s, wi_s = "-", "-"
        elif res["kind"] == "delta":
            figure = "%+.2f ms" % (res["delta"] / 1e6)
            pm = "%.2f" % ((res["ci"][1] - res["ci"][0]) / 2e6)
            ok = res["target"] is None or res["delta"] <= res["target"]
            tgt = "≤%.0f ms" % (res["target"] / 1e6) if res["target"] else "-"
            wo_s, wi_s = fmt_ms(res["without"]), fmt_ms(res["with_"])
        else:
            figure = "%.3f×" % res["ratio"]
            pm = "%+d KiB" % res["delta"]
            ok = res["ratio"] <= res["target"]
            tgt = "≤%.2f×" % res["target"]
            wo_s, wi_s = "%d KiB" % res["without"], "%d KiB" % res["with_"]
        res["pass"] = ok
        if res["target"] is None:
            verdict = "info"
        elif not res["counted"]:
            verdict = ("PASS" if ok else "OVER") + " (info)"
        else:
            verdict = "PASS" if ok else "FAIL"
            if res["kind"] == "ratio" and res["ci"][0] <= res["target"] <= res["ci"][1]:
                # the interval straddles the target: the machine's noise is
                # larger than the difference; reported, not counted as a failure
                verdict = ("PASS" if ok else "UNCLEAR") + " (within noise)"
                if not ok:
                    unclear.append(res["name"])
                    ok = True
        if res["counted"] and not ok:
            failed.append(res["name"])
        print(row(res["name"], wo_s, wi_s, figure, pm, tgt, verdict))
    print()
    print("ratio: start-up and RSS compare medians; the in-process loops (getenv, pipe) compare each side's")
    print("fastest run, as their noise only adds time. ±95%: half the 95% interval from resampling the pairs;")
    print("\"within noise\": that interval contains the target. Rules load: start-up of a no-op program under")
    print("the preload with HFSHIM_RULES = the 1000-rule file (\"with\") vs a 1-rule file (\"without\");")
    print("the 1000-rule file %s." % ("passes `hfshim check`" if check_ok else "is REJECTED by `hfshim check`"))
    if not check_ok:
        failed.append("1000-rule file rejected by hfshim check")
    elapsed = time.monotonic() - started
    print()
    print("pairs: startup %d, getenv %d, pipe %d, rules %d; %.1f s; load average %s" % (
        *[[r_ for r_ in results if r_["key"] == k][0]["n"] for k in ("python_startup", "getenv", "pipe_writes",
                                                                     "rules_load")], elapsed,
        " ".join("%.2f" % x for x in os.getloadavg())))
    if unclear:
        print("UNCLEAR (over the target, but within the noise; run again on a quieter machine): " +
              "; ".join(unclear))
    if failed:
        print("FAILED: " + "; ".join(failed))
    else:
        print("all targets met" + (" or within noise" if unclear else ""))

    if args.json:
        doc = {
            "build": build,
            "library": {"path": lib, "size": os.path.getsize(lib), "mtime": os.path.getmtime(lib)},
            "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                        "loadavg": os.getloadavg()},
            "quick": q,
            "seconds": elapsed,
            "check": {"exit": chk.returncode, "stdout_first_line": first_line, "warning_lines": check_warnings},
            "results": [{("with" if k == "with_" else k): v for k, v in res.items()} for res in results],
            "failed": failed,
            "raw": raw,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print("figures saved to %s" % args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SetupError as e:
        print("bench: %s" % e, file=sys.stderr)
        sys.exit(2)
