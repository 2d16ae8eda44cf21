"""The sdkd losses in PyTorch (engine/src/ops_spectral_loss.cpp, engine/src/ops_reduce.cpp,
distill/kd_losses.cpp, distill/distiller.cpp).

Written from the definitions in those headers, with autograd doing the backward: the engine's
hand-derived gradients (irfft2 of the gradient spectrum, the AB hinge) are checked against it.
"""
import functools

import torch
import torch.nn.functional as F
from torch import nn

from .models import FeatureAdapter, latent_channels, make_model


def mse(pred, target):
    """The task loss: mean over all elements."""
    return F.mse_loss(pred, target)


def output_kd(student_pred, teacher_pred):
    return F.mse_loss(student_pred, teacher_pred.detach())


def feature_kd(student_feat, teacher_feat):
    return F.mse_loss(student_feat, teacher_feat.detach())


def ab_kd(student_feat, teacher_feat, margin=1.0):
    """Activation boundaries (Heo et al. 2019, squared hinge), divided by numel as ours."""
    fires = (teacher_feat.detach() > 0).to(student_feat.dtype)
    h = fires * F.relu(margin - student_feat) + (1 - fires) * F.relu(margin + student_feat)
    return (h * h).sum() / student_feat.numel()


# ---------------------------------------------------------------- spectral (SDKD)


@functools.lru_cache(maxsize=64)
def _band_tables(H, W, cutoffs):
    """(band index (H, W//2+1), one-hot band masks (K, H, W//2+1) float64, column weights), cached
    so a training loop does not rebuild them every step."""
    band = band_index(H, W, cutoffs)
    onehot = torch.stack([(band == b).double() for b in range(len(cutoffs) + 1)])
    return band, onehot, column_weight(H, W).contiguous()


