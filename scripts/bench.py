#!/usr/bin/env python3
"""Benchmarks varmor-run side by side with bubblewrap, firejail and Landlock, in one run.

Run by scripts/bench.sh (as root: it starts its own varmord and runs the workloads as the
unprivileged user varmor-test, the way people use a launcher). Writes results/bench.md
(tables whose claims are ratios) and results/bench.svg (launch time and per-op cost vs
number of rules). Bounded: finishes in a few minutes on 2 cores.
"""
import json, os, pwd, re, resource, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
RUN, VARMORD, OPLOOP = f"{REL}/varmor-run", f"{REL}/varmord", f"{REL}/examples/oploop"
BPFBENCH, SECCOMP_EXPORT = f"{REL}/examples/bpfbench", f"{REL}/examples/seccomp_export"
DOCKER_JSON = os.path.join(ROOT, "tests/fixtures/seccomp/docker-like.json")
USER = "varmor-test"
RULES = [10, 1000, 10000]
OUT = os.path.join(ROOT, "results")
# `bench.py --vm BACKEND`: the launch and per-operation parts only, in a VM of the kernel
# matrix (scripts/bench.sh --vm), printed as one `bench-json: {...}` line (a VM's writes
# are thrown away). Only its ratios are compared with this machine's.
VM = sys.argv[1:2] == ["--vm"]
ROUNDS = 3 if VM else 5  # per-operation rounds, interleaved
BACKEND = sys.argv[2] if VM else "compat"
# `bench.py --live N [BACKEND]`: only varmord at scale: N live sandboxes (as root: one user
# may hold 1,024), varmord's RSS, threads and descriptors, the BPF maps' memory and launch
# latency while they live; written to results/bench-live.json and printed as one
# `bench-live-json: {...}` line (scripts/bench.sh --live-vm keeps a VM's as
# results/bench-live-vm.json); both shown in bench.md.
LIVE = int(sys.argv[2]) if sys.argv[1:2] == ["--live"] else 0
if LIVE:
    BACKEND = sys.argv[3] if len(sys.argv) > 3 else "compat"


def cgroup2():
    for l in open("/proc/self/mountinfo"):
        pre, post = l.split(" - ", 1)
        if post.split(" ")[0] == "cgroup2":
            return pre.split(" ")[4]
    sys.exit("bench: no cgroup2 filesystem mounted")


def sh(args, user=True, check=True, **kw):
    if user:
        args = ["runuser", "-u", USER, "--"] + args
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        # What failed, and how: hyperfine names the command and its exit code.
        sys.stderr.write(f"bench: {' '.join(args)}: exit {r.returncode}\n{r.stdout[-2000:]}{r.stderr[-2000:]}\n")
        r.check_returncode()
    return r


def hyperfine(cmds, runs):
    out = tempfile.mktemp(suffix=".json")
    sh(["hyperfine", "-N", "--warmup", "5", "--runs", str(runs), "--export-json", out] + [c for _, c in cmds], user=True)
    data = json.load(open(out))["results"]
    os.unlink(out)
    return {name: r["mean"] * 1e3 for (name, _), r in zip(cmds, data)}


def profile(tmp, n, files=True):
    path = os.path.join(tmp, f"rules{n}{'' if files else '-net'}.yaml")
    with open(path, "w") as f:
        f.write(f"description: {n} rules that never match the workload\n")
        if files:
            f.write("file:\n  - deny: read\n    paths:\n")
        for i in range(n if files else 0):
            f.write(f"      - /nonexistent/bench/rule-{i}\n")
        f.write("network:\n  - deny: connect\n    addresses:\n")
        for i in range(min(n, 4096)):
            f.write(f"      - 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
    os.chmod(path, 0o644)
    return path


def oploop(prefix, op, n, **kw):
    r = sh(prefix + [OPLOOP] + op + [str(n)], **kw)
    return float(r.stdout.strip().splitlines()[-1])


def start_varmord(tmp):
    sock = os.path.join(tmp, "varmord.sock")
    pin, cg = "/sys/fs/bpf/varmor-bench", os.path.join(cgroup2(), "varmor-bench")
    # The open-file limit systemd's unit gives it (LimitNOFILE=524288), or this session's hard
    # limit where that is lower and raising it is not allowed (no CAP_SYS_RESOURCE here).
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (524288, 524288))
    except (ValueError, OSError):
        pass
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = 524288 if hard == resource.RLIM_INFINITY else min(524288, hard)
    nofile = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    start_varmord.nofile = want
    d = subprocess.Popen([VARMORD, "--socket", sock, "--pin-dir", pin, "--cgroup-root", cg, "--backend", BACKEND],
                         stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="error"), preexec_fn=nofile)
    for _ in range(300):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    return d, sock, pin


