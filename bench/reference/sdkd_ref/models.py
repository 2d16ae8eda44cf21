"""The sdkd forecasters in PyTorch, for cross-checks and timing only (the engine never uses this).

Every module mirrors one in models/ with the same registration names, so `state_dict()` keys
equal ours (e.g. "hid.blocks.0.dw7.weight") and a checkpoint of ours loads with strict=True.
The C++ file each class follows is named in its docstring; read that file for the why.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.1  # models/layers.cpp, models/resnet.cpp


class BatchNorm2d(nn.Module):
    """engine nn::BatchNorm2d: weight, bias, running_mean, running_var and nothing else.

    torch.nn.BatchNorm2d adds a num_batches_tracked buffer that our checkpoints do not have;
    the arithmetic (batch statistics in training, unbiased variance in the running update,
    momentum 0.1) is F.batch_norm's.
    """

    def __init__(self, channels, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)


def conv(cin, cout, k, stride=1, pad=None, dil=1, groups=1, bias=True):
    """engine nn::Conv2d: pad None means "same", dil * (k - 1) / 2."""
    return nn.Conv2d(cin, cout, k, stride, dil * (k - 1) // 2 if pad is None else pad, dil, groups, bias)


# ---------------------------------------------------------------- students


class ConvBNAct(nn.Module):
    """models/layers.cpp: conv k3 (no bias) -> BatchNorm -> LeakyReLU(0.1)."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv = conv(cin, cout, 3, stride, 1, bias=False)
        self.bn = BatchNorm2d(cout)

    def forward(self, x):
        return F.leaky_relu(self.bn(self.conv(x)), LEAKY_SLOPE)


class UpBNAct(nn.Module):
    """models/layers.cpp: ConvTranspose k4 s2 p1 (no bias) -> BatchNorm -> LeakyReLU(0.1)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
        self.bn = BatchNorm2d(cout)

    def forward(self, x):
        return F.leaky_relu(self.bn(self.up(x)), LEAKY_SLOPE)


def add_last_frame(y, x, cfg):
    """The residual option of every model: predict the change from the last input frame."""
    return y + x[:, cfg["in_frames"] - 1:cfg["in_frames"]] if cfg["residual"] else y


class UNet(nn.Module):
    """models/unet.cpp."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        cin, cout, w = cfg["in_frames"] * cfg["channels"], cfg["out_frames"] * cfg["channels"], cfg["hidden"]
        self.inc = ConvBNAct(cin, w)
        self.down1 = ConvBNAct(w, 2 * w, 2)
        self.conv1 = ConvBNAct(2 * w, 2 * w)
        self.down2 = ConvBNAct(2 * w, 4 * w, 2)
        self.conv2 = ConvBNAct(4 * w, 4 * w)
        self.mid = ConvBNAct(4 * w, 4 * w)
        self.up1 = UpBNAct(4 * w, 2 * w)
        self.dec1 = ConvBNAct(4 * w, 2 * w)
        self.up2 = UpBNAct(2 * w, w)
        self.dec2 = ConvBNAct(2 * w, w)
        self.out = conv(w, cout, 1)

    def forward(self, x):
        c = self.cfg
        B, H, W = x.shape[0], c["height"], c["width"]
        s0 = self.inc(x.reshape(B, c["in_frames"] * c["channels"], H, W))
        s1 = self.conv1(self.down1(s0))
        e2 = self.conv2(self.down2(s1))
        latent = self.mid(e2)
        d1 = self.dec1(torch.cat([self.up1(latent), s1], 1))
        d0 = self.dec2(torch.cat([self.up2(d1), s0], 1))
        y = self.out(d0).reshape(B, c["out_frames"], c["channels"], H, W)
        return add_last_frame(y, x, c), {"encoder": e2, "latent": latent, "decoder": d1}


class ResidualBlock(nn.Module):
    """models/resnet.cpp."""

    def __init__(self, w):
        super().__init__()
        self.conv1 = ConvBNAct(w, w)
        self.conv2 = conv(w, w, 3, bias=False)
        self.bn2 = BatchNorm2d(w)

    def forward(self, x):
        return F.leaky_relu(x + self.bn2(self.conv2(self.conv1(x))), LEAKY_SLOPE)