def band_index(H, W, cutoffs):
    """Band of each rfft2 half-spectrum bin (H, W//2+1): rho = |(ky/(H/2), kx/(W/2))|, band b
    holds c_b < rho <= c_{b+1}, and a bin within 1e-12 of a cutoff counts as on it."""
    ky = torch.tensor([r if r < (H + 1) // 2 else r - H for r in range(H)], dtype=torch.float64)
    kx = torch.arange(W // 2 + 1, dtype=torch.float64)
    rho = torch.sqrt((ky[:, None] / (H / 2)) ** 2 + (kx[None, :] / (W / 2)) ** 2)
    band = torch.zeros(rho.shape, dtype=torch.long)
    for c in cutoffs:
        band += (rho > c + 1e-12).long()
    return band


def column_weight(H, W):
    """1 for self-conjugate columns (kx = 0, and kx = W/2 for even W), 2 for the others."""
    w = torch.full((W // 2 + 1,), 2.0, dtype=torch.float64)
    w[0] = 1.0
    if W % 2 == 0:
        w[W // 2] = 1.0
    return w.expand(H, W // 2 + 1)


def spectral_kd(student, teacher, cutoffs=(0.25,), alpha=1.0, band_weights=None, adaptive=False, gamma=0.5):
    """Band-split spectral loss of engine/include/sdkd/spectral_loss.hpp. Returns (loss, band_losses, weights);
    band_losses and weights are float lists as SpectralKDResult's."""
    H, W = student.shape[-2:]
    K = len(cutoffs) + 1
    numel = student.numel()
    maps = numel // (H * W)
    band, onehot, wk = _band_tables(H, W, tuple(float(c) for c in cutoffs))
    onehot, wk = onehot.to(student.device, student.dtype), wk.to(student.device, student.dtype)
    S = torch.fft.rfft2(student, norm="ortho")
    T = torch.fft.rfft2(teacher.detach(), norm="ortho")
    err = (wk * (S - T).abs() ** 2).reshape(maps, H, W // 2 + 1).sum(0)  # summed over maps
    sums = list((onehot * err).sum((1, 2)).unbind(0))  # per band

    weights = list(band_weights) if band_weights else [alpha] + [1.0] * (K - 1)
    if adaptive:
        with torch.no_grad():
            energy = (onehot * (wk * T.abs() ** 2).reshape(maps, H, W // 2 + 1).sum(0)).sum((1, 2)).tolist()
            bins = [float(column_weight(H, W)[band == b].sum()) for b in range(K)]
            per_bin = [energy[b] / (maps * bins[b]) if bins[b] > 0 else 0.0 for b in range(K)]
            top = max(per_bin)
            a = [0.0 if bins[b] == 0 else (max(per_bin[b], 1e-12 * top) ** -gamma if top > 0 else 1.0)
                 for b in range(K)]
            nonempty = sum(1 for b in range(K) if bins[b] > 0)
            total = sum(a)
            a = [v * nonempty / total for v in a]
        weights = [w * f for w, f in zip(weights, a)]
    loss = sum(w * s for w, s in zip(weights, sums)) / numel
    return loss, [float(v) / numel for v in sums], weights


# ---------------------------------------------------------------- the distillation loss


class Distiller(nn.Module):
    """distill/distiller.cpp for one teacher: owns the adapters as "<teacher>.<tap>" children and
    computes MSE(pred, y) + lambda * sum_taps KD(adapter(s_tap), t_tap) + beta * MSE(pred, t_pred).
    The teacher is frozen and in eval mode (as ours); its forward runs without grad."""

    def __init__(self, kd, student_cfg, teacher_cfg, teacher_name):
        super().__init__()
        self.kd, self.teacher_name = kd, teacher_name
        self.features = kd["method"] in ("sdkd", "feature", "ab")
        holder = nn.Module()
        self.add_module(teacher_name, holder)
        if self.features:
            for tap in kd["taps"]:
                holder.add_module(tap, FeatureAdapter(tap_channels(student_cfg, tap), tap_channels(teacher_cfg, tap)))

    def forward(self, teacher, x, y, pred, feats):
        """-> (total loss, {"mse", "kd", "kd_low"} as floats, like our LossParts)."""
        total = mse(pred, y)
        parts = {"mse": float(total)}
        low = 0.0
        with torch.no_grad():
            t_pred, t_feats = teacher(x)
        kd_total = None
        if self.features:
            for tap in self.kd["taps"]:
                s = getattr(getattr(self, self.teacher_name), tap)(feats[tap])
                t = t_feats[tap]
                m = self.kd["method"]
                if m == "sdkd":
                    term, bands, _ = spectral_kd(s, t, self.kd["cutoffs"], self.kd["alpha"],
                                                 self.kd.get("band_weights") or None, self.kd["adaptive"],
                                                 self.kd["gamma"])
                    low += bands[0]
                elif m == "feature":
                    term = feature_kd(s, t)
                else:
                    term = ab_kd(s, t, self.kd["ab_margin"])
                term = self.kd["lambda"] * term
                kd_total = term if kd_total is None else kd_total + term
        beta = 1.0 if self.kd["method"] == "output" and self.kd["beta"] == 0 else self.kd["beta"]
        if beta > 0:
            term = beta * output_kd(pred, t_pred)
            kd_total = term if kd_total is None else kd_total + term
        if kd_total is None:
            return total, parts
        parts["kd"] = float(kd_total)
        if self.kd["method"] == "sdkd":
            parts["kd_low"] = low
        return total + kd_total, parts


def tap_channels(cfg, tap):
    """Channels of a feature tap (ours probes the models; these are the models' definitions):
    "latent" as models::latent_channels; "encoder" exists on the U-Net (4 * hidden) and the
    teachers (in_frames * hid_S)."""
    if tap == "latent" or (tap == "encoder" and cfg["name"] in ("unet", "simvp", "alternet")):
        return latent_channels(cfg)
    raise ValueError(f"reference distiller: model '{cfg['name']}' has no feature tap '{tap}'")


def make_teacher(cfg):
    t = make_model(cfg)
    t.eval()
    for p in t.parameters():
        p.requires_grad_(False)
    return t


__all__ = ["mse", "output_kd", "feature_kd", "ab_kd", "spectral_kd", "band_index", "column_weight", "Distiller",
           "make_teacher", "tap_channels"]
