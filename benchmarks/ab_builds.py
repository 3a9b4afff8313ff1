#!/usr/bin/env python3
"""A/B latency of two litepose builds, interleaved, in one run.

Each build is a directory to put on PYTHONPATH (``pip install --target DIR .``
of a checkout; ``-`` means the litepose installed in this Python).  One worker
process per (build, model, threads) loads a random-weight model and, on each
request, times ``--per-round`` forwards; the parent asks A then B, B then A
in alternate rounds, so drifts of a noisy machine hit both alike.  With
``--pin`` the workers of T threads run under ``taskset -c 0..T-1`` (a many-core
machine: measure T threads on T otherwise idle cores).

    python benchmarks/ab_builds.py --a /tmp/site_old --b - --arch XS M --threads 1 2

Prints median / min / p90 ms per build and the ratio A/B of the medians
(> 1: B is faster).  ``--json FILE`` writes every sample.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

_WORKER = r"""
import sys, time
import numpy as np
import litepose
from litepose.archs import get_arch
from litepose.convert import random_model_bytes
arch, threads = sys.argv[1], int(sys.argv[2])
size = get_arch(arch).input_size
net = litepose.Network(random_model_bytes(arch, "crowdpose", seed=0), num_threads=threads)
x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
for _ in range(3):
    net.forward(x)
print("ready", flush=True)
for line in sys.stdin:
    ts = []
    for _ in range(int(line)):
        t = time.perf_counter()
        net.forward(x)
        ts.append((time.perf_counter() - t) * 1e3)
    print(" ".join(f"{v:.4f}" for v in ts), flush=True)
"""


def _spawn(build: str, arch: str, threads: int, pin: bool) -> subprocess.Popen:
    env = dict(os.environ)
    if build != "-":
        env["PYTHONPATH"] = os.path.abspath(build) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-c", _WORKER, arch, str(threads)]
    if pin:
        cmd = ["taskset", "-c", f"0-{threads - 1}"] + cmd
    # run outside the checkout so that `import litepose` finds the build, not ./src
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd="/")
    line = p.stdout.readline()
    if line.strip() != "ready":
        raise SystemExit(f"worker for {build} {arch} {threads}t failed to start")
    return p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="build A (PYTHONPATH dir, or - for the installed one)")
    ap.add_argument("--b", required=True, help="build B")
    ap.add_argument("--arch", nargs="+", default=["XS", "S", "M", "L"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=5)
    ap.add_argument("--pin", action="store_true", help="taskset workers of T threads to cores 0..T-1")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    out = []
    print(f"{'model':5} {'thr':>3} {'A median':>9} {'A min':>8} {'B median':>9} {'B min':>8} {'A/B':>6}")
    for arch in args.arch:
        for t in args.threads:
            workers = {"A": _spawn(args.a, arch, t, args.pin), "B": _spawn(args.b, arch, t, args.pin)}
            samples = {"A": [], "B": []}
            for r in range(args.rounds):
                for k in ("A", "B") if r % 2 == 0 else ("B", "A"):
                    w = workers[k]
                    w.stdin.write(f"{args.per_round}\n")
                    w.stdin.flush()
                    samples[k] += [float(v) for v in w.stdout.readline().split()]
                    time.sleep(0.02)
            for w in workers.values():
                w.stdin.close()
                w.wait()
            ma, mb = float(np.median(samples["A"])), float(np.median(samples["B"]))
            print(f"{arch:5} {t:3d} {ma:9.2f} {min(samples['A']):8.2f} {mb:9.2f} {min(samples['B']):8.2f} "
                  f"{ma / mb:6.3f}", flush=True)
            out.append({"arch": arch, "threads": t, "a": samples["A"], "b": samples["B"]})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"a": args.a, "b": args.b, "pin": args.pin, "runs": out}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
