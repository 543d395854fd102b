"""Benchmark: the tutorial's encoding model, plain training loop vs helpers.training.train_encoding_model.

Both train the same ConvFC network (conv 1 -> 6 channels, K = 7, padding 3, flatten, out_layer
Linear(6 * 12 * 16 = 1152, 23589)) from the same initial weights on the same data, with the
tutorial's settings: 200 full-batch SGD iterations, learning rate 2, momentum 0.9, penalties
L2 = 5e-4 and L1 = 1e-6 on the out_layer weights.

(a) "plain": the seed's way. Penalties inside the autograd loss, written as the seed's
    ``regularized_MSE_loss`` writes them (``loss = MSE; loss += L1 + L2`` with
    ``L2 = L2_penalty * torch.square(W).sum()``, ``L1 = L1_penalty * torch.abs(W).sum()``),
    ``optim.SGD(net.parameters(), lr, momentum=0.9)``, ``loss.item()`` each iteration, test loss
    from a second forward pass (under ``torch.no_grad()``, before the step, so both methods report
    the same quantity; the seed also tracked that pass with autograd, which we do not charge to
    the plain loop).
(b) "helper": ``helpers.training.train_encoding_model``.

Each run is a fresh subprocess (so its peak RSS is its own); runs alternate in order over the
repeats and the median wall time and CPU time of each method are reported. Only the training
loop is timed.

Agreement of the final weights: (b) sums the weight gradient in the order autograd sums it for
(a) and updates the momentum as SGD does, so the two should end at bit-identical weights; the
target is max |a - b| / max |a| < 1e-5. Why the order matters: with L1 > 0 the L1 gradient
``L1 * sign(W)`` jumps where a weight crosses zero, so a last-bit difference early on can flip it
and grow to ~3e-3 over 200 iterations. ``--noise-floor`` shows that size: it runs (a) once more
from initial out_layer weights perturbed by a relative 1e-7 (about one float32 rounding step).

Usage (from the repository root):

    .venv/bin/python benchmarks/bench_encoding_training.py              # 200 iterations, 3 repeats
    .venv/bin/python benchmarks/bench_encoding_training.py --iters 20   # a quick look
    .venv/bin/python benchmarks/bench_encoding_training.py --data synthetic  # stand-in responses
    .venv/bin/python benchmarks/bench_encoding_training.py --l1 0       # without the L1 penalty
    .venv/bin/python benchmarks/bench_encoding_training.py --noise-floor  # how far rounding alone drifts

Targets: (b) at least 2x faster than (a) (median wall time); weights as above.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N_NEURONS = 23589
N_STIMULI = 60
HEIGHT, WIDTH = 12, 16
C_OUT, KERNEL = 6, 7
LEARNING_RATE, MOMENTUM, L2_PENALTY, L1_PENALTY = 2.0, 0.9, 5e-4, 1e-6
WEIGHT_TOLERANCE = 1e-5
PERTURBATION = 1e-7
TARGET_SPEEDUP = 2.0


# --------------------------------------------------------------------------------------------
# Worker: one training run in this process
# --------------------------------------------------------------------------------------------


def build(data: str):
    """Network, stimuli (60 x 1 x 12 x 16), resp_train and resp_test (60 x 23589), all seeded."""
    import torch
    from torch import nn

    notes = []
    torch.manual_seed(0)
    try:
        from helpers.stimuli import example_filters, grating_stack

        filters = example_filters(n_channels=C_OUT, kernel_size=KERNEL)
        stimuli = grating_stack(np.linspace(0, 360, N_STIMULI + 1)[:-1] - 180)
        notes.append("filters: helpers.stimuli.example_filters; stimuli: helpers.stimuli.grating_stack")
    except ImportError:
        filters = 0.1 * torch.randn(C_OUT, 1, KERNEL, KERNEL)
        stimuli = torch.randn(N_STIMULI, 1, HEIGHT, WIDTH).sign() / 2
        notes.append("filters and stimuli: seeded random (helpers.stimuli not importable)")

    if data == "synthetic":
        from helpers.data import load_data_split

        resp_train, resp_test, _ = load_data_split(source="synthetic")
        notes.append("responses: helpers.data.load_data_split(source='synthetic')")
    else:
        gen = torch.Generator().manual_seed(1)
        resp_train = torch.randn(N_STIMULI, N_NEURONS, generator=gen)
        resp_test = resp_train + torch.randn(N_STIMULI, N_NEURONS, generator=gen)
        notes.append("responses: seeded random normal")

    class ConvFC(nn.Module):
        def __init__(self, n_neurons):
            super().__init__()
            self.conv = nn.Conv2d(1, C_OUT, kernel_size=KERNEL, padding=KERNEL // 2)
            self.out_layer = nn.Linear(C_OUT * HEIGHT * WIDTH, n_neurons)
            self.conv.weight = nn.Parameter(filters.clone())
            self.conv.bias = nn.Parameter(torch.zeros(C_OUT))
            nn.init.normal_(self.out_layer.weight, std=0.01)

        def forward(self, s):
            return self.out_layer(self.conv(s).flatten(1))

    torch.manual_seed(2)
    net = ConvFC(resp_train.shape[1])
    return net, stimuli, resp_train, resp_test, notes


def plain_loop(net, stimuli, resp_train, resp_test, n_iter, l1):
    """The seed's way of training the encoding model (with the test pass under no_grad)."""
    import torch
    import torch.nn.functional as F

    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    train_loss = np.zeros(n_iter)
    test_loss = np.zeros(n_iter)
    for i in range(n_iter):
        weights = net.out_layer.weight
        prediction = net(stimuli)
        loss = F.mse_loss(prediction, resp_train)
        L2 = L2_PENALTY * torch.square(weights).sum()
        L1 = l1 * torch.abs(weights).sum()
        loss += L1 + L2
        optimizer.zero_grad()
        loss.backward()
        with torch.no_grad():
            test = (
                F.mse_loss(net(stimuli), resp_test)
                + L2_PENALTY * torch.square(weights).sum()
                + l1 * torch.abs(weights).sum()
            )
        optimizer.step()
        train_loss[i] = loss.item()
        test_loss[i] = test.item()
    return train_loss, test_loss


