#!/usr/bin/env python3
"""Cross-check sdkd against an independent PyTorch implementation (bench/reference/sdkd_ref).

Reads the files sdkd-crosscheck-dump writes (weights, input, target, and our outputs, losses,
gradients in float32 and float64), recomputes everything with PyTorch from the same weights,
and prints one line per model / loss / distillation case with the largest error of each kind
and PASS or FAIL. Exits 1 on any FAIL (2 when there is nothing to check).

For every model kind the weights are also written as one of our real checkpoints
(sdkd::save_checkpoint, with optimizer moments) and loaded into the reference model with
sdkd_ref.st_io.load_checkpoint (strict names and shapes); a mismatch fails the case.

Error measures (all relative, so they read the same whatever the scale of a quantity):
  out   max |ours - ref| / max |ref| over the tensor (prediction, feature taps, eval-mode
        prediction, BatchNorm running buffers after the step), worst tensor reported
  loss  |ours - ref| / |ref| (also the loss parts and the per-band losses and weights of SDKD)
  grad  max |ours - ref| over every parameter's gradient / max |ref| over ALL parameters of the
        case: relative to the gradient's size, so a parameter whose true gradient is nearly 0
        does not turn rounding noise into a huge "relative" error

Tolerances:
  float64 vs PyTorch float64: 1e-9 for every measure. Both sides compute the same formulas in
        double, differing only in summation order and in algorithms (our FFT vs pocketfft,
        our GEMM blocking, fused attention with an online softmax vs the explicit one); that
        costs ~1e-15 times the conditioning of the case. Any wrong index, sign, scale or missing
        term shows up at 1e-3 or more, so 1e-9 separates bugs from rounding by six orders.
  float32 ours vs PyTorch float64 (the truth, from the same float32 weights): out 1e-4,
        loss 1e-5, grad 1e-4. fp32 rounds at 6e-8 per operation; a forward pass of ~20 layers
        with reductions of up to ~1e3 terms accumulates up to ~1e-6 relative error, BatchNorm
        and GroupNorm in training mode divide by statistics of small batches (batch 3) and
        amplify it, and backward passes sum over all positions again. Measured: ours stays
        below 1e-6 everywhere, as PyTorch's own float32 does; the bounds keep a margin of ~100x
        for larger shapes and other summation orders (thread counts, blocking), while a real
        error (a wrong term, a wrong index) is >= 1e-3. PyTorch's own float32 error against
        float64 is printed beside ours as the yardstick.

oneDNN (mkldnn) is switched off for these runs: in PyTorch 1.13 its float32 GELU backward
ignores the strides of a non-contiguous incoming gradient (AlterNet's token transpose makes
one) and returns wrong gradients, which would make the yardstick column meaningless. The
native CPU kernels are exact there; float64 never takes the oneDNN path.
"""
import argparse
import glob
import json
import os
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdkd_ref import losses as L  # noqa: E402
from sdkd_ref.models import make_model  # noqa: E402
from sdkd_ref.ns import NSSolver  # noqa: E402
from sdkd_ref.st_io import load, load_checkpoint, sub  # noqa: E402

TOL64 = {"out": 1e-9, "loss": 1e-9, "grad": 1e-9}
TOL32 = {"out": 1e-4, "loss": 1e-5, "grad": 1e-4}


def rel(a, ref):
    a, ref = a.double(), ref.double()
    if a.shape != ref.shape:
        return float("inf")
    scale = ref.abs().max().item() if ref.numel() else 0.0
    d = (a - ref).abs().max().item() if ref.numel() else 0.0
    return d / scale if scale > 0 else d


class Errors:
    """Worst error per measure, and which entry it came from."""

    def __init__(self):
        self.worst = {}

    def add(self, kind, name, err):
        if kind not in self.worst or err > self.worst[kind][0] or err != err:
            self.worst[kind] = (err, name)

    def grads(self, ours, ref, names):
        """ours/ref: name -> gradient; errors relative to the largest |ref| over all of them."""
        scale = max((ref[n].abs().max().item() for n in names if n in ref), default=0.0) or 1.0
        for n in names:
            if (n in ours) != (n in ref):
                self.add("grad", n + " (missing on one side)", float("inf"))
                continue
            if n in ref:
                self.add("grad", n, (ours[n].double() - ref[n].double()).abs().max().item() / scale
                         if ours[n].shape == ref[n].shape else float("inf"))


