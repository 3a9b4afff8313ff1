"""Thread scaling of the litepose forward pass (and ONNX Runtime's, when
onnxruntime and torch are importable), on as many cores as the machine has.

    python benchmarks/thread_scaling.py --models XS,S,M,L --threads 1,2,4,8,16 --rounds 12

Same random weights in both runtimes (litepose.torch + randomize_, seed 0).
Thread counts are interleaved round-robin so drifting machine load hits all
alike; prints median and min ms, speed-up over 1 thread and parallel
efficiency (speed-up / threads).
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np

import litepose
from litepose.archs import get_arch
from litepose.convert import random_model_bytes


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="XS,S,M,L")
    ap.add_argument("--threads", default="1,2,4,8,16")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--no-ort", action="store_true")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",") if int(t) <= (os.cpu_count() or 1)]
    ort = None
    if not args.no_ort:
        try:
            import onnxruntime as ort  # noqa: F401
            import torch
            from litepose.torch import build_model, randomize_
        except ImportError:
            ort = None
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores; litepose {litepose.__version__}"
          f"{', onnxruntime ' + ort.__version__ if ort else ''}")
    for name in args.models.split(","):
        a = get_arch(name)
        x = np.random.default_rng(0).standard_normal((1, 3, a.input_size, a.input_size)).astype(np.float32)
        runners = {}
        if ort:
            model = randomize_(build_model(name, "crowdpose"), seed=0)
            from litepose.convert import model_bytes_from_state_dict

            data = model_bytes_from_state_dict(model.state_dict(), name, "crowdpose")
            path = os.path.join(tempfile.mkdtemp(), f"{name}.onnx")
            with torch.no_grad():
                torch.onnx.export(model, torch.from_numpy(x), path, opset_version=17, dynamo=False,
                                  input_names=["x"], output_names=["out4", "out2"])
            for t in threads:
                so = ort.SessionOptions()
                so.intra_op_num_threads = t
                so.inter_op_num_threads = 1
                sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
                runners[("ort", t)] = (lambda s=sess: s.run(None, {"x": x}))
        else:
            data = random_model_bytes(name)
        for t in threads:
            net = litepose.Network(data, num_threads=t)
            runners[("litepose", t)] = (lambda n=net: n.forward(x))
        times = {k: [] for k in runners}
        for fn in runners.values():
            fn()
            fn()
        for _ in range(args.rounds):
            for k, fn in runners.items():
                t0 = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t0) * 1e3)
        print(f"\nLitePose-{name} {a.input_size}x{a.input_size}")
        print(f"{'runtime':<9} {'threads':>7} {'median ms':>10} {'min ms':>8} {'speed-up':>9} {'efficiency':>10}")
        for rt in ("litepose", "ort"):
            base = None
            for t in threads:
                if (rt, t) not in times:
                    continue
                med = float(np.median(times[rt, t]))
                base = base or med
                print(f"{rt:<9} {t:>7} {med:>10.2f} {min(times[rt, t]):>8.2f} {base / med:>9.2f} {base / med / t:>10.2f}")


if __name__ == "__main__":
    main()
