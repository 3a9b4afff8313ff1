"""One ncnn / ONNX Runtime forward pass between two instruction-count markers.

Run by run_peers.sh inside the emulated arm64 Python (qemu-aarch64 with the
insn_count plugin), like forward.py is for litepose:

    peers.py RUNTIME ARCH [WORKDIR]        RUNTIME: ncnn | ort | litepose

Loads WORKDIR/ARCH/ (default /tmp/litepose-aarch64/peers; written on x86 by
export_peers.py: the ONNX and ncnn files of the official LitePose model with
litepose's own random weights, forward.py's input, PyTorch's fp32 outputs)
through benchmarks/compare_runtimes.py's runtime makers, so the settings are
exactly those of the x86 latency comparison at 1 thread:

  ncnn  num_threads=1, fp16 storage/arithmetic/packed off, bf16 storage off,
        packing layout on, no Vulkan; input in0 -> out0, out1
  ort   intra_op_num_threads=1, inter_op_num_threads=1, ORT_ENABLE_ALL,
        ORT_SEQUENTIAL, CPUExecutionProvider

``litepose`` runs litepose.Network(random_model_bytes(ARCH, "crowdpose",
seed=0), num_threads=1) -- forward.py's model -- only to check its aarch64
outputs against the same reference (run_peers.sh counts litepose with
forward.py itself).

One warm-up forward (first-touch page faults, lazy allocation, ORT's and
ncnn's first-run setup), then os.getppid() -- the marker -- one forward,
os.getppid().  Both outputs of the warm-up and of the measured run are
compared with PyTorch: max |y - ref| / max |ref| per output.  One line
``peers {json}`` on stdout.
"""
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmarks/: compare_runtimes (stdlib-only at import)

import numpy as np  # noqa: E402

import compare_runtimes as cr  # noqa: E402

runtime, arch = sys.argv[1], sys.argv[2]
d = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/litepose-aarch64/peers") / arch
files = {"onnx": str(d / "model.onnx"), "ncnn_param": str(d / "model.ncnn.param"),
         "ncnn_bin": str(d / "model.ncnn.bin")}
if runtime == "litepose":
    from litepose.convert import random_model_bytes
    files["litepose"] = random_model_bytes(arch, "crowdpose", seed=0)
meta = json.loads((d / "meta.json").read_text())
x = np.ascontiguousarray(np.load(d / "input.npy"))
refs = [np.load(d / f"ref{i}.npy") for i in range(2)]

r = cr.MAKERS[runtime](files, 1)
ys = r.fn(x)  # warm-up
warm_err = [cr._rel_err(y, ref) for y, ref in zip(ys, refs)]
os.getppid()
ys = r.fn(x)
os.getppid()
err = [cr._rel_err(y, ref) for y, ref in zip(ys, refs)]
version = {"ncnn": lambda: __import__("ncnn").__version__,
           "ort": lambda: __import__("onnxruntime").__version__,
           "litepose": lambda: __import__("litepose").__version__}[runtime]()
print("peers " + json.dumps({
    "runtime": runtime, "arch": arch, "version": version, "info": r.info, "input": list(x.shape),
    "outputs": [list(np.asarray(y).shape) for y in ys], "n_outputs": len(ys),
    "rel_err": err, "rel_err_warmup": warm_err, "torch_fp32_vs_fp64": meta["torch_fp32_vs_fp64"],
    "finite": all(bool(np.isfinite(np.asarray(y)).all()) for y in ys)}), flush=True)
