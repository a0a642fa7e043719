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
BACKEND = sys.argv[2] if VM else "compat"


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


def profile(tmp, n):
    path = os.path.join(tmp, f"rules{n}.yaml")
    with open(path, "w") as f:
        f.write(f"description: {n} rules that never match the workload\n")
        f.write("file:\n  - deny: read\n    paths:\n")
        for i in range(n):
            f.write(f"      - /nonexistent/bench/rule-{i}\n")
        f.write("network:\n  - deny: connect\n    addresses:\n")
        for i in range(min(n, 4096)):
            f.write(f"      - 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
    os.chmod(path, 0o644)
    return path


def oploop(prefix, op, n, **kw):
    r = sh(prefix + [OPLOOP] + op + [str(n)], **kw)
    return float(r.stdout.strip().splitlines()[-1])


def main():
    tmp = tempfile.mkdtemp(prefix="varmor-bench-")
    os.chmod(tmp, 0o755)
    sock = os.path.join(tmp, "varmord.sock")
    pin, cg = "/sys/fs/bpf/varmor-bench", os.path.join(cgroup2(), "varmor-bench")
    d = subprocess.Popen([VARMORD, "--socket", sock, "--pin-dir", pin, "--cgroup-root", cg, "--backend", BACKEND],
                         stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="error"))
    try:
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        v = lambda prof: [RUN, "--socket", sock, "--quiet", "--profile", prof, "--"]
        vs = lambda prof: [RUN, "--socket", sock, "--quiet", "--seccomp", DOCKER_JSON, "--profile", prof, "--"]
        results = {"machine": os.uname().release + f", {os.cpu_count()} cores", "backend": BACKEND}
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
        # median of the rounds.
        bw = ["bwrap", "--dev-bind", "/", "/"]
        fj = ["firejail", "--quiet", "--noprofile"]
        ops = {"open": (["open", "/etc/hostname"], 200000), "exec": (["exec"], 300), "connect": (["connect"], 3000)}
        sandboxes = [("bare", [], ops), ("landlock alone", None, {"open": (["landlock", "open", "/etc/hostname"], 200000)}),
                     ("bwrap", bw, ops)] + ([] if VM else [("firejail", fj, ops)])
        sandboxes += [(f"varmor-run {n} rules", v(profile(tmp, n)), ops) for n in RULES]
        samples = {}
        for _ in range(3):
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
        # RSS with live sandboxes.
        rss0 = int(open(f"/proc/{d.pid}/status").read().split("VmRSS:")[1].split()[0])
        # varmord paces one uid past 200 launches a second: start them in batches.
        live = []
        for i in range(int(os.environ.get("BENCH_LIVE", "1000"))):
            if i and i % 150 == 0:
                time.sleep(1)
            live.append(subprocess.Popen(["runuser", "-u", USER, "--"] + v(f"{ROOT}/profiles.d/base.yaml") + ["sleep", "120"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(5)
        n_live = len(json.loads(sh([RUN, "--socket", sock, "--ps", "--format", "json"], user=False).stdout))
        rss1 = int(open(f"/proc/{d.pid}/status").read().split("VmRSS:")[1].split()[0])
        for p in live:
            p.kill()
        for p in live:
            p.wait()
        results["rss_kib"] = {"idle": rss0, f"{n_live} live sandboxes": rss1}
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
    c = r["concurrent_100"]
    md += ["", f"varmord: 100 concurrent launches p50 {c['p50_ms']:.0f} ms, p99 {c['p99_ms']:.0f} ms ({c['ok']} ok); "
           f"RSS {r['rss_kib']}; CPU per denial line {r['cpu_us_per_denial']:.0f} µs.", ""]
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
    main()
