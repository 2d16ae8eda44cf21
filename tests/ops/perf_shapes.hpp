#pragma once
// The op registry's perf-shape tables: the bench-scale shapes of the op families that sdkd-bench
// times with a specialised benchmark (naive reference, vendor yardstick), one table per kernel
// family, each row with the model and layer it comes from. perf_registry.cpp turns every row into
// a perf entry (the op through the public API on those shapes); the bench's specialised rows read
// the typed row back from the entry. Ops timed on their own case's shapes carry them in the case
// (OpCase::perf in op_registry.cpp).
// Sources: configs/demo.json (U-Net width 8, SimVP hid_S 16 / hid_T 128 / N_T 4,
// batch 10) and configs/paper.json (U-Net width 32; SimVP hid_S 64 / hid_T 512 / N_T 8;
// ST-AlterNet hid_S 64 / hid_T 256 / 8 heads), all on 10 input frames of 64x64 (models/*.cpp):
//   U-Net (width w): inc k3 10->w @64; down1 k3 s2 w->2w; conv1 @32; down2 k3 s2 ->4w @16; mid;
//     up1/up2 ConvTranspose k4 s2 p1; dec1 4w->2w @32; dec2 2w->w @64.
//   Teachers fold the 10 frames into the batch (B*T = 100): encoder k3 blocks 1->hid_S @64,
//     stride 2 @64->32, @32, stride 2 ->16; decoder mirrors it with ConvTranspose k4 s2 p1;
//     translator at 16x16 on B = 10: SimVP gated blocks (depthwise 5x5, depthwise 7x7 dilation 3,
//     1x1 convs, MLP 1x1 hid_T -> 2 hid_T), AlterNet blocks (3x3 conv, attention over the
//     16*16 = 256 positions with hid_T / heads = 32 per head, LayerNorm, MLP hid_T -> 2 hid_T).
//   KD taps (configs kd.taps): (B, T*hid_S, 16, 16) = (10, 160, 16, 16) demo, (10, 640, 16, 16) paper.
// Rows flagged quick are tiny (odd sizes) and are the only ones `--quick` runs.
#include <cstdint>

