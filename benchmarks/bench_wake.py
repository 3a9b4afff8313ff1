"""What Network.wake() buys a frame loop: a sleep (the idle time between
frames) before every frame, then preprocessing and the forward pass, with
and without a wake() before preprocessing, interleaved round-robin.

    python benchmarks/bench_wake.py --arch XS --threads 2 --rounds 40

Prints, for each variant, when the first pool worker started its first task
after the forward pass began (from the profiler's per-thread spans: the
wake-up latency of an idle core that the first layers wait on), and the
median and min ms of the forward pass and of preprocessing + forward.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

import litepose
from litepose import _core
from litepose.convert import random_model_bytes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-kp-105"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="XS")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--idle-ms", type=float, default=50.0, help="sleep before each frame")
    ap.add_argument("--image", type=Path, default=None, help="default: the first image of ../shared COCO")
    args = ap.parse_args()
    path = args.image or sorted(SHARED.rglob("*.jpg"))[0]
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {path}")
    net = litepose.Network(random_model_bytes(args.arch), num_threads=args.threads)
    size = net.input_size
    raw = net._net  # per-thread spans need the profiler of the native network
    for _ in range(3):
        net.forward(np.ascontiguousarray(_core.preprocess(image, size, False)[0][None]))
    raw.set_profiling(True)
    res = {v: {"late": [], "fwd": [], "all": []} for v in (False, True)}
    for r in range(args.rounds):
        for wake in ((False, True) if r % 2 == 0 else (True, False)):
            time.sleep(args.idle_ms / 1e3)
            t0 = time.perf_counter()
            if wake:
                net.wake()
            x = np.ascontiguousarray(_core.preprocess(image, size, False)[0][None])
            t1 = time.perf_counter()
            net.forward(x)
            t2 = time.perf_counter()
            tm = raw.last_timings()
            starts = [s[1] for t in tm for s in t.spans if s[0] != 0]
            d = res[wake]
            d["late"].append(min(starts) - tm[0].start_ms if starts else float("inf"))
            d["fwd"].append((t2 - t1) * 1e3)
            d["all"].append((t2 - t0) * 1e3)
    print(f"{args.arch} at {size}, {args.threads} threads, {args.rounds} rounds, {args.idle_ms:g} ms idle before "
          f"each frame, image {path.name} {image.shape[1]}x{image.shape[0]}")
    for wake, d in res.items():
        late = sorted(d["late"])
        print(f"wake={str(wake):5}  first worker task after forward start: median {statistics.median(late):.3f} ms, "
              f"p90 {late[9 * len(late) // 10]:.3f}, max {late[-1]:.3f} | forward median {statistics.median(d['fwd']):.2f} "
              f"min {min(d['fwd']):.2f} | preprocess + forward median {statistics.median(d['all']):.2f} "
              f"min {min(d['all']):.2f} ms")
    a, b = res[False], res[True]
    print(f"no wake / wake, medians: forward {statistics.median(a['fwd']) / statistics.median(b['fwd']):.3f}, "
          f"preprocess + forward {statistics.median(a['all']) / statistics.median(b['all']):.3f}")


if __name__ == "__main__":
    main()
