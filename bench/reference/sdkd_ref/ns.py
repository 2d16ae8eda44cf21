"""A PyTorch port of our pseudo-spectral Navier-Stokes stepper (engine/src/ns_solver.cpp), the
same two schemes with the same conventions, for the generator throughput comparison. Batched:
the state is (batch, n, n//2+1) complex, numpy's unnormalised rfft2 of the vorticity over the
last two axes (axis 0 of a field is x, axis 1 is y, as ours)."""
import math

import torch


class NSSolver:
    def __init__(self, n, viscosity, dt, scheme, forcing, device="cpu", dtype=torch.float64):
        """forcing: (n, n) grid values. scheme: "ifrk4" or "fno"."""
        if n < 4 or n % 2:
            raise ValueError(f"NSSolver: grid size must be even and >= 4, got {n}")
        if scheme not in ("ifrk4", "fno"):
            raise ValueError(f'Navier-Stokes scheme: expected "ifrk4" or "fno", got "{scheme}"')
        self.n, self.nu, self.dt, self.scheme = n, viscosity, dt, scheme
        kw = dict(device=device, dtype=dtype)
        r = torch.arange(n, **kw)
        kx = torch.where(r < n // 2, r, r - n)[:, None]           # rows: k_x in [-n/2, n/2)
        ky = torch.arange(n // 2 + 1, **kw)[None, :]              # columns: k_y in [0, n/2]
        self.lam = 4 * math.pi ** 2 * (kx ** 2 + ky ** 2)
        self.inv_lam = torch.where(self.lam > 0, 1 / torch.where(self.lam > 0, self.lam, torch.ones_like(self.lam)),
                                   torch.zeros_like(self.lam))
        # Derivatives use wavenumber 0 on the Nyquist row / column (ours, not FNO's -n/2).
        self.dkx = 2 * math.pi * torch.where(r[:, None] == n // 2, torch.zeros_like(kx), kx)
        self.dky = 2 * math.pi * torch.where(ky == n // 2, torch.zeros_like(ky), ky)
        self.mask = ((3 * kx.abs() <= n) & (3 * ky <= n)).to(dtype)  # FNO's square 2/3 cut
        self.f_h = torch.fft.rfft2(torch.as_tensor(forcing, **kw))
        if scheme == "fno":
            a = 0.5 * dt * viscosity * self.lam
            self.cn_keep, self.cn_div = 1 - a, 1 / (1 + a)
        else:
            self.ef_full = torch.exp(-viscosity * self.lam * dt)
            self.ef_half = torch.exp(-0.5 * viscosity * self.lam * dt)
        self.w_h = None

    def set_vorticity(self, w):
        """w: (batch, n, n) or (n, n) grid values."""
        self.w_h = torch.fft.rfft2(w)

    def vorticity(self):
        return torch.fft.irfft2(self.w_h, s=(self.n, self.n))

    def tendency(self, w_h):
        """-mask * FFT(u . grad w) + f_h."""
        psi = w_h * self.inv_lam
        i_psi, i_w = 1j * psi, 1j * w_h
        d = torch.stack([self.dky * i_psi, -self.dkx * i_psi, self.dkx * i_w, self.dky * i_w])
        u, v, wx, wy = torch.fft.irfft2(d, s=(self.n, self.n))
        return self.f_h - self.mask * torch.fft.rfft2(u * wx + v * wy)

    def step(self):
        w, dt = self.w_h, self.dt
        if self.scheme == "fno":
            self.w_h = (dt * self.tendency(w) + self.cn_keep * w) * self.cn_div
            return
        E, E2, h = self.ef_full, self.ef_half, 0.5 * dt
        k1 = self.tendency(w)
        k2 = self.tendency(E2 * (w + h * k1))
        k3 = self.tendency(E2 * w + h * k2)
        k4 = self.tendency(E * w + dt * E2 * k3)
        self.w_h = E * w + dt / 6 * (E * k1 + 2 * E2 * (k2 + k3) + k4)


def forcing(n, amplitude=0.1, dtype=torch.float64):
    """f = a (sin 2 pi (x + y) + cos 2 pi (x + y)) on x_i = i / n (datasets/navier_stokes.hpp)."""
    x = torch.arange(n, dtype=dtype) / n
    s = 2 * math.pi * (x[:, None] + x[None, :])
    return amplitude * (torch.sin(s) + torch.cos(s))
