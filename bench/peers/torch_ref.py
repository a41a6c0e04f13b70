#!/usr/bin/env python3
# Vendored copy of ../shared/bench/torch_ref.py, run by src/main.mjs when /usr/bin/python3 can import torch.
"""Reference timings of joule's benchmark workloads in PyTorch on the CPU.

Setup on Debian: apt-get install -y python3-torch libopenblas0-pthread   (then run with /usr/bin/python3)
Prints one JSON object: milliseconds per step (median of repeats) for each workload.
The workloads are defined in README.md beside this file; keep joule's bench identical to them.
"""
import json, statistics, sys, time
import torch

torch.manual_seed(0)
threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)  # 1 is fastest for these sizes here: OpenMP and OpenBLAS threads contend


def mlp(d_in, hidden, depth):
    layers, d = [], d_in
    for _ in range(depth):
        layers += [torch.nn.Linear(d, hidden), torch.nn.SiLU()]
        d = hidden
    layers.append(torch.nn.Linear(d, 1))
    return torch.nn.Sequential(*layers)


def timed(fn, warm=10, reps=7, inner=20):
    for _ in range(warm):
        fn()
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        runs.append((time.perf_counter() - t) / inner * 1e3)
    return statistics.median(runs)


out = {"torch": torch.__version__, "threads": threads}

# W1: matmul 256x256 and 512x512, float32
for n in (256, 512):
    a = torch.rand(n, n)
    out[f"matmul{n}_ms"] = timed(lambda: a @ a)

# W2: one R-NCE step: batch 256, K = 16 negatives from N(0, 2^2 I), energy MLP 2-128-128-128-1 (SiLU), Adam
D, H, B, K = 2, 128, 256, 16
net = mlp(D, H, 3)
opt = torch.optim.Adam(net.parameters(), 1e-3)
data = torch.randn(4096, D)


def rnce_step():
    y = data[torch.randint(0, 4096, (B,))]
    neg = torch.randn(B, K, D) * 2.0
    allx = torch.cat([y[:, None], neg], 1)
    logq = -0.5 * (allx ** 2).sum(-1) / 4.0
    logits = -net(allx.reshape(-1, D)).reshape(B, K + 1) - logq
    loss = -(logits[:, 0] - torch.logsumexp(logits, 1)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


out["rnce_step_ms"] = timed(rnce_step)

# W3: one Langevin (ULA) step for 1024 chains in 2-D on the same MLP: grad of energy wrt x, no parameter grads
for p in net.parameters():
    p.requires_grad_(False)
x0 = torch.randn(1024, D)
state = {"x": x0}


def ula_step():
    x = state["x"].requires_grad_(True)
    (g,) = torch.autograd.grad(net(x).sum(), x)
    state["x"] = (x - 0.01 * g + (2 * 0.01) ** 0.5 * torch.randn_like(x)).detach()


out["ula_step_ms"] = timed(ula_step)

# W4: denoising score matching step for an energy (needs grad of grad): batch 512, same MLP shape, Adam
for p in net.parameters():
    p.requires_grad_(True)
net2 = mlp(D, H, 3)
opt2 = torch.optim.Adam(net2.parameters(), 1e-3)


def dsm_step():
    x = data[torch.randint(0, 4096, (512,))]
    sigma = 0.1
    xn = (x + sigma * torch.randn_like(x)).requires_grad_(True)
    (score,) = torch.autograd.grad(-net2(xn).sum(), xn, create_graph=True)
    loss = ((score + (xn - x) / sigma ** 2) ** 2).sum(-1).mean() * sigma ** 2
    opt2.zero_grad()
    loss.backward()
    opt2.step()


out["dsm_step_ms"] = timed(dsm_step)
print(json.dumps(out))