namespace sdkd::test::ops::shapes {

struct Gemm { const char* name; int64_t M, K, N; bool quick; const char* origin; };
inline constexpr Gemm kGemm[] = {
    {"tiny33x17x29", 33, 17, 29, true, "odd sizes (quick check)"},
    {"unet8.inc.im2col", 8, 90, 4096, false, "demo U-Net inc conv as GEMM: C_out x C_in*9 x 64*64 per sample"},
    {"unet32.dec2.im2col", 32, 576, 4096, false, "paper U-Net dec2 conv as GEMM: 32 x 64*9 x 64*64 per sample"},
    {"alternet256.qkv", 2560, 256, 256, false, "paper AlterNet q/k/v/out Linear: 10*256 tokens x 256 -> 256"},
    {"alternet256.fc1", 2560, 256, 512, false, "paper AlterNet MLP fc1: 2560 x 256 -> 512"},
    {"alternet256.fc2", 2560, 512, 256, false, "paper AlterNet MLP fc2: 2560 x 512 -> 256"},
    {"square1024", 1024, 1024, 1024, false, "reference point for the roofline (not a model layer)"},
};

struct Conv {
  const char* name;
  int64_t N, C_in, H, W, C_out;
  int k, stride, pad, dil, groups;
  bool quick;
  const char* origin;
};
inline constexpr Conv kConv[] = {
    {"tiny2x3x9x9-4k3", 2, 3, 9, 9, 4, 3, 1, 1, 1, 1, true, "odd sizes (quick check)"},
    {"tiny2x4x8x8-4k3s2g2", 2, 4, 8, 8, 4, 3, 2, 1, 1, 2, true, "stride 2, 2 groups (quick check)"},
    {"unet8.inc", 10, 10, 64, 64, 8, 3, 1, 1, 1, 1, false, "demo U-Net inc: 10 frames -> 8 @64"},
    {"unet8.down1", 10, 8, 64, 64, 16, 3, 2, 1, 1, 1, false, "demo U-Net down1: 8 -> 16, stride 2"},
    {"unet8.dec2", 10, 16, 64, 64, 8, 3, 1, 1, 1, 1, false, "demo U-Net dec2: 16 -> 8 @64"},
    {"simvp16.enc0", 100, 1, 64, 64, 16, 3, 1, 1, 1, 1, false, "demo SimVP encoder block 0 (B*T = 100 frames)"},
    {"simvp16.enc2", 100, 16, 32, 32, 16, 3, 1, 1, 1, 1, false, "demo SimVP encoder block 2 @32"},
    {"simvp128.fc1", 10, 128, 16, 16, 256, 1, 1, 0, 1, 1, false, "demo SimVP translator MLP fc1 (1x1)"},
    {"simvp128.dw7d3", 10, 128, 16, 16, 128, 7, 1, 9, 3, 128, false, "demo SimVP depthwise 7x7 dilation 3"},
    {"simvp128.dw5", 10, 128, 16, 16, 128, 5, 1, 2, 1, 128, false, "demo SimVP depthwise 5x5"},
    {"simvp16.enc1", 100, 16, 64, 64, 16, 3, 2, 1, 1, 1, false, "demo SimVP encoder block 1: stride 2, 64 -> 32"},
    {"simvp16.dec3", 100, 16, 64, 64, 16, 3, 1, 1, 1, 1, false, "demo SimVP decoder last block 16 -> 16 @64"},
    {"simvp16.readout", 100, 16, 64, 64, 1, 1, 1, 0, 1, 1, false, "demo SimVP decoder readout 1x1 16 -> 1 @64"},
    {"unet8.dec1", 10, 32, 32, 32, 16, 3, 1, 1, 1, 1, false, "demo U-Net dec1: 32 -> 16 @32"},
    {"unet8.conv2", 10, 32, 16, 16, 32, 3, 1, 1, 1, 1, false, "demo U-Net conv2 / mid: 32 -> 32 @16"},
    {"unet32.inc", 10, 10, 64, 64, 32, 3, 1, 1, 1, 1, false, "paper U-Net inc: 10 -> 32 @64"},
    {"unet32.dec2", 10, 64, 64, 64, 32, 3, 1, 1, 1, 1, false, "paper U-Net dec2: 64 -> 32 @64"},
    {"unet32.mid", 10, 128, 16, 16, 128, 3, 1, 1, 1, 1, false, "paper U-Net mid: 128 -> 128 @16"},
    {"simvp64.enc2", 100, 64, 32, 32, 64, 3, 1, 1, 1, 1, false, "paper teacher encoder block 2 @32 (SimVP and AlterNet)"},
    {"simvp64.dec3", 100, 64, 64, 64, 64, 3, 1, 1, 1, 1, false, "paper teacher decoder last block @64"},
    {"simvp512.fc1", 10, 512, 16, 16, 1024, 1, 1, 0, 1, 1, false, "paper SimVP translator MLP fc1 (1x1)"},
    {"simvp512.dw7d3", 10, 512, 16, 16, 512, 7, 1, 9, 3, 512, false, "paper SimVP depthwise 7x7 dilation 3"},
    {"alternet256.conv3", 10, 256, 16, 16, 256, 3, 1, 1, 1, 1, false, "paper AlterNet high-frequency 3x3 conv"},
};

struct ConvT {
  const char* name;
  int64_t N, C_in, H, W, C_out;  // k4 s2 p1: H -> 2H
  bool quick;
  const char* origin;
};
inline constexpr ConvT kConvT[] = {
    {"tiny2x3x5x5-4", 2, 3, 5, 5, 4, true, "odd sizes (quick check)"},
    {"unet8.up2", 10, 16, 32, 32, 8, false, "demo U-Net up2: 16 -> 8, 32 -> 64"},
    {"simvp16.dec0", 100, 16, 16, 16, 16, false, "demo SimVP decoder block 0: 16 -> 32"},
    {"unet32.up2", 10, 64, 32, 32, 32, false, "paper U-Net up2: 64 -> 32, 32 -> 64"},
    {"simvp64.dec2", 100, 64, 32, 32, 64, false, "paper teacher decoder block 2: 32 -> 64"},
};

enum class NormKind { batch, group, layer };
struct Norm {
  const char* name;
  NormKind kind;
  int64_t d0, d1, d2, d3;  // (N, C, H, W); layer norm: (rows = d0*d1*d2, D = d3)
  int64_t groups;
  bool quick;
  const char* origin;
};
inline constexpr Norm kNorm[] = {
    {"tiny2x3x5x5", NormKind::batch, 2, 3, 5, 5, 0, true, "odd sizes (quick check)"},
    {"tiny2x4x5x5g2", NormKind::group, 2, 4, 5, 5, 2, true, "odd sizes (quick check)"},
    {"tiny3x7x10", NormKind::layer, 1, 3, 7, 10, 0, true, "odd sizes (quick check)"},
    {"unet8.inc", NormKind::batch, 10, 8, 64, 64, 0, false, "demo U-Net BatchNorm after inc"},
    {"simvp128.norm1", NormKind::batch, 10, 128, 16, 16, 0, false, "demo SimVP gated block BatchNorm"},
    {"unet32.dec2", NormKind::batch, 10, 32, 64, 64, 0, false, "paper U-Net BatchNorm after dec2"},
    {"simvp512.norm1", NormKind::batch, 10, 512, 16, 16, 0, false, "paper SimVP gated block BatchNorm"},
    {"simvp16.enc0", NormKind::group, 100, 16, 64, 64, 2, false, "demo teacher encoder GroupNorm(2) @64"},
    {"simvp64.enc0", NormKind::group, 100, 64, 64, 64, 2, false, "paper teacher encoder GroupNorm(2) @64"},
    {"alternet256.fuse", NormKind::layer, 1, 10, 256, 256, 0, false, "paper AlterNet LayerNorm: 10*256 tokens x 256"},
};

struct Attention { const char* name; int64_t B, heads, N, d; bool quick; const char* origin; };
inline constexpr Attention kAttention[] = {
    {"tiny2x2x9x8", 2, 2, 9, 8, true, "odd sizes (quick check)"},
    {"alternet256.b10", 10, 8, 256, 32, false, "paper AlterNet self-attention, batch 10, 8 heads x 32"},
    {"alternet256.b1", 1, 8, 256, 32, false, "paper AlterNet self-attention, batch-1 inference"},
};

struct Softmax { const char* name; int64_t rows, cols; bool quick; const char* origin; };
inline constexpr Softmax kSoftmax[] = {
    {"tiny6x17", 6, 17, true, "odd sizes (quick check)"},
    {"alternet256.scores", 10 * 8 * 256, 256, false, "paper AlterNet score matrix an unfused attention would softmax"},
};

// float64: sdkd-bench also times the CPU transform in float64 (the Navier-Stokes solver's precision).
struct Fft { const char* name; int64_t B, C, H, W; bool quick; const char* origin; bool float64 = false; };
inline constexpr Fft kFft[] = {
    {"tiny2x3x8x6", 2, 3, 8, 6, true, "odd sizes (quick check)"},
    {"kd.demo", 10, 160, 16, 16, false, "demo SDKD tap: SimVP latent (10, 10*16, 16, 16)"},
    {"kd.paper", 10, 640, 16, 16, false, "paper SDKD taps: teacher encoder/latent (10, 10*64, 16, 16)"},
    {"frames64", 10, 10, 64, 64, false, "output frames (10, 10, 64, 64): spectra and band errors in eval"},
    {"ns96", 8, 1, 96, 96, false, "Navier-Stokes solver grid 96^2 (a non-power-of-two grid), 8 states", true},
    {"ns128", 8, 1, 128, 128, false, "Navier-Stokes solver grid 128^2, 8 states", true},
    {"ns256", 1, 1, 256, 256, false, "Navier-Stokes solver grid 256^2 (FNO's), one state", true},
};

struct SpectralLoss { const char* name; int64_t B, C, H, W; double alpha; bool quick; const char* origin; };
inline constexpr SpectralLoss kSpectralLoss[] = {
    {"tiny2x3x8x6", 2, 3, 8, 6, 2.0, true, "odd sizes (quick check)"},
    {"kd.demo", 10, 160, 16, 16, 2.0, false, "demo SDKD loss on the latent tap, cutoff 0.25, alpha 2"},
    {"kd.paper", 10, 640, 16, 16, 1.0, false, "paper SDKD loss per tap, cutoff 0.25, alpha 1"},
};

// Adam over the parameter list of a preset's model (built with models::make_model).
struct Adam {
  const char* name;
  const char* model;
  int64_t hidden, hid_S, hid_T, N_T, heads, size;
  bool quick;
  const char* origin;
};
inline constexpr Adam kAdam[] = {
    {"unet2.tiny", "unet", 2, 0, 0, 0, 0, 16, true, "U-Net width 2 on 16x16 (quick check)"},
    {"unet8", "unet", 8, 0, 0, 0, 0, 64, false, "demo student"},
    {"simvp16-128", "simvp", 0, 16, 128, 4, 4, 64, false, "demo teacher"},
    {"unet32", "unet", 32, 0, 0, 0, 0, 64, false, "paper student"},
    {"simvp64-512", "simvp", 0, 64, 512, 8, 4, 64, false, "paper SimVP teacher"},
    {"alternet64-256", "alternet", 0, 64, 256, 8, 8, 64, false, "paper ST-AlterNet teacher"},
};

// One solver step of datasets/navier_stokes.hpp (double precision, CPU only).
struct NsStep { const char* name; int n; double dt; const char* scheme; bool quick; const char* origin; };
inline constexpr NsStep kNsStep[] = {
    {"n16.ifrk4", 16, 0.01, "ifrk4", true, "tiny grid (quick check)"},
    {"demo.n64.ifrk4", 64, 0.01, "ifrk4", false, "demo preset: 64^2, dt 0.01, IF-RK4"},
    {"fno.n256.cn", 256, 1e-4, "fno", false, "paper data (fno-1e-5): 256^2, dt 1e-4, FNO's CN/Euler scheme"},
};

}  // namespace sdkd::test::ops::shapes
