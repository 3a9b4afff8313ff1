"""Cost of per-layer profiling: a network that never profiled, the same
network with profiling switched off again, and profiling on, interleaved
round-robin so machine noise hits all three alike.

    python benchmarks/bench_profile_overhead.py --arch M --threads 1 --rounds 15

Prints median and min ms and the ratio to the never-profiled network.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import litepose
from litepose.convert import random_model_bytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="M")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    data = random_model_bytes(args.arch)
    plain = litepose.Network(data, num_threads=args.threads)
    toggled = litepose.Network(data, num_threads=args.threads)
    on = litepose.Network(data, num_threads=args.threads)
    size = plain.input_size
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    with litepose.profile(toggled):
        toggled.forward(x)  # switched on once, then off for the measurement
    on._net.set_profiling(True)
    nets = {"never profiled": plain, "profiling off": toggled, "profiling on": on}
    times = {k: [] for k in nets}
    for n in nets.values():
        n.forward(x)
    for _ in range(args.rounds):
        for k, n in nets.items():
            t0 = time.perf_counter()
            n._net.forward(x)
            times[k].append((time.perf_counter() - t0) * 1e3)
    base = np.median(times["never profiled"])
    print(f"LitePose-{args.arch} {size}x{size}, {args.threads} thread(s), isa {plain.isa}, {args.rounds} rounds interleaved")
    for k, v in times.items():
        print(f"{k:<16} median {np.median(v):8.2f} ms  min {np.min(v):8.2f} ms  ratio {np.median(v) / base:6.3f}")


if __name__ == "__main__":
    main()
