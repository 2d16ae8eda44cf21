#!/usr/bin/env python3
"""PyTorch's side of the end-to-end step benchmark (bench/step_bench/step_bench.cpp is ours;
bench/reference/run_step_bench.sh runs both and prints one table).

The same cases, on the shapes our program resolves from a preset (`sdkd-step-bench
--print-setup > setup.json`, passed here as --setup), with the reference models of sdkd_ref
(the same architectures, default PyTorch initialisation; the weights do not change the time):

  teacher_step, student_step    forward, MSE, backward, Adam (zero_grad, backward, step)
  sdkd_step                     student + teacher forward (no grad, eval) + adapter + KD loss of
                                the preset + backward + Adam over student and adapters
  sdkd_step_cached              the same with the teacher's outputs computed once
  student_infer_b1, teacher_infer_b1   eval-mode forward of batch 1 under torch.no_grad()
  ns_step, ns_step_x8           our NS stepper ported to torch (sdkd_ref/ns.py, float64), 1 and
                                8 trajectories (batched)

Timing: warm-up, then repeats until --min-time s and --min-reps; median and 10th/90th
percentiles; on CUDA every repeat ends with torch.cuda.synchronize().

Memory: PyTorch has no CPU allocator statistics, and getrusage/psutil give the process's
current or lifetime-peak RSS only, which the import of torch (~300 MB of libraries) and earlier
cases dominate. So, like ours: after the imports, right before a case is built, the kernel's
high-water mark is reset (writing 5 to /proc/self/clear_refs) and rss_peak_mib = VmHWM at the
end - VmRSS at the reset, read from /proc/self/status: the whole footprint of the workload
(weights, inputs, optimizer state, activations, gradients, workspaces). The runner starts one
process per case so that memory freed by an earlier case (and kept by malloc) does not hide a
later case's growth. On CUDA:
torch.cuda.max_memory_allocated after reset_peak_memory_stats.

Options: --mkldnn on|off (oneDNN kernels for conv etc.; on is PyTorch's default, off compares
our kernels with PyTorch's native ones), --device cuda, --compile (torch.compile of the models,
PyTorch >= 2; the NS cases stay eager). CUDA and --compile were written without a GPU and
without PyTorch 2 at hand: untested.
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdkd_ref import losses as L  # noqa: E402
from sdkd_ref.models import make_model  # noqa: E402
from sdkd_ref.ns import NSSolver, forcing  # noqa: E402

CASES = ["teacher_step", "student_step", "sdkd_step", "sdkd_step_cached", "student_infer_b1", "teacher_infer_b1",
         "ns_step", "ns_step_x8"]


def status_kib(key):
    with open("/proc/self/status") as f:
        m = re.search(rf"^{key}:\s+(\d+)", f.read(), re.M)
    return int(m.group(1)) if m else -1


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Bench:
    def __init__(self, args, setup):
        self.args, self.s = args, setup
        self.dev = torch.device(args.device)

    def sync(self):
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)

    def compiled(self, m):
        return torch.compile(m) if self.args.compile else m

    def data(self, cfg, batch, seed=1):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(batch, cfg["in_frames"], cfg["channels"], cfg["height"], cfg["width"], generator=g)
        y = torch.randn(batch, cfg["out_frames"], cfg["channels"], cfg["height"], cfg["width"], generator=g)
        return x.to(self.dev), y.to(self.dev)

    # ---- cases: each returns (step function, warm-up count)

    def train(self, cfg, lr):
        torch.manual_seed(0)
        model = make_model(cfg).to(self.dev).train()
        fwd = self.compiled(model)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        x, y = self.data(cfg, self.s["batch"])

        def step():
            pred, _ = fwd(x)
            loss = L.mse(pred, y)
            loss.item()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step, 2

    def kd(self, cached):
        s = self.s
        torch.manual_seed(0)
        student = make_model(s["student"]).to(self.dev).train()
        teacher = L.make_teacher(s["teacher"]).to(self.dev)
        dist = L.Distiller(s["kd"], s["student"], s["teacher"], s["teacher_name"]).to(self.dev)
        fs, ft = self.compiled(student), self.compiled(teacher)
        opt = torch.optim.Adam(list(student.parameters()) + list(dist.parameters()), lr=s["student_lr"])
        x, y = self.data(s["student"], s["batch"])
        frozen = None
        if cached:
            with torch.no_grad():
                frozen = ft(x)
        teacher_fn = (lambda _x: frozen) if cached else ft

        def step():
            pred, feats = fs(x)
            loss, _ = dist(teacher_fn, x, y, pred, feats)  # runs the teacher under no_grad
            loss.item()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step, 2

    def infer(self, cfg):
        torch.manual_seed(0)
        model = make_model(cfg).to(self.dev).eval()
        fwd = self.compiled(model)
        x, _ = self.data(cfg, 1)

        def step():
            with torch.no_grad():
                fwd(x)
        return step, 5

    def ns(self, trajectories):
        c = self.s["ns"]
        solver = NSSolver(c["n"], c["viscosity"], c["dt"], c["scheme"], forcing(c["n"], c["forcing_amplitude"]),
                          device=self.dev)
        # A smooth random start (the initial field's statistics do not change the cost).
        g = torch.Generator().manual_seed(0)
        w0 = torch.randn(trajectories, c["n"], c["n"], generator=g, dtype=torch.float64)
        w0 = torch.fft.irfft2(torch.fft.rfft2(w0) * torch.exp(-solver.lam.cpu() / 400.0), s=(c["n"], c["n"]))
        solver.set_vorticity(w0.to(self.dev))
        return solver.step, 5

    def make(self, name):
        s = self.s
        table = {
            "teacher_step": lambda: self.train(s["teacher"], s["teacher_lr"]),
            "student_step": lambda: self.train(s["student"], s["student_lr"]),
            "sdkd_step": lambda: self.kd(False),
            "sdkd_step_cached": lambda: self.kd(True),
            "student_infer_b1": lambda: self.infer(s["student"]),
            "teacher_infer_b1": lambda: self.infer(s["teacher"]),
            "ns_step": lambda: self.ns(1),
            "ns_step_x8": lambda: self.ns(8),
        }
        if name not in table:
            raise ValueError(f"unknown case '{name}' (available: {', '.join(CASES)}, all)")
        return table[name]()

    def run(self, name):
        a = self.args
        if self.dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.dev)
        hwm = reset_hwm()
        rss0 = status_kib("VmRSS")
        step, warmup = self.make(name)
        self.sync()
        for _ in range(warmup):
            step()
        self.sync()
        ms = []
        start = time.perf_counter()
        while len(ms) < a.max_reps:
            t0 = time.perf_counter()
            step()
            self.sync()
            t1 = time.perf_counter()
            ms.append(1000 * (t1 - t0))
            if len(ms) >= a.min_reps and t1 - start >= a.min_time:
                break
        q = statistics.quantiles(ms, n=10, method="inclusive") if len(ms) > 1 else [ms[0]] * 9
        r = {"impl": "torch", "case": name, "device": str(self.dev), "threads": torch.get_num_threads(),
             "mkldnn": torch.backends.mkldnn.enabled, "compile": a.compile, "median_ms": statistics.median(ms),
             "p10_ms": q[0], "p90_ms": q[-1], "reps": len(ms), "per_second": 1000 / statistics.median(ms),
             "rss_peak_mib": (status_kib("VmHWM") - rss0) / 1024 if hwm else -1, "torch": torch.__version__}
        if self.dev.type == "cuda":
            r["gpu_peak_mib"] = torch.cuda.max_memory_allocated(self.dev) / 2 ** 20
        if a.compile and name.startswith("ns"):
            r["note"] = "eager (not compiled)"
        return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--setup", required=True, help="JSON from `sdkd-step-bench --print-setup`")
    ap.add_argument("--case", default="all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--mkldnn", choices=["on", "off"], default="on")
    ap.add_argument("--compile", action="store_true", help="torch.compile the models (PyTorch >= 2)")
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=200)
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.mkldnn.enabled = args.mkldnn == "on"
    if args.compile and not hasattr(torch, "compile"):
        sys.exit(f"step_bench.py: --compile needs PyTorch >= 2.0, this is {torch.__version__}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("step_bench.py: --device cuda but torch.cuda.is_available() is False")
    with open(args.setup) as f:
        setup = json.load(f)
    bench = Bench(args, setup)
    failures = 0
    if not args.json:
        print(f"{'case':18s} {'median_ms':>10s} {'p10_ms':>10s} {'p90_ms':>10s} {'reps':>6s} {'rss_peak_MiB':>12s}")
    for name in CASES if args.case == "all" else [args.case]:
        try:
            r = bench.run(name)
        except Exception as e:  # one case that cannot run must not hide the others
            failures += 1
            r = {"impl": "torch", "case": name, "device": args.device, "error": f"{type(e).__name__}: {e}"}
        if args.json:
            print(json.dumps(r), flush=True)
        elif "error" in r:
            print(f"{name:18s} error: {r['error']}", flush=True)
        else:
            print(f"{name:18s} {r['median_ms']:10.3f} {r['p10_ms']:10.3f} {r['p90_ms']:10.3f} {r['reps']:6d} "
                  f"{r['rss_peak_mib']:12.1f}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
