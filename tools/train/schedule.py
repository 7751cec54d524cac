"""The scheduler's default mask-and-replace schedule (docs/generation.md, step 4), as torch tables.

Computed in float64, logged with a floor of log(1e-30) (the reference's one-hot floor, which stands
in for log 0), stored as float32. Index T of the cumulative tables is the identity ("t = -1").

K = number of classes including the mask (num_vec_classes); the mask is class K-1.
"""
import math

import torch

LOG_EPS = math.log(1e-30)


def _log(x):
    return torch.log(x.clamp_min(1e-30)).float()


class Schedule:
    def __init__(self, num_classes, num_timesteps=100, alpha_cum_start=0.99999,
                 alpha_cum_end=0.000009, gamma_cum_start=0.000009, gamma_cum_end=0.99999):
        K, T = num_classes, num_timesteps
        self.K, self.T = K, T
        i = torch.arange(T, dtype=torch.float64)
        at_cum = alpha_cum_start + i / (T - 1) * (alpha_cum_end - alpha_cum_start)
        ct_cum = gamma_cum_start + i / (T - 1) * (gamma_cum_end - gamma_cum_start)
        at = torch.cat([at_cum[:1], at_cum[1:] / at_cum[:-1]])
        keep_cum = 1 - ct_cum
        ct = 1 - torch.cat([keep_cum[:1], keep_cum[1:] / keep_cum[:-1]])
        bt = (1 - at - ct) / (K - 1)
        bt_cum = (1 - at_cum - ct_cum) / (K - 1)
        one, zero = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
        # Probabilities (for drawing x_t) and logs (for the posterior), cumulative with index T.
        self.at_cum = torch.cat([at_cum, one]).float()
        self.bt_cum = torch.cat([bt_cum, zero]).float()
        self.ct_cum = torch.cat([ct_cum, zero]).float()
        self.log_at, self.log_bt, self.log_ct = _log(at), _log(bt), _log(ct)
        self.log_at_cum = _log(torch.cat([at_cum, one]))
        self.log_bt_cum = _log(torch.cat([bt_cum, zero]))
        self.log_ct_cum = _log(torch.cat([ct_cum, zero]))