# ---------------------------------------------------------------- reference runs


def grads_of(module, prefix=""):
    return {prefix + n: p.grad.detach() for n, p in module.named_parameters() if p.grad is not None}


def run_model(t, meta, dtype):
    cfg = json.loads(meta["config"])
    m = make_model(cfg)
    ckpt = meta.get("_path", "").replace(".safetensors", ".checkpoint")
    if os.path.exists(ckpt):  # our checkpoint file of the same weights, loaded strictly
        load_checkpoint(m, ckpt)
        for k, v in m.state_dict().items():
            if not torch.equal(v, t["w." + k]):
                raise AssertionError(f"{ckpt}: '{k}' differs from the dumped weights")
    m = m.to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in sub(t, "w.").items()}, strict=True)
    m.train()
    x, y = t["x"].to(dtype), t["y"].to(dtype)
    pred, feats = m(x)
    loss = L.mse(pred, y)
    loss.backward()
    r = {"pred": pred.detach(), "loss": loss.detach()}
    r.update({"feat." + k: v.detach() for k, v in feats.items()})
    r.update({"grad." + k: v for k, v in grads_of(m).items()})
    r.update({"buf." + n: b.detach().clone() for n, b in m.named_buffers()})
    m.eval()
    with torch.no_grad():
        r["eval_pred"] = m(x)[0]
    return r


def run_loss(t, meta, dtype):
    opt = json.loads(meta["options"])
    s = t["s"].to(dtype).requires_grad_(True)
    tt = t["t"].to(dtype)
    kind = meta["loss"]
    r = {}
    if kind == "mse":
        loss = L.mse(s, tt)
    elif kind == "output":
        loss = L.output_kd(s, tt)
    elif kind == "feature":
        loss = L.feature_kd(s, tt)
    elif kind == "ab":
        loss = L.ab_kd(s, tt, opt.get("margin", 1.0))
    elif kind == "sdkd":
        loss, bands, weights = L.spectral_kd(s, tt, opt.get("cutoffs", [0.25]), opt.get("alpha", 1.0),
                                             opt.get("band_weights"), opt.get("adaptive", False),
                                             opt.get("gamma", 0.5))
        r["band_losses"] = torch.tensor(bands, dtype=torch.float64)
        r["weights"] = torch.tensor(weights, dtype=torch.float64)
    else:
        raise ValueError(f"unknown loss {kind}")
    loss.backward()
    r["loss"] = loss.detach()
    r["grad_s"] = s.grad
    return r


def run_distill(t, meta, dtype):
    scfg, tcfg, kd = json.loads(meta["student"]), json.loads(meta["teacher"]), json.loads(meta["kd"])
    student = make_model(scfg).to(dtype)
    teacher = make_model(tcfg).to(dtype)
    dist = L.Distiller(kd, scfg, tcfg, meta["teacher_name"]).to(dtype)
    student.load_state_dict({k: v.to(dtype) for k, v in sub(t, "w.student.").items()}, strict=True)
    teacher.load_state_dict({k: v.to(dtype) for k, v in sub(t, "w.teacher.").items()}, strict=True)
    dist.load_state_dict({k: v.to(dtype) for k, v in sub(t, "w.kd.").items()}, strict=True)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student.train()
    x, y = t["x"].to(dtype), t["y"].to(dtype)
    pred, feats = student(x)
    loss, parts = dist(teacher, x, y, pred, feats)
    loss.backward()
    r = {"loss": loss.detach(), "pred": pred.detach()}
    r.update({"parts." + k: torch.tensor(v, dtype=torch.float64) for k, v in parts.items()})
    r.update({"grad.student." + k: v for k, v in grads_of(student).items()})
    r.update({"grad.kd." + k: v for k, v in grads_of(dist).items()})
    return r