class ResNet(nn.Module):
    """models/resnet.cpp: full resolution, latent = 4x4 average pool of the last block."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        w = cfg["hidden"]
        self.stem = ConvBNAct(cfg["in_frames"] * cfg["channels"], w)
        self.blocks = nn.ModuleList([ResidualBlock(w) for _ in range(cfg["blocks"])])
        self.out = conv(w, cfg["out_frames"] * cfg["channels"], 1)

    def forward(self, x):
        c = self.cfg
        B, H, W = x.shape[0], c["height"], c["width"]
        h = self.stem(x.reshape(B, c["in_frames"] * c["channels"], H, W))
        for b in self.blocks:
            h = b(h)
        y = self.out(h).reshape(B, c["out_frames"], c["channels"], H, W)
        return add_last_frame(y, x, c), {"latent": F.avg_pool2d(h, 4)}


class MixerBlock(nn.Module):
    """models/mixer.cpp: x + TokenMLP(LN(x)) across tokens, then x + ChannelMLP(LN(x))."""

    def __init__(self, tokens, dim, token_hidden, channel_hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_fc1 = nn.Linear(tokens, token_hidden)
        self.token_fc2 = nn.Linear(token_hidden, tokens)
        self.norm2 = nn.LayerNorm(dim)
        self.channel_fc1 = nn.Linear(dim, channel_hidden)
        self.channel_fc2 = nn.Linear(channel_hidden, dim)

    def forward(self, x):
        t = self.norm1(x).transpose(1, 2)
        h = x + self.token_fc2(F.gelu(self.token_fc1(t))).transpose(1, 2)
        return h + self.channel_fc2(F.gelu(self.channel_fc1(self.norm2(h))))


class Mixer(nn.Module):
    """models/mixer.cpp: 4x4 patches of the frames folded into channels."""

    P = 4

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        dim, tokens = 4 * cfg["hidden"], (cfg["height"] // self.P) * (cfg["width"] // self.P)
        self.embed = nn.Linear(self.P * self.P * cfg["in_frames"] * cfg["channels"], dim)
        self.blocks = nn.ModuleList([MixerBlock(tokens, dim, max(1, dim // 2), cfg["mlp_ratio"] * dim)
                                     for _ in range(cfg["blocks"])])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, self.P * self.P * cfg["out_frames"] * cfg["channels"])

    def forward(self, x):
        c, P = self.cfg, self.P
        B, H, W = x.shape[0], c["height"], c["width"]
        h, w = H // P, W // P
        cin, cout = c["in_frames"] * c["channels"], c["out_frames"] * c["channels"]
        t = self.embed(x.reshape(B, cin, h, P, w, P).permute(0, 2, 4, 1, 3, 5).reshape(B, h * w, cin * P * P))
        for b in self.blocks:
            t = b(t)
        latent = t.transpose(1, 2).reshape(B, t.shape[2], h, w)
        out = self.head(self.norm(t))
        y = out.reshape(B, h, w, cout, P, P).permute(0, 3, 1, 4, 2, 5).reshape(B, c["out_frames"], c["channels"], H, W)
        return add_last_frame(y, x, c), {"latent": latent}


# ---------------------------------------------------------------- teachers


def teacher_block_strided(i, n):
    """models/encoder.cpp: blocks 1 and n-1 change resolution."""
    return i == 1 or i == n - 1


class ConvGNAct(nn.Module):
    """models/encoder.cpp: conv 3x3 (or ConvTranspose k4 s2 p1), GroupNorm(2), SiLU; biases kept."""

    def __init__(self, cin, cout, stride=1, up=False):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 4, 2, 1) if up else conv(cin, cout, 3, stride)
        self.norm = nn.GroupNorm(2, cout)

    def forward(self, x):
        return F.silu(self.norm(self.conv(x)))


class FrameEncoder(nn.Module):
    def __init__(self, cin, hid, n):
        super().__init__()
        self.blocks = nn.ModuleList([ConvGNAct(cin if i == 0 else hid, hid, 2 if teacher_block_strided(i, n) else 1)
                                     for i in range(n)])

    def forward(self, frames):
        skip = self.blocks[0](frames)
        z = skip
        for b in self.blocks[1:]:
            z = b(z)
        return z, skip


class FrameDecoder(nn.Module):
    def __init__(self, hid, cout, n):
        super().__init__()
        self.blocks = nn.ModuleList([ConvGNAct(hid, hid, 1, teacher_block_strided(n - 1 - j, n)) for j in range(n)])
        self.readout = conv(hid, cout, 1)

    def forward(self, latent, skip):
        """The frames and the last half-resolution block output (ours: the "decoder" tap)."""
        z, half = latent, None
        for b in self.blocks[:-1]:
            z = b(z)
            if 2 * z.shape[2] == skip.shape[2]:
                half = z
        return self.readout(self.blocks[-1](z + skip)), half


class GatedBlock(nn.Module):
    """models/simvp.cpp: x + proj(LKA(BN(x)) * BN(x)), then x + MLP(BN(x))."""

    def __init__(self, dim, mlp_ratio):
        super().__init__()
        self.norm1 = BatchNorm2d(dim)
        self.dw5 = conv(dim, dim, 5, groups=dim)
        self.dw7 = conv(dim, dim, 7, dil=3, groups=dim)
        self.pw = conv(dim, dim, 1)
        self.proj = conv(dim, dim, 1)
        self.norm2 = BatchNorm2d(dim)
        self.fc1 = conv(dim, mlp_ratio * dim, 1)
        self.fc2 = conv(mlp_ratio * dim, dim, 1)

    def forward(self, x):
        u = self.norm1(x)
        h = x + self.proj(self.pw(self.dw7(self.dw5(u))) * u)
        return h + self.fc2(F.gelu(self.fc1(self.norm2(h))))


def attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v, written out (the engine's fused kernel computes the same)."""
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    return torch.matmul(torch.softmax(s, -1), v)


