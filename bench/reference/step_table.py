#!/usr/bin/env python3
"""Formats the JSON lines of run_step_bench.sh as one table: per case, our median time and each
PyTorch run's, the ratio ours / theirs (below 1: we are faster), and the peak memory of each
(RSS growth during the case, see step_bench.py; plus our tensor-allocator peak)."""
import argparse
import datetime
import json
import platform


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--config", default="")
    ap.add_argument("--threads", default="")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--env", default="")
    ap.add_argument("--load", default="")
    a = ap.parse_args()
    rows, order, runs = {}, [], []
    torch_version = ""
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            case, run = r["case"], r["run"]
            if case not in rows:
                rows[case] = {}
                order.append(case)
            if run not in runs:
                runs.append(run)
            rows[case][run] = r
            torch_version = r.get("torch", torch_version)
    others = [r for r in runs if r != "sdkd"]

    print(f"# step benchmark: {datetime.datetime.now().isoformat(timespec='seconds')}, {cpu_name()}, "
          f"device {a.device}, {a.threads} threads, PyTorch {torch_version or '?'}")
    print(f"# preset {a.config}; env: {a.env.strip()}; load average before the table: {a.load}")
    print("# ms = median per repeat (a training step, a batch-1 forward, one NS step of all trajectories);")
    print("# ratio = ours / theirs (< 1: ours faster); MiB = peak RSS growth from just before the case is")
    print("# built (weights, optimizer state, activations...; VmHWM reset, fresh process per case);")
    print("# tensor = our allocator's peak tensor bytes")

    def ms(r):
        if r is None:
            return "n/a"
        return "error" if "error" in r else f"{r['median_ms']:.2f}"

    def mib(r, key="rss_peak_mib"):
        if r is None or "error" in r or r.get(key, -1) < 0:
            return "n/a"
        return f"{r[key]:.1f}"

    mem_key = "gpu_peak_mib" if a.device != "cpu" else "rss_peak_mib"
    head = ["case", "ours ms"]
    for o in others:
        head += [f"{o} ms", "ratio"]
    head += ["ours MiB"] + [f"{o} MiB" for o in others]
    if a.device == "cpu":
        head.append("ours tensor MiB")
    table = [head]
    for case in order:
        d = rows[case]
        ours = d.get("sdkd")
        line = [case, ms(ours)]
        for o in others:
            t = d.get(o)
            ok = ours and t and "error" not in ours and "error" not in t
            line += [ms(t), f"{ours['median_ms'] / t['median_ms']:.2f}" if ok else "n/a"]
        line += [mib(ours, mem_key)] + [mib(d.get(o), mem_key) for o in others]
        if a.device == "cpu":
            line.append(mib(ours, "tensor_peak_mib"))
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for k, row in enumerate(table):
        print("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    errors = [(c, run, r["error"]) for c in order for run, r in rows[c].items() if "error" in r]
    for c, run, e in errors:
        print(f"# {c} / {run}: {e}")
    ns = [c for c in order if c.startswith("ns") and "sdkd" in rows[c] and "error" not in rows[c]["sdkd"]]
    if ns:
        print("# NS generator throughput (steps/s): " + "; ".join(
            f"{c}: ours {rows[c]['sdkd']['per_second']:.0f}" + "".join(
                f", {o} {rows[c][o]['per_second']:.0f}" for o in others if o in rows[c] and "error" not in rows[c][o])
            for c in ns))


if __name__ == "__main__":
    main()