def run_ns(t, meta, dtype):
    """The NS stepper port (float64 only: the generator runs in double on both sides)."""
    n, steps = int(meta["n"]), int(meta["steps"])
    solver = NSSolver(n, float(meta["viscosity"]), float(meta["dt"]), meta["scheme"], t["forcing"].to(dtype),
                      dtype=dtype)
    solver.set_vorticity(t["w0"].to(dtype))
    for _ in range(steps):
        solver.step()
    return {"w": solver.vorticity()}


RUNNERS = {"model": run_model, "loss": run_loss, "distill": run_distill, "ns": run_ns}


def compare(ours, ref, errs):
    """ours: the dump's entries of one precision (prefix removed); ref: a reference run."""
    grad_names = sorted({k for k in list(ours) + list(ref) if k.startswith("grad")})
    errs.grads(ours, ref, grad_names)
    for k, v in ref.items():
        if k.startswith("grad"):
            continue
        if k not in ours:
            errs.add("out", k + " (missing in the dump)", float("inf"))
            continue
        scalar = v.numel() == 1 or k in ("band_losses", "weights")
        errs.add("loss" if scalar else "out", k, rel(ours[k], v))
    for k in ours:
        if not k.startswith("grad") and k not in ref:
            errs.add("out", k + " (missing in the reference)", float("inf"))


def fmt(e):
    return f"{e:8.1e}"


def check_file(path, verbose):
    t, meta = load(path)
    meta["_path"] = path
    run = RUNNERS[meta["kind"]]
    ref64 = run(t, meta, torch.float64)
    e64, e32, et = Errors(), Errors(), Errors()
    compare(sub(t, "f64."), ref64, e64)
    if sub(t, "f32."):  # the NS stepper is double only
        compare(sub(t, "f32."), ref64, e32)
        compare(run(t, meta, torch.float32), ref64, et)  # PyTorch's own float32 error: the yardstick
    ok = True
    cols = []
    for kind in ("out", "loss", "grad"):
        if kind not in e64.worst and kind not in e32.worst:
            cols.append(f"{kind} {'-':>8} {'-':>8} {'-':>8}")
            continue
        a, b, c = e64.worst.get(kind, (0.0, "")), e32.worst.get(kind, (0.0, "")), et.worst.get(kind, (0.0, ""))
        bad64, bad32 = not a[0] <= TOL64[kind], not b[0] <= TOL32[kind]
        ok &= not (bad64 or bad32)
        f32cols = f"{fmt(b[0])}{'!' if bad32 else ' '}{fmt(c[0])}" if kind in e32.worst else f"{'-':>8} {'-':>8}"
        cols.append(f"{kind} {fmt(a[0])}{'!' if bad64 else ' '}{f32cols}")
        if verbose or bad64 or bad32:
            if bad64 or verbose:
                cols[-1] += f" [f64 worst: {a[1]}]"
            if bad32 or verbose:
                cols[-1] += f" [f32 worst: {b[1]}]"
    name = os.path.basename(path).replace(".safetensors", "")
    print(f"{name:34s} " + "  ".join(cols) + f"  {'PASS' if ok else 'FAIL'}", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="folder written by sdkd-crosscheck-dump")
    ap.add_argument("--only", default="", help="check only files whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="name the worst entry of every measure")
    args = ap.parse_args()
    files = sorted(f for f in glob.glob(os.path.join(args.dir, "*.safetensors")) if args.only in os.path.basename(f))
    if not files:
        print(f"crosscheck: no .safetensors files in {args.dir} (run sdkd-crosscheck-dump --out {args.dir})")
        return 2
    torch.manual_seed(0)
    torch.backends.mkldnn.enabled = False  # see the header: PyTorch 1.13's oneDNN GELU backward bug
    print(f"PyTorch {torch.__version__}; columns per measure: ours-f64 vs torch-f64, ours-f32 vs torch-f64, "
          f"torch-f32 vs torch-f64 (yardstick)")
    print(f"tolerances: f64 {TOL64}, f32 {TOL32}; '!' marks a value over its tolerance")
    results = [check_file(f, args.verbose) for f in files]
    failed = results.count(False)
    print(f"crosscheck: {len(results) - failed}/{len(results)} PASS" + (f", {failed} FAIL" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
