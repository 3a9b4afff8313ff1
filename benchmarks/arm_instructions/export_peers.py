#!/usr/bin/env python3
"""x86 side of run_peers.sh: the ONNX and ncnn files that peers.py counts.

For each architecture this builds the official LitePose model in PyTorch
(``litepose.torch.build_model``) and loads into it the SAME random weights
that forward.py's litepose model gets: ``litepose._spec.random_state_dict``
(arch, crowdpose joints, seed 0) -- the state dict that
``litepose.convert.random_model_bytes(arch, "crowdpose", seed=0)`` folds into
its model file -- so litepose, ncnn and ONNX Runtime run the same network on
the same input (forward.py's ``np.random.default_rng(0)`` image at the
architecture's input size).

Exports reuse benchmarks/compare_runtimes.py (``export_onnx``: opset 17;
``export_ncnn``: pnnx with fp16=0, fp32 weights; ``count_conv_macs``) and are
written to WORKDIR/ARCH/ (default /tmp/litepose-aarch64/peers):

    model.onnx model.ncnn.param model.ncnn.bin   the networks
    input.npy ref0.npy ref1.npy                  input, PyTorch fp32 outputs
    meta.json                                    MACs, fp32 floor, versions

It also checks, on x86, that litepose's own file from random_model_bytes
agrees with the PyTorch reference (so the weights really are the same).
Cached: a model is re-exported only when the weights, tool versions or this
recipe change (or with --fresh).

    /tmp/venv-peers/bin/python benchmarks/arm_instructions/export_peers.py [--models XS,S,M,L]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmarks/: compare_runtimes

import compare_runtimes as cr  # noqa: E402

RECIPE = 1  # bump when this recipe changes


def export(arch_name: str, workdir: Path, dataset: str, seed: int, fresh: bool, log) -> dict:
    import numpy as np
    import torch
    from litepose._spec import random_state_dict
    from litepose.archs import DATASET_JOINTS, get_arch
    from litepose.torch import build_model

    a = get_arch(arch_name)
    size = a.input_size
    d = workdir / arch_name
    d.mkdir(parents=True, exist_ok=True)
    sd = random_state_dict(a, DATASET_JOINTS[dataset], seed)
    model = build_model(arch_name, dataset)
    res = model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    bad = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")] + list(res.unexpected_keys)
    if bad:
        raise RuntimeError(f"{arch_name}: random_state_dict does not match the torch model: {bad[:5]}")
    model.eval()
    # forward.py's input
    x_np = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    x = torch.from_numpy(x_np)
    h = hashlib.sha256()
    for k in sorted(sd):
        h.update(k.encode())
        h.update(sd[k].tobytes())
    h.update(x_np.tobytes())
    key = json.dumps({"recipe": RECIPE, "export_version": cr.EXPORT_VERSION, "w": h.hexdigest(), "size": size,
                      "torch": torch.__version__, "pnnx": cr._version("pnnx"), "onnx": cr._version("onnx")})
    stamp = d / "export.stamp"
    if not fresh and stamp.exists() and stamp.read_text() == key and (d / "meta.json").exists():
        log(f"{arch_name}: exports cached in {d}")
        return json.loads((d / "meta.json").read_text())
    stamp.unlink(missing_ok=True)
    macs = cr.count_conv_macs(model, x)
    refs, floor = cr.torch_refs(model, x)
    np.save(d / "input.npy", x_np)
    for i, r in enumerate(refs):
        np.save(d / f"ref{i}.npy", r)
    exporter = cr.export_onnx(model, x, d / "model.onnx", "auto", log)
    cr.export_ncnn(model, x, d, log)
    meta = {"arch": arch_name, "dataset": dataset, "seed": seed, "input_size": size, "conv_macs": macs,
            "torch_fp32_vs_fp64": floor, "onnx_exporter": exporter, "ref_shapes": [list(r.shape) for r in refs],
            "weights": "litepose._spec.random_state_dict(arch, crowdpose joints, seed) == random_model_bytes' weights",
            "input": "np.random.default_rng(0).standard_normal((1, 3, S, S)) (forward.py's)",
            "versions": {k: cr._version(k) for k in ("torch", "pnnx", "onnx", "onnxscript", "numpy")}}
    # litepose (x86 build) on its own random_model_bytes file vs this torch model: same weights?
    try:
        import litepose
        from litepose.convert import random_model_bytes
        net = litepose.Network(random_model_bytes(arch_name, dataset, seed=seed), num_threads=1)
        ys = net.forward(x_np)
        meta["litepose_x86_rel_err"] = [cr._rel_err(y, r) for y, r in zip(ys, refs)]
    except Exception as e:  # the x86 litepose build is optional here
        meta["litepose_x86_rel_err"] = f"not checked: {type(e).__name__}: {e}"
    (d / "meta.json").write_text(json.dumps(meta, indent=1))
    stamp.write_text(key)
    log(f"{arch_name}: {macs / 1e9:.3f} GMAC conv, exported ONNX ({exporter}) and ncnn to {d}; "
        f"torch fp32 vs fp64 {floor:.1e}; litepose x86 vs torch {meta['litepose_x86_rel_err']}")
    return meta


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="XS,S,M,L")
    p.add_argument("--workdir", default="/tmp/litepose-aarch64/peers")
    p.add_argument("--dataset", default="crowdpose")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fresh", action="store_true")
    args = p.parse_args()
    cr._ensure_litepose_python_on_path()
    log = lambda s: print(s, flush=True)
    for m in [m.strip().upper() for m in args.models.split(",") if m.strip()]:
        export(m, Path(args.workdir), args.dataset, args.seed, args.fresh, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