class AlterBlock(nn.Module):
    """models/alternet.cpp: local conv branch + global attention branch, fused, then an MLP."""

    def __init__(self, dim, heads, positions, mlp_ratio):
        super().__init__()
        self.heads = heads
        self.conv = conv(dim, dim, 3)
        self.dwconv = conv(dim, dim, 3, groups=dim)
        self.pos_embed = nn.Parameter(0.02 * torch.randn(positions, dim))
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.fuse_norm = nn.LayerNorm(dim)
        self.mlp_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)

    def forward(self, z):
        B, C, h, w = z.shape
        tokens = lambda m: m.reshape(m.shape[0], m.shape[1], h * w).transpose(1, 2)  # noqa: E731
        split = lambda m: m.reshape(B, h * w, self.heads, C // self.heads).permute(0, 2, 1, 3)  # noqa: E731
        zh = F.gelu(self.dwconv(self.conv(z)))
        tok = tokens(z)
        t = tok + self.pos_embed
        a = attention(split(self.q(t)), split(self.k(t)), split(self.v(t)))
        zl = self.out(a.permute(0, 2, 1, 3).reshape(B, h * w, C))
        u = tok + self.fuse_norm(tokens(zh) + zl)
        out = u + self.fc2(F.gelu(self.fc1(self.mlp_norm(u))))
        return out.transpose(1, 2).reshape(B, C, h, w)


class LatentTeacher(nn.Module):
    """models/latent_teacher.cpp; SimVP and AlterNet differ only in the translator block."""

    def __init__(self, cfg, make_block):
        super().__init__()
        self.cfg = cfg
        lat = cfg["in_frames"] * cfg["hid_S"]
        self.enc = FrameEncoder(cfg["channels"], cfg["hid_S"], cfg["N_S"])
        self.hid = nn.Module()  # "hid.in", "hid.blocks.i", "hid.out" as in ours; `in` is a keyword
        self.hid.add_module("in", conv(lat, cfg["hid_T"], 1))
        self.hid.blocks = nn.ModuleList([make_block(cfg) for _ in range(cfg["N_T"])])
        self.hid.add_module("out", conv(cfg["hid_T"], lat, 1))
        self.dec = FrameDecoder(cfg["hid_S"], cfg["channels"], cfg["N_S"])

    def forward(self, x):
        c = self.cfg
        B, T = x.shape[0], c["in_frames"]
        latent_f, skip = self.enc(x.reshape(B * T, c["channels"], c["height"], c["width"]))
        z = latent_f.reshape(B, T * c["hid_S"], latent_f.shape[2], latent_f.shape[3])
        h = getattr(self.hid, "in")(z)
        for b in self.hid.blocks:
            h = b(h)
        latent = getattr(self.hid, "out")(h)
        frames, half = self.dec(latent.reshape(B * T, c["hid_S"], latent.shape[2], latent.shape[3]), skip)
        y = frames.reshape(B, c["out_frames"], c["channels"], c["height"], c["width"])
        decoder = half.reshape(B, T * c["hid_S"], half.shape[2], half.shape[3])
        return add_last_frame(y, x, c), {"encoder": z, "latent": latent, "decoder": decoder}


def SimVP(cfg):
    return LatentTeacher(cfg, lambda c: GatedBlock(c["hid_T"], c["mlp_ratio"]))


def AlterNet(cfg):
    return LatentTeacher(cfg, lambda c: AlterBlock(c["hid_T"], c["heads"], (c["height"] // 4) * (c["width"] // 4),
                                                   c["mlp_ratio"]))


DEFAULTS = dict(name="unet", in_frames=10, out_frames=10, channels=1, height=64, width=64, hidden=16, residual=True,
                hid_S=16, hid_T=128, N_S=4, N_T=4, heads=4, blocks=4, mlp_ratio=2)  # models/forecaster.hpp


def make_model(cfg):
    """models/forecaster.cpp make_model; cfg is our ModelConfig JSON (missing keys take our defaults).
    forward(x) returns (pred, {tap: feature})."""
    c = dict(DEFAULTS, **cfg)
    kinds = {"unet": UNet, "resnet": ResNet, "mixer": Mixer, "simvp": SimVP, "alternet": AlterNet}
    if c["name"] not in kinds:
        raise ValueError(f"unknown model '{c['name']}' (available: {', '.join(kinds)})")
    return kinds[c["name"]](c)


def latent_channels(cfg):
    c = dict(DEFAULTS, **cfg)
    if c["name"] in ("unet", "mixer"):
        return 4 * c["hidden"]
    if c["name"] == "resnet":
        return c["hidden"]
    return c["in_frames"] * c["hid_S"]


class FeatureAdapter(nn.Module):
    """models/adapter.cpp: a 3x3 conv with bias from the student's latent channels to the teacher's."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = conv(cin, cout, 3)

    def forward(self, x):
        return self.conv(x)