def helper_loop(net, stimuli, resp_train, resp_test, n_iter, l1):
    from helpers.training import train_encoding_model

    history = train_encoding_model(
        net,
        stimuli,
        resp_train,
        resp_test,
        n_iter=n_iter,
        learning_rate=LEARNING_RATE,
        momentum=MOMENTUM,
        L2_penalty=L2_PENALTY,
        L1_penalty=l1,
        progress=False,
        print_every=0,
    )
    return history.train_loss, history.test_loss


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(method: str, n_iter: int, data: str, l1: float, result: Path, threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)

    net, stimuli, resp_train, resp_test, notes = build(data)
    if method == "perturbed":  # the plain loop from initial weights one rounding step away
        signs = torch.randn(net.out_layer.weight.shape, generator=torch.Generator().manual_seed(3)).sign()
        with torch.no_grad():
            net.out_layer.weight.mul_(1 + PERTURBATION * signs)
    loop = helper_loop if method == "helper" else plain_loop
    rss_before = rss_bytes()
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    train_loss, test_loss = loop(net, stimuli, resp_train, resp_test, n_iter, l1)
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    np.savez(
        result,
        weight=net.out_layer.weight.detach().numpy(),
        train_loss=train_loss,
        test_loss=test_loss,
    )
    print(
        json.dumps(
            {
                "method": method,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rss_before": rss_before,
                "peak_rss": peak,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "notes": notes,
            }
        )
    )


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def run_one(args, method: str, folder: Path, tag: str) -> dict:
    result = folder / f"{method}_{tag}.npz"
    cmd = [sys.executable, __file__, "--worker", method, "--iters", str(args.iters), "--data", args.data]
    cmd += ["--l1", repr(args.l1)]
    cmd += ["--result", str(result)] + (["--threads", str(args.threads)] if args.threads else [])
    env = dict(os.environ, NMA_DECODING_PROGRESS="0")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        sys.exit(f"{method} run failed:\n{done.stdout}\n{done.stderr}")
    info = json.loads(done.stdout.strip().splitlines()[-1])
    info["result"] = result
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=200, help="training iterations (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each method (default 3)")
    parser.add_argument(
        "--data",
        choices=("random", "synthetic"),
        default="random",
        help="responses: seeded random (default) or the synthetic stand-in from helpers.data",
    )
    parser.add_argument("--threads", type=int, help="torch threads per run (default: torch's choice)")
    parser.add_argument("--l1", type=float, default=L1_PENALTY, help=f"L1 penalty (default {L1_PENALTY:g})")
    parser.add_argument(
        "--noise-floor", action="store_true", help="also run (a) from a perturbed start (see above)"
    )
    parser.add_argument("--worker", choices=("plain", "helper", "perturbed"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.iters < 1 or args.repeats < 1:
        parser.error("--iters and --repeats must be >= 1")
    if args.worker:
        worker(args.worker, args.iters, args.data, args.l1, args.result, args.threads)
        return 0

    print(
        f"encoding model training: {args.iters} iterations, {args.repeats} repeat(s) per method, "
        f"data={args.data}, L1={args.l1:g}; cpus={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    runs: dict[str, list[dict]] = {"plain": [], "helper": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for repeat in range(args.repeats):
            order = ("plain", "helper") if repeat % 2 == 0 else ("helper", "plain")
            for method in order:
                info = run_one(args, method, folder, str(repeat))
                runs[method].append(info)
                print(
                    f"  repeat {repeat + 1} {method:6s}: {info['seconds']:7.2f} s "
                    f"({1000 * info['seconds'] / args.iters:6.1f} ms/iter), "
                    f"CPU {info['cpu_seconds']:7.2f} s, "
                    f"peak RSS {info['peak_rss'] / 2**20:6.0f} MiB "
                    f"(+{(info['peak_rss'] - info['rss_before']) / 2**20:.0f} MiB during training)"
                )
        first = runs["plain"][0]
        print(f"  torch {first['torch']}, {first['threads']} threads; " + "; ".join(first["notes"]))
        floor = None
        if args.noise_floor:
            perturbed = run_one(args, "perturbed", folder, "floor")
            print(f"  noise-floor run (plain, perturbed start): {perturbed['seconds']:7.2f} s")
            floor = weight_differences(runs["plain"][0]["result"], perturbed["result"])[0]
        weight_diff, weight_fro, loss_diffs = weight_differences(
            runs["plain"][0]["result"], runs["helper"][0]["result"]
        )

    median = {m: statistics.median(r["seconds"] for r in runs[m]) for m in runs}
    cpu = {m: statistics.median(r["cpu_seconds"] for r in runs[m]) for m in runs}
    peak = {m: statistics.median(r["peak_rss"] for r in runs[m]) / 2**20 for m in runs}
    extra = {m: statistics.median(r["peak_rss"] - r["rss_before"] for r in runs[m]) / 2**20 for m in runs}
    speedup = median["plain"] / median["helper"]
    print()
    print(
        f"{'method (medians)':28s} {'wall s':>8s} {'ms/iter':>8s} {'CPU s':>8s} "
        f"{'peak RSS MiB':>13s} {'+ in training':>14s}"
    )
    for method, label in (("plain", "(a) plain seed-style loop"), ("helper", "(b) train_encoding_model")):
        print(
            f"{label:28s} {median[method]:8.2f} {1000 * median[method] / args.iters:8.1f} {cpu[method]:8.2f} "
            f"{peak[method]:13.0f} {extra[method]:14.0f}"
        )
    print(
        f"speed-up (a)/(b): wall {speedup:.2f}x (target >= {TARGET_SPEEDUP:g}x), "
        f"CPU time {cpu['plain'] / cpu['helper']:.2f}x; load average now {os.getloadavg()[0]:.2f}"
    )
    print(
        f"final out_layer weights (a) vs (b): max|a-b|/max|a| = {weight_diff:.2e}, "
        f"||a-b||/||a|| = {weight_fro:.2e}"
    )
    if floor is not None:
        print(
            f"noise floor, (a) vs (a) from a start perturbed by {PERTURBATION:g}: "
            f"max|a-a'|/max|a| = {floor:.2e}"
        )
    for key, (last, worst, value_a, value_b) in loss_diffs.items():
        print(
            f"{key}: final (a) {value_a:.6f} (b) {value_b:.6f}, relative difference final {last:.2e}, "
            f"max over iterations {worst:.2e}"
        )
    weights_ok = weight_diff < WEIGHT_TOLERANCE
    print(
        f"speed: {'PASS' if speedup >= TARGET_SPEEDUP else 'FAIL'}; "
        f"weights: {'PASS' if weights_ok else 'FAIL'} "
        f"(max|a-b|/max|a| < {WEIGHT_TOLERANCE:g}; bit-identical: {weight_diff == 0.0})"
    )
    return 0 if speedup >= TARGET_SPEEDUP and weights_ok else 1


def weight_differences(path_a: Path, path_b: Path):
    """max|a-b|/max|a| and ||a-b||/||a|| of the final out_layer weights, and loss differences."""
    with np.load(path_a) as a, np.load(path_b) as b:
        w_a, w_b = a["weight"].astype(np.float64), b["weight"].astype(np.float64)
        weight_diff = float(np.abs(w_a - w_b).max() / np.abs(w_a).max())
        weight_fro = float(np.linalg.norm(w_a - w_b) / np.linalg.norm(w_a))
        loss_diffs = {}
        for key in ("train_loss", "test_loss"):
            rel = np.abs(a[key] - b[key]) / np.abs(a[key])
            loss_diffs[key] = (float(rel[-1]), float(rel.max()), float(a[key][-1]), float(b[key][-1]))
    return weight_diff, weight_fro, loss_diffs


if __name__ == "__main__":
    sys.exit(main())
