"""Decode time per frame at input 448 against the number of people:
native (_core.decode) vs the official Python parser (reference.official_parser).

Why: the official parser (numpy + torch + munkres, refine over whole maps
per person) takes hundreds of milliseconds a frame; the native decoder's
goal is under 3 ms for 30 people on one core.

Inputs: real network outputs of the PyTorch reference model on
../shared/data/coco-kp-105 images, and synthetic crowds (1..30 people drawn
as Gaussian heatmaps with per-person tags at 448 x 640).

    python benchmarks/bench_decode.py [--images 5] [--repeat 21] [--core 0] [--no-official]

Prints a markdown table (benchmarks/README.md, "Decoding"): native default
(official algorithm, bit-equal), native fast (project_to_input=False,
decoding at 1/2 resolution), the official parser, and official / default.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from litepose import _core

SHARED = Path(os.environ.get("LITEPOSE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


def synthetic(n_people: int, k: int = 14, h: int = 448, w: int = 640, seed: int = 0):
    rng = np.random.default_rng(seed)
    h2, w2, h4, w4 = h // 2, w // 2, h // 4, w // 4
    out2 = np.zeros((k, h2, w2), np.float32)
    out4 = np.zeros((2 * k, h4, w4), np.float32)
    yy2, xx2 = np.mgrid[0:h2, 0:w2]
    yy4, xx4 = np.mgrid[0:h4, 0:w4]
    centers = rng.uniform([20, 20], [h2 - 20, w2 - 20], size=(n_people, 2))
    for p, (cy, cx) in enumerate(centers):
        tag = 2.0 * p
        for j in range(k):
            jy, jx = cy + rng.uniform(-15, 15), cx + rng.uniform(-10, 10)
            g2 = np.exp(-((yy2 - jy) ** 2 + (xx2 - jx) ** 2) / 4.0).astype(np.float32)
            g4 = np.exp(-((yy4 - jy / 2) ** 2 + (xx4 - jx / 2) ** 2) / 1.0).astype(np.float32)
            out2[j] = np.maximum(out2[j], g2)
            out4[j] = np.maximum(out4[j], g4)
            m = g4 > 0.05
            out4[k + j][m] = tag
    return out4, out2


def time_it(fn, repeat):
    """Median wall time of `repeat` calls after one warm-up, in ms."""
    fn()
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(t))


def pin_one_core(core):
    """Run on one core (the goal is per core); returns the core or None."""
    if core is None or not hasattr(os, "sched_setaffinity"):
        return None
    os.sched_setaffinity(0, {core})
    return core


def row(case, people, nat, fast, off):
    ratio = off / nat if off == off else float("nan")
    return f"| {case:30s} | {people:6d} | {nat:9.2f} | {fast:8.2f} | {off:11.1f} | {ratio:7.0f}x |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5, help="real images (first N of coco-kp-105)")
    ap.add_argument("--repeat", type=int, default=21, help="timed runs per case (median)")
    ap.add_argument("--official-repeat", type=int, default=3, help="timed runs of the official parser")
    ap.add_argument("--core", type=int, default=0, help="pin to this core (-1: no pinning)")
    ap.add_argument("--no-official", action="store_true")
    args = ap.parse_args()
    core = pin_one_core(None if args.core < 0 else args.core)
    official = not args.no_official
    if official:
        import torch

        torch.set_num_threads(1)
        from litepose.reference import official_parser as op

    print(f"decode time per frame, input 448, median of {args.repeat} runs "
          f"(official: {args.official_repeat}), core {core}")
    print("| case                           | people | native ms | fast ms  | official ms | speedup |")
    print("|--------------------------------|-------:|----------:|---------:|------------:|--------:|")
    for n in (1, 2, 5, 10, 20, 30):
        o4, o2 = synthetic(n)
        nat = time_it(lambda: _core.decode(o4, o2), args.repeat)
        fast = time_it(lambda: _core.decode(o4, o2, project_to_input=False), args.repeat)
        found = len(_core.decode(o4, o2)[0])
        off = float("nan")
        if official:
            outs = [torch.from_numpy(o4)[None], torch.from_numpy(o2)[None]]
            off = time_it(lambda: op.parse_outputs(outs, None, "crowdpose", (640, 448)), args.official_repeat)
        print(row(f"synthetic crowd of {n}", found, nat, fast, off), flush=True)

    ckpt = SHARED / "models" / "litepose-auto-m-crowdpose.pth"
    imgs = sorted((SHARED / "data" / "coco-kp-105" / "images").glob("*.jpg"))[: args.images]
    if official and ckpt.exists() and imgs:
        import cv2
        from litepose.torch import build_model

        m = build_model("M", "crowdpose")
        m.load_state_dict(torch.load(ckpt, map_location="cpu"))
        m.eval()
        for p in imgs:
            x, center, scale, base = op.preprocess(cv2.imread(str(p)), 448)
            outs, _ = op.run_model(m, x, False)
            a4, a2 = outs[0][0].numpy().copy(), outs[1][0].numpy().copy()
            nat = time_it(lambda: _core.decode(a4, a2), args.repeat)
            fast = time_it(lambda: _core.decode(a4, a2, project_to_input=False), args.repeat)
            off = time_it(lambda: op.parse_outputs(outs, None, "crowdpose", base), args.official_repeat)
            found = len(_core.decode(a4, a2)[0])
            name = f"{p.stem[-6:]} {x.shape[3]}x{x.shape[2]}"
            print(row(name, found, nat, fast, off), flush=True)


if __name__ == "__main__":
    main()
