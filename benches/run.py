#!/usr/bin/env python3
"""The driver of benches/run.sh: generates the workloads, times, writes the report."""
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGHT = os.environ["SIGHT_BIN"]
BASELINE = os.environ["BASELINE_BIN"]
STAGES = os.environ["STAGES_BIN"]
NS = [int(n) for n in os.environ.get("NS", "100 1000 10000 100000").split()]
RUNS = int(os.environ.get("RUNS", "10"))
OUT = os.path.join(ROOT, "target", "bench")


def runs_for(n):
    # Keep the whole benchmark within minutes: fewer runs where one takes seconds.
    return max(5, RUNS // 2) if n >= 100_000 else RUNS


def median_ms(cmd, prepare, runs):
    """Median wall time of `cmd` (a list), `prepare` (a shell command) before each run, and its
    mean CPU time (user + system): on a shared machine the CPU time moves less than the wall time."""
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as export:
            subprocess.run(
                ["hyperfine", "-N", "--style", "none", "-w", "3", "-r", str(runs), "--prepare", prepare,
                 "--export-json", export.name, subprocess.list2cmdline(cmd)],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            result = json.load(open(export.name))["results"][0]
            return result["median"] * 1000, (result["user"] + result["system"]) * 1000
    samples = []
    cpu = []
    for _ in range(runs + 1):
        subprocess.run(prepare, shell=True, check=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(samples[1:]) * 1000, statistics.mean(cpu[1:]) * 1000


def peak_mb(cmd, prepare):
    """The largest maximum resident set size of three runs, in MB."""
    peaks = []
    for _ in range(3):
        subprocess.run(prepare, shell=True, check=True)
        if os.path.exists("/usr/bin/time"):
            r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            peaks.append(int(r.stderr.strip().splitlines()[-1]))
        else:
            code = "import resource,subprocess,sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
            r = subprocess.run([sys.executable, "-c", code] + cmd, check=True, capture_output=True, text=True)
            peaks.append(int(r.stdout.strip()))
    return max(peaks) / 1024


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) // 1024 // 1024} GB RAM"
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average %.1f at the start" % os.getloadavg()[0]
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}{load}"


def main():
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="sight-bench-")
    rows = {}
    try:
        for n in NS:
            spec = os.path.join(work, f"w{n}")
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-workload"), str(n), spec], check=True)
            # Every run starts with nothing left to write back: neither the generated spec nor
            # the previous run's output is flushed to disk while a run is timed (hyperfine's
            # `--prepare` is not timed). Without it the first command after generating 1,000
            # services took half again as long as the same command a minute later.
            os.sync()
            out = os.path.join(work, f"out{n}")
            baseline_out = os.path.join(work, f"baseline{n}.yml")
            # The baseline's file is removed too: rewriting a file that was flushed makes ext4
            # free its blocks on the spot, a cost no sight build into a fresh folder pays.
            fresh = f"rm -rf {out} {baseline_out} && sync"
            runs = runs_for(n)
            cmds = {
                "baseline": [BASELINE, str(n), baseline_out],
                "check": [SIGHT, "check", spec],
                "compose": [SIGHT, "build", spec, "--out", out, "--only", "compose"],
                "build": [SIGHT, "build", spec, "--out", out],
            }
            row = {"n": n}
            for name, cmd in cmds.items():
                row[name], row[name + "_cpu"] = median_ms(cmd, fresh, runs)
                row[name + "_mb"] = peak_mb(cmd, fresh)
                print(f"N={n:>6} {name:<8} {row[name]:9.1f} ms {row[name + '_mb']:7.1f} MB", file=sys.stderr)
            stages = subprocess.run([STAGES, spec, str(runs)], check=True, capture_output=True, text=True)
            row["stages"] = json.loads(stages.stdout.strip().splitlines()[-1])
            rows[n] = row
        # The flagship example, the target of a build an engineer runs by hand.
        example = os.path.join(ROOT, "examples", "sight-platform")
        out = os.path.join(work, "flagship")
        flagship = {}
        for name, cmd in {"check": [SIGHT, "check", example], "build": [SIGHT, "build", example, "--out", out]}.items():
            flagship[name], flagship[name + "_cpu"] = median_ms(cmd, f"rm -rf {out} && sync", 3 * RUNS)
            print(f"flagship {name:<8} {flagship[name]:9.1f} ms", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    tool = "hyperfine (median)" if shutil.which("hyperfine") else f"median of {RUNS} runs"
    lines = [
        f"Run {date} on {machine()}; {tool}; `sight` {subprocess.run([SIGHT, '--version'], capture_output=True, text=True).stdout.strip()}.",
        "",
        "Whole process, wall time (ms), peak memory (MB) and the ratio to the baseline (×):",
        "",
        "| services | baseline | `sight check` | `build --only compose` | `sight build` | peak MB check / compose / build / baseline |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in rows.items():
        b = r["baseline"]
        lines.append(
            f"| {n:,} | {b:.1f} | {r['check']:.1f} ({r['check'] / b:.1f}×) | {r['compose']:.1f} ({r['compose'] / b:.1f}×) | "
            f"{r['build']:.1f} ({r['build'] / b:.1f}×) | {r['check_mb']:.0f} / {r['compose_mb']:.0f} / {r['build_mb']:.0f} / {r['baseline_mb']:.0f} |")
    lines += ["", "CPU time (user + system, mean; ms) and its ratio to the baseline's, which moves less than the wall time when the machine is shared:", "",
              "| services | baseline | `sight check` | `build --only compose` | `sight build` |", "|---:|---:|---:|---:|---:|"]
    for n, r in rows.items():
        b = r["baseline_cpu"]
        lines.append(f"| {n:,} | {b:.1f} | " + " | ".join(f"{r[k + '_cpu']:.1f} ({r[k + '_cpu'] / b:.1f}×)" for k in ("check", "compose", "build")) + " |")
    lines += ["", "Scaling, time(10N)/time(N):", "", "| N → 10N | baseline | check | build --only compose | build |", "|---|---:|---:|---:|---:|"]
    ns = list(rows)
    for a, b in zip(ns, ns[1:]):
        if b == 10 * a:
            ra, rb = rows[a], rows[b]
            lines.append(f"| {a:,} → {b:,} | " + " | ".join(f"{rb[k] / ra[k]:.1f}" for k in ("baseline", "check", "compose", "build")) + " |")
    lines += ["", "The same, CPU time:", "", "| N → 10N | baseline | check | build --only compose | build |", "|---|---:|---:|---:|---:|"]
    for a, b in zip(ns, ns[1:]):
        if b == 10 * a:
            ra, rb = rows[a], rows[b]
            lines.append(f"| {a:,} → {b:,} | " + " | ".join(f"{rb[k + '_cpu'] / ra[k + '_cpu']:.1f}" for k in ("baseline", "check", "compose", "build")) + " |")
    lines += ["", "In process, per stage (ms, median; `benches/stages.rs`; compose output in MB):", "",
              "| services | read | parse | check | graph | emit compose | emit all | write compose | emit and write compose | compose MB |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, r in rows.items():
        s = r["stages"]
        lines.append(f"| {n:,} | {s['read_ms']:.2f} | {s['parse_ms']:.2f} | {s['check_ms']:.2f} | {s['graph_ms']:.2f} | "
                     f"{s['emit_compose_ms']:.2f} | {s['emit_all_ms']:.2f} | {s['write_compose_ms']:.2f} | "
                     f"{s['emit_and_write_compose_ms']:.2f} | {s['compose_bytes'] / 1e6:.1f} |")
    lines += ["", f"The flagship example (`examples/sight-platform`), {3 * RUNS} runs: `sight check` {flagship['check']:.1f} ms "
              f"(CPU {flagship['check_cpu']:.1f} ms), `sight build` into a fresh folder {flagship['build']:.1f} ms (CPU {flagship['build_cpu']:.1f} ms)."]
    report = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write(report)
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump({"workload": rows, "flagship": flagship}, f, indent=1)
    print(report)


if __name__ == "__main__":
    main()