def status(pid, field):
    return int(open(f"/proc/{pid}/status").read().split(f"{field}:")[1].split()[0])


def confined(pid):
    """Whether a sandbox's launcher has exec'd its target (varmord answered)."""
    try:
        return open(f"/proc/{pid}/comm").read().strip() == "sleep"
    except OSError:
        return True


def map_bytes(pin):
    """The memory of the BPF maps pinned under `pin` (bpftool's bytes_memlock)."""
    maps = json.loads(subprocess.run(["bpftool", "-j", "-f", "map", "show"], capture_output=True, text=True).stdout or "[]")
    return sum(m.get("bytes_memlock", 0) for m in maps if any(p.startswith(pin + "/") for p in m.get("pinned", [])))


def probe(base):
    """50 launches of /bin/true, 20 ms apart, as root: their times in ms, sorted."""
    lat = []
    for _ in range(50):
        t = time.monotonic()
        sh(base + ["/bin/true"], user=False)
        lat.append((time.monotonic() - t) * 1e3)
        time.sleep(0.02)
    return sorted(lat)


def live(n):
    """varmord with `n` live sandboxes (base profile, `sleep`), started as root in batches."""
    tmp = tempfile.mkdtemp(prefix="varmor-bench-")
    os.chmod(tmp, 0o755)
    d, sock, pin = start_varmord(tmp)
    # varmord takes as many sandboxes as its open-file limit holds (crates/daemon/src/sysctl.rs:
    # 256 kept free, up to 6 each) and refuses the rest; ask for no more than that.
    fits = (start_varmord.nofile - 256) // 6 - 8  # and room for the latency probes (reaped a little after they end)
    kids, r = [], {"machine": os.uname().release + f", {os.cpu_count()} cores", "backend": BACKEND, "date": time.strftime("%Y-%m-%d"),
                   "requested": n, "nofile": start_varmord.nofile, "fds_each": 6}
    if n > fits:
        print(f"bench: varmord's open-file limit here ({start_varmord.nofile}, the hard limit) holds {fits} sandboxes, not {n}", file=sys.stderr)
        n = fits
    base = [RUN, "--socket", sock, "--quiet", "--profile", f"{ROOT}/profiles.d/base.yaml", "--"]
    errs = open(os.path.join(tmp, "launches.err"), "a+")  # every launch's stderr, counted at the end
    try:
        r["idle"] = {"rss_kib": status(d.pid, "VmRSS"), "threads": status(d.pid, "Threads"), "fds": len(os.listdir(f"/proc/{d.pid}/fd")),
                     "map_kib": map_bytes(pin) // 1024}
        # The same probe with no sandbox alive: how much of the live figure is the number alive.
        idle = probe(base)
        r["idle"].update({"launch_p50_ms": idle[24], "launch_p99_ms": idle[49]})
        time.sleep(3)  # the probe's requests count against the uid's pace (registry.rs)
        t0 = time.monotonic()
        pending = []  # launched, not yet running `sleep` (not yet confined)
        for i in range(n):
            if i and i % 150 == 0:  # varmord paces a uid past 200 requests a second
                time.sleep(0.75)
            # At most 64 launches waiting on varmord: a slower machine (a VM under TCG confines
            # ~10 a second) would otherwise queue past the launcher's 10 s answer timeout.
            while len(pending) >= 64:
                pending = [k for k in pending if k.poll() is None and not confined(k.pid)]
                if len(pending) >= 64:
                    time.sleep(0.02)
            kids.append(subprocess.Popen(base + ["sleep", "3600"], stdout=subprocess.DEVNULL, stderr=errs))
            pending.append(kids[-1])
            if i % 1000 == 999:
                print(f"bench: {i + 1} sandboxes started ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
        for _ in range(120):
            n_live = len(json.loads(sh([RUN, "--socket", sock, "--ps", "--format", "json"], user=False).stdout))
            if n_live >= n or any(k.poll() is not None for k in kids):
                break
            time.sleep(1)
        failed = [k for k in kids if k.poll() is not None]
        time.sleep(3)  # past the per-uid pacing the start-up burst used up (registry.rs)
        lat = probe(base)
        errs.seek(0)
        why = {}
        for line in errs.read().splitlines():
            key = re.sub(r"\d+", "N", line.strip())
            why[key] = why.get(key, 0) + 1
        r["launch_errors"] = dict(sorted(why.items(), key=lambda kv: -kv[1])[:8])
        r["live"] = {"sandboxes": n_live, "launches_failed": len(failed), "start_s": time.monotonic() - t0,
                     "rss_kib": status(d.pid, "VmRSS"), "threads": status(d.pid, "Threads"), "fds": len(os.listdir(f"/proc/{d.pid}/fd")),
                     "map_kib": map_bytes(pin) // 1024, "launch_p50_ms": lat[24], "launch_p99_ms": lat[49]}
    finally:
        for k in kids:
            k.kill()
        for k in kids:
            k.wait()
        d.send_signal(signal.SIGTERM)
        d.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(r, indent=2))
    print("bench-live-json: " + json.dumps(r), flush=True)
    os.makedirs(OUT, exist_ok=True)
    try:
        json.dump(r, open(f"{OUT}/bench-live.json", "w"), indent=2)
    except OSError:
        pass  # a VM's read-only tree: bench.sh keeps the printed line


def rss_live(d, sock, v):
    """varmord's RSS idle and with BENCH_LIVE (1,000) live base sandboxes of the test user."""
    rss0 = status(d.pid, "VmRSS")
    # varmord paces one uid past 200 launches a second: start them in batches.
    live = []
    for i in range(int(os.environ.get("BENCH_LIVE", "1000"))):
        if i and i % 150 == 0:
            time.sleep(1)
        live.append(subprocess.Popen(["runuser", "-u", USER, "--"] + v(f"{ROOT}/profiles.d/base.yaml") + ["sleep", "120"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    time.sleep(5)
    ps = lambda: len(json.loads(sh([RUN, "--socket", sock, "--ps", "--format", "json"], user=False).stdout))
    n_live = ps()
    rss1 = status(d.pid, "VmRSS")
    for p in live:
        os.killpg(p.pid, signal.SIGKILL)  # runuser and the sandbox's `sleep` below it
    for p in live:
        p.wait()
    # Every sandbox reaped before the benchmarks that follow (and past the uid's pace).
    for _ in range(60):
        if ps() == 0:
            break
        time.sleep(0.5)
    time.sleep(2)
    return {"idle": rss0, f"{n_live} live sandboxes": rss1}


def main():
    tmp = tempfile.mkdtemp(prefix="varmor-bench-")
    os.chmod(tmp, 0o755)
    d, sock, pin = start_varmord(tmp)
    try:
        v = lambda prof: [RUN, "--socket", sock, "--quiet", "--profile", prof, "--"]
        vs = lambda prof: [RUN, "--socket", sock, "--quiet", "--seccomp", DOCKER_JSON, "--profile", prof, "--"]
        results = {"machine": os.uname().release + f", {os.cpu_count()} cores", "backend": BACKEND}
        # 0. varmord's memory with 1,000 live sandboxes, first, while it is fresh (the rule
        # sets of the 10,000-rule benchmarks below are not yet in its heap).
        if not VM:
            results["rss_kib"] = rss_live(d, sock, v)
        # 1. Launch time of /bin/true.
        launch = [
            ("bare", "/bin/true"),
            ("unshare -Urm", "unshare -Urm /bin/true"),
            ("bwrap --dev-bind / /", "bwrap --dev-bind / / /bin/true"),
            ("firejail --noprofile", "firejail --quiet --noprofile /bin/true"),
            ("firejail (default profile)", "firejail --quiet /bin/true"),
            ("varmor-run base", " ".join(v(f"{ROOT}/profiles.d/base.yaml")) + " /bin/true"),
            ("varmor-run nocurl", " ".join(v(f"{ROOT}/profiles.d/nocurl.yaml")) + " /bin/true"),
            ("firejail --noprofile --seccomp", "firejail --quiet --noprofile --seccomp /bin/true"),
            ("varmor-run base + Docker seccomp", " ".join(vs(f"{ROOT}/profiles.d/base.yaml")) + " /bin/true"),
        ]
        if VM:  # firejail's setuid start under TCG says nothing new
            launch = [(k, c) for k, c in launch if not k.startswith("firejail") and "Docker" not in k]
        results["launch_ms"] = hyperfine(launch, 30)
        # 1b. Where a launch goes: VARMOR_TIMING=1 prints each step of varmor-run's flow
        # (crates/launcher/src/timing.rs); the median of 30 launches per step.
        steps = {}
        time.sleep(2)  # past varmord's per-uid pacing (200 launches a second) after hyperfine
        for _ in range(30):
            time.sleep(0.05)
            r = sh(["env", "VARMOR_TIMING=1"] + [a for a in v(f"{ROOT}/profiles.d/base.yaml") if a != "--quiet"] + ["/bin/true"])
            for line in r.stderr.splitlines():
                m = re.match(r"varmor-run: timing: (.+?)\s+\+([0-9.]+) ms", line)
                if m:
                    steps.setdefault(m.group(1), []).append(float(m.group(2)))
        results["launch_steps_ms"] = {k: statistics.median(x) for k, x in steps.items()}
        # 2. Per-operation cost inside, vs rules: every sandbox once per round, rounds
        # interleaved (drift, e.g. a VM's translation cache warming, hits all alike); the
        # median of the rounds (5 here, 3 in a VM, where a round takes ten times as long).
        bw = ["bwrap", "--dev-bind", "/", "/"]
        fj = ["firejail", "--quiet", "--noprofile"]
        ops = {"open": (["open", "/etc/hostname"], 200000), "exec": (["exec"], 300), "connect": (["connect"], 3000)}
        sandboxes = [("bare", [], ops), ("landlock alone", None, {"open": (["landlock", "open", "/etc/hostname"], 200000)}),
                     ("bwrap", bw, ops)] + ([] if VM else [("firejail", fj, ops)])
        # The same sandbox with no file rule (no fanotify mark on compat): what the
        # namespaces and filters cost an open by themselves.
        sandboxes += [("varmor-run no file rule", v(profile(tmp, 10, files=False)), {"open": ops["open"]})]
        sandboxes += [(f"varmor-run {n} rules", v(profile(tmp, n)), ops) for n in RULES]
        samples = {}
        for _ in range(ROUNDS):
            for name, prefix, these in sandboxes:
                for op, (args, n) in these.items():
                    samples.setdefault(name, {}).setdefault(op, []).append(oploop(prefix or [], args, n))
        per = {name: {op: statistics.median(x) for op, x in o.items()} for name, o in samples.items()}
        results["per_op_ns"] = per
        if VM:
            print("bench-json: " + json.dumps(results), flush=True)
            return
        # Name changes under no-secrets in the user's home (a chain directory on compat:
        # varmord performs the allowed calls itself) and in a project below it (Landlock
        # grants them natively), bare vs varmor-run.
        home = os.path.expanduser("~varmor-test")
        proj = os.path.join(home, "varmor-bench-proj")
        sh(["mkdir", "-p", proj])
        ns = [RUN, "--socket", sock, "--quiet", "--profile", f"{ROOT}/profiles.d/no-secrets.yaml", "--"]
        names = {}
        for where, at in [("home (chain dir)", home), ("project", proj)]:
            for op, n in [("create", 3000), ("rename", 3000)]:
                names[f"{op} in {where}"] = {"bare": oploop([], [op, at], n), "varmor-run no-secrets": oploop(ns, [op, at], n)}
        sh(["rm", "-rf", proj])
        results["name_changes_ns"] = names
        # Seccomp: the cost a filter adds to one syscall (getppid), Docker's kind of profile.
        bpf = os.path.join(tmp, "docker-like.bpf")
        subprocess.run([SECCOMP_EXPORT, DOCKER_JSON, bpf], check=True)
        os.chmod(bpf, 0o644)
        fd = os.open(bpf, os.O_RDONLY)
        n_sys = 2000000
        results["syscall_ns"] = {
            "bare": oploop([], ["syscall"], n_sys),
            "bwrap --seccomp (Docker-like)": oploop(["bwrap", "--dev-bind", "/", "/", "--seccomp", str(fd)], ["syscall"], n_sys, pass_fds=(fd,)),
            "firejail --noprofile --seccomp": oploop(["firejail", "--quiet", "--noprofile", "--seccomp"], ["syscall"], n_sys),
            "varmor-run base (anti-escape filter)": oploop(v(f"{ROOT}/profiles.d/base.yaml"), ["syscall"], n_sys),
            "varmor-run base + Docker-like --seccomp": oploop(vs(f"{ROOT}/profiles.d/base.yaml"), ["syscall"], n_sys),
        }
        os.close(fd)
        # 3. The in-kernel decision cost (BPF_PROG_TEST_RUN), vs rules.
        results["bpf_decision_ns"] = json.loads(subprocess.run([BPFBENCH], check=True, capture_output=True, text=True).stdout)
        # 4. varmord under load: 100 concurrent launches.
        lat = []
        def one():
            t = time.monotonic()
            sh(v(f"{ROOT}/profiles.d/base.yaml") + ["/bin/true"])
            lat.append((time.monotonic() - t) * 1e3)
        ts = [threading.Thread(target=one) for _ in range(100)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        lat.sort()
        results["concurrent_100"] = {"p50_ms": lat[49], "p99_ms": lat[98], "ok": len(lat)}
        # After everything above (and every sandbox of it ended: memory given back).
        time.sleep(1)
        results["rss_kib"]["after the whole run"] = status(d.pid, "VmRSS")
        # CPU per denial line.
        deny = os.path.join(tmp, "deny.yaml")
        open(deny, "w").write("file:\n  - deny: read\n    paths: [/etc/hostname]\n")
        os.chmod(deny, 0o644)
        c0 = sum(int(x) for x in open(f"/proc/{d.pid}/stat").read().split()[13:15])
        n_deny = 2000
        sh([RUN, "--socket", sock, "--profile", deny, "--", "sh", "-c", f"i=0; while [ $i -lt {n_deny} ]; do cat /etc/hostname 2>/dev/null; i=$((i+1)); done"], check=False)
        c1 = sum(int(x) for x in open(f"/proc/{d.pid}/stat").read().split()[13:15])
        results["cpu_us_per_denial"] = (c1 - c0) * 1e6 / os.sysconf("SC_CLK_TCK") / n_deny
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    json.dump(results, open(f"{OUT}/bench.json", "w"), indent=2)
    write_report(results)


def ms(d, k):
    return f"{d[k]:.1f} ms" if k in d else "-"


def live_table(V, where):
    """bench.md's lines for one `--live` run."""
    i, l = V["idle"], V["live"]
    if V["requested"] == l["sandboxes"]:
        held = ""
    elif (V["nofile"] - 256) // V.get("fds_each", 5) - 8 < V["requested"]:
        held = f" ({V['requested']} asked for; an open-file limit of {V['nofile']} holds no more)"
    else:
        held = f" of {V['requested']} launched (the others: {next(iter(V.get('launch_errors', {})), '?')})"
    return ["", f"varmord at scale on {where} ({V['machine']}, {V['date']}, {V['backend']}): {l['sandboxes']} live sandboxes{held} "
            f"(base profile, `sleep`, started as root in {l['start_s']:.0f} s; {l['launches_failed']} launches failed):", "",
            "| varmord | idle | live |", "|---|---|---|",
            f"| RSS | {i['rss_kib'] / 1024:.1f} MB | {l['rss_kib'] / 1024:.1f} MB |",
            f"| threads | {i['threads']} | {l['threads']} |",
            f"| descriptors | {i['fds']} | {l['fds']} |",
            f"| BPF maps (bytes_memlock) | {i['map_kib'] / 1024:.1f} MB | {l['map_kib'] / 1024:.1f} MB |",
            f"| a launch of `/bin/true` (50, 20 ms apart), p50 | {ms(i, 'launch_p50_ms')} | {l['launch_p50_ms']:.1f} ms |",
            f"| ... p99 | {ms(i, 'launch_p99_ms')} | {l['launch_p99_ms']:.1f} ms |"]


def write_report(r):
    L, P = r["launch_ms"], r["per_op_ns"]
    md = [f"# Benchmarks ({r['machine']}, {time.strftime('%Y-%m-%d')})", "",
          "Launch of `/bin/true` (hyperfine, 30 runs, as an unprivileged user; varmor-run includes the varmord round trip, compat backend):", "",
          "| launcher | mean ms | vs bwrap | vs firejail default |", "|---|---|---|---|"]
    for k, ms in L.items():
        md.append(f"| {k} | {ms:.2f} | {ms / L['bwrap --dev-bind / /']:.2f}x | {ms / L['firejail (default profile)']:.3f}x |")
    T = r.get("launch_steps_ms", {})
    if T:
        md += ["", "Where `varmor-run base` spends its launch (VARMOR_TIMING=1, median of 30; the rest is process start and exec):", "",
               "| step | ms |", "|---|---|"]
        md += [f"| {k} | {ms:.3f} |" for k, ms in T.items()]
        md.append(f"| (sum) | {sum(T.values()):.3f} |")
    md += ["", "Per operation inside the sandbox (ns/op; ratio to bare):", "",
           "| sandbox | open+close | exec | connect |", "|---|---|---|---|"]
    for k, ops in P.items():
        cell = lambda op: f"{ops[op]:.0f} ({ops[op] / P['bare'][op]:.2f}x)" if op in ops else "-"
        md.append(f"| {k} | {cell('open')} | {cell('exec')} | {cell('connect')} |")
    N = r.get("name_changes_ns", {})
    if N:
        md += ["", "Name changes under no-secrets (compat: in a chain directory varmord performs the call; ns/op; ratio to bare):", "",
               "| operation | bare | varmor-run no-secrets | ratio |", "|---|---|---|---|"]
        for k, v in N.items():
            md.append(f"| {k} | {v['bare']:.0f} | {v['varmor-run no-secrets']:.0f} | {v['varmor-run no-secrets'] / v['bare']:.2f}x |")
    S, B = r["syscall_ns"], r["bpf_decision_ns"]
    md += ["", "One syscall (getppid) under a seccomp filter (ns/op; ratio to bare):", "",
           "| sandbox | ns/op | vs bare |", "|---|---|---|"]
    for k, ns in S.items():
        md.append(f"| {k} | {ns:.1f} | {ns / S['bare']:.2f}x |")
    md += ["", "In-kernel matching decision, BPF_PROG_TEST_RUN (ns/decision; ratio to 10 rules):", "",
           "| rules in the namespace | ns | vs 10 rules |", "|---|---|---|"]
    for k, ns in B.items():
        md.append(f"| {k} | {ns:.0f} | {ns / B['10 rules']:.2f}x |")
    vm = os.path.join(OUT, "bench-vm.json")
    if os.path.exists(vm):
        V = json.load(open(vm))
        VL, VP = V["launch_ms"], V["per_op_ns"]
        md += ["", f"The {V['backend']} backend, in a VM of the kernel matrix ({V['machine']}, qemu TCG: about ten times slower "
               f"than this machine, so only ratios are comparable; scripts/bench.sh --vm, {V.get('date', '')}):", "",
               "| launch | mean ms | vs bwrap |", "|---|---|---|"]
        md += [f"| {k} | {ms:.2f} | {ms / VL['bwrap --dev-bind / /']:.2f}x |" for k, ms in VL.items()]
        md += ["", "| sandbox (VM) | open+close | exec | connect |", "|---|---|---|---|"]
        for k, ops in VP.items():
            cell = lambda op: f"{ops[op]:.0f} ({ops[op] / VP['bare'][op]:.2f}x)" if op in ops else "-"
            md.append(f"| {k} | {cell('open')} | {cell('exec')} | {cell('connect')} |")
    for name, where in [("bench-live.json", "this machine"), ("bench-live-vm.json", "a 6.12 VM (qemu TCG)")]:
        if os.path.exists(os.path.join(OUT, name)):
            md += live_table(json.load(open(os.path.join(OUT, name))), where)
    c = r["concurrent_100"]
    md += ["", f"varmord: 100 concurrent launches p50 {c['p50_ms']:.0f} ms, p99 {c['p99_ms']:.0f} ms ({c['ok']} ok); "
           f"CPU per denial line {r['cpu_us_per_denial']:.0f} µs; RSS "
           + ", ".join(f"{k} {kib / 1024:.1f} MB" for k, kib in r["rss_kib"].items())
           + " (the first two from a fresh start, before the benchmarks above).", ""]
    open(f"{OUT}/bench.md", "w").write("\n".join(md))
    svg(r)
    print("\n".join(md))


def svg(r):
    P, L = r["per_op_ns"], r["launch_ms"]
    w, h = 720, 300
    bars = list(L.items())
    mx = max(v for _, v in bars)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h * 2}" font-family="sans-serif" font-size="11">',
         '<text x="10" y="16" font-size="13">Launch of /bin/true (ms)</text>']
    for i, (k, v) in enumerate(bars):
        y = 30 + i * 34
        s.append(f'<text x="10" y="{y + 14}">{k}</text><rect x="200" y="{y}" width="{480 * v / mx:.1f}" height="20" fill="#4a7"/>'
                 f'<text x="{205 + 480 * v / mx:.1f}" y="{y + 14}">{v:.1f}</text>')
    s.append(f'<text x="10" y="{h + 16}" font-size="13">open+close ns/op vs rules in the profile (bare, Landlock alone, varmor-run)</text>')
    pts = [(n, P[f"varmor-run {n} rules"]["open"]) for n in RULES]
    ymax = max([p for _, p in pts] + [P["bare"]["open"], P["landlock alone"]["open"]]) * 1.2
    X = lambda i: 80 + i * 280
    Y = lambda v: h + 270 - 230 * v / ymax
    for name, val, col in [("bare", P["bare"]["open"], "#999"), ("landlock alone", P["landlock alone"]["open"], "#c84")]:
        s.append(f'<line x1="60" x2="{w - 40}" y1="{Y(val):.1f}" y2="{Y(val):.1f}" stroke="{col}" stroke-dasharray="4"/>'
                 f'<text x="{w - 180}" y="{Y(val) - 4:.1f}" fill="{col}">{name} {val:.0f}</text>')
    s.append('<polyline fill="none" stroke="#27c" stroke-width="2" points="' + " ".join(f"{X(i)},{Y(v):.1f}" for i, (_, v) in enumerate(pts)) + '"/>')
    for i, (n, v) in enumerate(pts):
        s.append(f'<circle cx="{X(i)}" cy="{Y(v):.1f}" r="4" fill="#27c"/><text x="{X(i) - 20}" y="{h + 290}">{n} rules</text>'
                 f'<text x="{X(i) + 6}" y="{Y(v) - 6:.1f}" fill="#27c">{v:.0f}</text>')
    s.append("</svg>")
    open(f"{OUT}/bench.svg", "w").write("\n".join(s))


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root (it starts varmord): sudo scripts/bench.sh")
    if LIVE:
        live(LIVE)
    else:
        main()
