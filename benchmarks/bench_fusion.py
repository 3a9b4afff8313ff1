"""Fused inverted residual blocks against the unfused layers.

    python benchmarks/bench_fusion.py --arch M XS S L --threads 1 2 --rounds 15
    python benchmarks/bench_fusion.py --arch M --variant slack8=LITEPOSE_FUSE=1,LITEPOSE_FUSE_SLACK=8

Every configuration is a Network built with its own LITEPOSE_FUSE* variables
(read when the Network is built); all of them run interleaved round-robin on
the same input so machine noise hits them alike.  Prints median and min ms
per configuration and the ratio to "off", then (--stages) the median time
per stage from a profiled pass, to see where fusion wins.
"""
from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from typing import Dict, List

import numpy as np

import litepose
from litepose.archs import get_arch
from litepose.convert import random_model_bytes

KNOBS = ("LITEPOSE_FUSE", "LITEPOSE_FUSE_MIN_KB", "LITEPOSE_FUSE_BAND", "LITEPOSE_FUSE_SLACK",
         "LITEPOSE_FUSE_CHUNKS", "LITEPOSE_FUSE_CACHE_KB", "LITEPOSE_FUSE_RECOMPUTE",
         "LITEPOSE_FUSE_HALO_PCT", "LITEPOSE_FUSE_SPLIT_PCT")
DEFAULT_VARIANTS = {"off": {"LITEPOSE_FUSE": "off"}, "on": {"LITEPOSE_FUSE": "on"},
                    "auto": {"LITEPOSE_FUSE": "auto"}}


def build(data: bytes, threads: int, isa: str, env: Dict[str, str]) -> litepose.Network:
    saved = {k: os.environ.pop(k) for k in KNOBS if k in os.environ}
    try:
        os.environ.update(env)
        return litepose.Network(data, num_threads=threads, isa=isa)
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)


def stage_times(net: litepose.Network, x: np.ndarray, runs: int) -> Dict[str, float]:
    per: Dict[str, List[float]] = defaultdict(list)
    for _ in range(runs):
        with litepose.profile(net) as prof:
            net.forward(x)
        acc: Dict[str, float] = defaultdict(float)
        for r in prof.result.rows:
            parts = r.name.split(".")
            key = ".".join(parts[:2]) if parts[0] == "stage" else "rest"
            acc[key] += r.mean_ms
        for k, v in acc.items():
            per[k].append(v)
    return {k: float(np.median(v)) for k, v in per.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", nargs="+", default=["M", "XS", "S", "L"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--isa", default="auto")
    ap.add_argument("--variant", action="append", default=[],
                    help="name=VAR=value,VAR=value (added to off/on/auto)")
    ap.add_argument("--only", nargs="*", help="run only these variant names")
    ap.add_argument("--stages", action="store_true", help="also print per-stage medians (profiled)")
    args = ap.parse_args()
    variants = dict(DEFAULT_VARIANTS)
    for v in args.variant:
        name, _, spec = v.partition("=")
        variants[name] = dict(kv.split("=", 1) for kv in spec.split(","))
    if args.only:
        variants = {k: variants[k] for k in args.only}
    for arch in args.arch:
        data = random_model_bytes(arch)
        size = get_arch(arch).input_size
        x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
        for threads in args.threads:
            nets = {k: build(data, threads, args.isa, env) for k, env in variants.items()}
            outs = {k: n.forward(x) for k, n in nets.items()}
            ref = next(iter(outs.values()))
            identical = all(np.array_equal(o[0], ref[0]) and np.array_equal(o[1], ref[1]) for o in outs.values())
            times: Dict[str, List[float]] = {k: [] for k in nets}
            for _ in range(args.rounds):
                for k, n in nets.items():
                    t0 = time.perf_counter()
                    n._net.forward(x)
                    times[k].append((time.perf_counter() - t0) * 1e3)
            isa = next(iter(nets.values())).isa
            base = float(np.median(times["off"])) if "off" in times else None
            print(f"LitePose-{arch} {size}x{size}, {threads} thread(s), isa {isa}, {args.rounds} rounds "
                  f"interleaved, outputs bit-identical: {identical}")
            for k, v in times.items():
                ratio = f"  off/this {base / np.median(v):6.3f}" if base else ""
                print(f"  {k:<10} median {np.median(v):8.2f} ms  min {np.min(v):8.2f} ms{ratio}")
            if args.stages:
                st = {k: stage_times(n, x, max(3, args.rounds // 3)) for k, n in nets.items()}
                keys = sorted(next(iter(st.values())))
                print("  per stage (median ms, profiled): " + "  ".join(f"{k:>9}" for k in keys))
                for k, v in st.items():
                    print(f"  {k:<10} " + " " * 23 + "  ".join(f"{v.get(s, 0):9.2f}" for s in keys))
            del nets


if __name__ == "__main__":
    main()
