"""The VQ-Diffusion objective: the forward process q(x_t | x_0), the posterior q(x_{t-1} | x_t, x_0),
and the loss (variational bound + auxiliary x_0 cross-entropy), as in Gu et al. (arXiv 2111.14822).

Shapes: B images, N latent pixels, K classes with the mask K-1 last, K1 = K-1 codes.
The posterior is the scheduler's (docs/generation.md, step 4), written in log space; it is the same formula the
TypeScript `qPosterior` computes, here batched over a per-image timestep.
"""
import torch
import torch.nn.functional as F

from schedule import LOG_EPS


def q_sample(x0, t, sched, generator=None):
    """Draws x_t ~ q(x_t | x_0) at cumulative index t.

    x0: long [B, N] codes in [0, K1); t: long [B]. Returns long [B, N] in [0, K).
    Masked with probability γ̄_t; otherwise kept with probability ᾱ_t, else a uniform code.
    """
    B, N = x0.shape
    K1 = sched.K - 1
    u = torch.rand(B, N, generator=generator)
    gamma = sched.ct_cum[t][:, None]
    alpha = sched.at_cum[t][:, None]
    random_codes = torch.randint(0, K1, (B, N), generator=generator)
    xt = torch.where(u < alpha + gamma, x0, random_codes)
    return torch.where(u < gamma, torch.full_like(x0, K1), xt)


def log_posterior(log_x0, xt, t, sched):
    """log q(x_{t-1} | x_t, x_0) with x_0 ~ exp(log_x0), normalised over the K classes.

    log_x0: float32 [B, K1, N]; xt: long [B, N]; t: long [B], every t >= 1. Returns [B, K, N].
    1. q_c = log p(x_0 = c) - log Q̄_t(x_t | c)             (cumulative row of the observed token)
    2. s = logsumexp_c q_c
    3. r_c = logaddexp(q_c - s + log ᾱ_{t-1}, log β̄_{t-1}), r_mask = log γ̄_{t-1}
    4. out_c = r_c + log Q_t(x_t | c)                          (one-step row), then normalise.
    """
    B, K1, N = log_x0.shape
    is_mask = (xt == K1)[:, None, :]                                     # [B, 1, N]
    same = F.one_hot(xt.clamp(max=K1 - 1), K1).permute(0, 2, 1).bool() & ~is_mask  # [B, K1, N]

    def at(table, index):
        return table[index][:, None, None]

    la, lb, lc = at(sched.log_at_cum, t), at(sched.log_bt_cum, t), at(sched.log_ct_cum, t)
    cum_row = torch.where(is_mask, lc, torch.where(same, torch.logaddexp(la, lb), lb))
    q = log_x0 - cum_row
    s = torch.logsumexp(q, dim=1, keepdim=True)
    prev = t - 1
    r_codes = torch.logaddexp(q - s + at(sched.log_at_cum, prev), at(sched.log_bt_cum, prev))
    r_mask = at(sched.log_ct_cum, prev).expand(B, 1, N)
    a1, b1, c1 = at(sched.log_at, t), at(sched.log_bt, t), at(sched.log_ct, t)
    step_codes = torch.where(is_mask, c1, torch.where(same, torch.logaddexp(a1, b1), b1))
    step_mask = torch.where(is_mask, torch.zeros_like(c1), torch.full_like(c1, LOG_EPS))
    out = torch.cat([r_codes + step_codes, r_mask + step_mask.expand(B, 1, N)], dim=1)
    return out - torch.logsumexp(out, dim=1, keepdim=True)


def log_onehot(x0, K1):
    """float32 [B, K1, N]: log of the one-hot of x0 with the reference's 1e-30 floor."""
    return torch.log(F.one_hot(x0, K1).permute(0, 2, 1).float().clamp_min(1e-30))


def losses(log_x0_pred, x0, xt, t, sched):
    """Per-image losses, each a mean over pixels, float32 [B]:
    vlb: KL(q(x_{t-1} | x_t, x_0) || p_θ(x_{t-1} | x_t)) for t >= 1, -log p_θ(x_0 | x_t) at t = 0;
    ce: the auxiliary cross-entropy -log p_θ(x_0 | x_t) at every t.
    """
    K1 = log_x0_pred.shape[1]
    nll = -log_x0_pred.gather(1, x0[:, None, :]).squeeze(1)             # [B, N]
    t1 = t.clamp_min(1)
    log_q = log_posterior(log_onehot(x0, K1), xt, t1, sched)
    log_p = log_posterior(log_x0_pred, xt, t1, sched)
    kl = (log_q.exp() * (log_q - log_p)).sum(1)                         # [B, N]
    vlb = torch.where((t == 0)[:, None], nll, kl).mean(1)
    return vlb, nll.mean(1)
