#!/usr/bin/env python3
"""Side-by-side fp32 latency of litepose against ONNX Runtime, OpenVINO and ncnn.

Every runtime runs the SAME random weights (``litepose.torch.build_model`` +
``randomize_(seed)``), batch 1, fp32, static input shape:

* ``ort``      ONNX Runtime, ONNX opset 17 export (torch.onnx, dynamo exporter;
               falls back to the TorchScript exporter if that fails),
               graph optimisation ORT_ENABLE_ALL, ``intra_op_num_threads=N``,
               ``inter_op_num_threads=1``, sequential execution.
* ``ov``       OpenVINO CPU plugin on the same ONNX file,
               ``INFERENCE_PRECISION_HINT=f32`` (it picks bf16 on AVX512-BF16
               CPUs otherwise; the compiled model's precision is checked),
               ``INFERENCE_NUM_THREADS=N``, ``PERFORMANCE_HINT=LATENCY``,
               ``NUM_STREAMS=1``.
* ``ncnn``     ncnn via pnnx (TorchScript trace -> pnnx CLI, ``fp16=0`` so the
               weights stay fp32), ``num_threads=N``, fp16/bf16 storage and
               arithmetic off, packing layout on, no Vulkan.
* ``litepose`` the native runtime: ``litepose.convert.convert_state_dict`` +
               ``litepose.Network(path, num_threads=N)``.  Skipped with a
               warning when it is not importable (unless asked for explicitly).

Method.  A parent process (the only one that imports torch) builds the model,
counts conv MACs with forward hooks, exports every format into ``--workdir``
(default /tmp/litepose-compare; exports are cached there, keyed on model,
seed and tool versions), and stores a fixed input and PyTorch's outputs.  One
worker subprocess per model (no torch in it) then loads every runtime, checks
that both outputs agree with PyTorch (max |y - torch| / max |torch|, flagged
FAIL above max(1e-3, 10x torch fp32's own error against a float64 forward: the
random 40-block network amplifies fp32 rounding to ~5e-4)), warms up,
and times runtimes round-robin -- A once, B once, ... for ``--rounds`` rounds
-- so machine noise hits all alike (the order reverses every other round).
``--gap-ms`` (50) of sleep precedes each timed run so that the previous
runtime's spinning worker threads cannot steal the second core from the next
one: measured here, an ORT 2-thread worker burns ~40 ms of CPU spinning after
each run, libgomp (ncnn) ~10 ms, OpenVINO (TBB) ~1 ms; without the gap ncnn
at 2 threads ran 1.5-2x slower right after ORT.  Times are wall time of one
Python call from numpy input to numpy outputs.  Thread counts are run one
after another, each with fresh sessions.  The CPU time other processes used
while a model was timed is reported (from /proc/stat): trust only runs where
it is near 0.  Peak memory: one more subprocess per (model, runtime) measures
RSS after importing the runtime, then after loading the model, then the peak
(VmHWM, reset via /proc/self/clear_refs) over 3 forward passes.

GMAC/s = conv MACs / median time; ``% peak`` assumes 16 fp32 FMA per cycle
per core (two 256-bit FMA pipes, Zen 4) at the clock read from /proc/cpuinfo
(``cpu MHz``; override with ``--clock-mhz``).  VMs often report the base
clock there, so the script also measures the running clock with a chain of
dependent adds (compiled with ``cc``) and prints ``% @meas`` at that clock.
``x best peer`` = best peer's median ms / litepose median ms (> 1: litepose
is faster).

Versions used for the numbers in benchmarks/README.md (see
benchmarks/requirements-peers.txt): torch==2.13.0 (CPU), onnxruntime==1.32.0,
openvino==2026.4.1, ncnn==1.0.20261020, pnnx==20261020, onnx==1.23.2,
onnxscript==0.7.2, numpy==2.4.6.

Usage::

    python -m venv --system-site-packages /tmp/venv-peers
    /tmp/venv-peers/bin/pip install -r benchmarks/requirements-peers.txt
    # litepose column: the compiled package must be importable (do not put
    # src/ on PYTHONPATH then: it has no compiled core and shadows the wheel)
    /tmp/venv-peers/bin/pip install --no-build-isolation --no-deps -Cbuild-dir=build/peers-wheel .
    /tmp/venv-peers/bin/python benchmarks/compare_runtimes.py \\
        [--models XS,S,M,L] [--threads 1,2] [--rounds 30] \\
        [--runtimes litepose,ort,ov,ncnn] [--json OUT.json]
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import hashlib
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ALL_RUNTIMES = ("litepose", "ort", "ov", "ncnn")
PEERS = ("ort", "ov", "ncnn")
LABEL = {"litepose": "litepose", "ort": "ONNX Runtime", "ov": "OpenVINO", "ncnn": "ncnn"}
FMA_PER_CYCLE_PER_CORE = 16  # fp32: two 256-bit FMA pipes (Zen 4)
EXPORT_VERSION = 2  # bump when the export recipe changes (invalidates the cache)
PARITY_TOL = 1e-3  # flag max |y - torch| / max |torch| above max(this, 10 x torch's own fp32-vs-fp64 error)


# --------------------------------------------------------------------------- helpers

_LITEPOSE_IMPORT_ERROR: str | None = None


def _ensure_litepose_python_on_path() -> None:
    """Make ``litepose.archs``/``litepose.torch`` importable.

    An importable litepose (installed wheel, carrying the compiled runtime) is
    used as is.  Otherwise (not installed, or its compiled part fails to load)
    the repo's ``src/litepose`` is mounted as a bare package without running
    its ``__init__``, which is all the torch reference needs; the import error
    is kept so the litepose column can say why it is skipped.
    """
    global _LITEPOSE_IMPORT_ERROR
    try:
        import litepose  # noqa: F401
        importlib.import_module("litepose.archs")
        return
    except Exception as e:
        _LITEPOSE_IMPORT_ERROR = f"cannot import litepose: {type(e).__name__}: {e}"
    import types
    for k in [k for k in sys.modules if k == "litepose" or k.startswith("litepose.")]:
        del sys.modules[k]
    pkg = types.ModuleType("litepose")
    pkg.__path__ = [str(REPO / "src" / "litepose")]
    sys.modules["litepose"] = pkg


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return "n/a"


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except Exception:
        pass
    return platform.processor() or "unknown"


def _cpu_mhz() -> float:
    vals = []
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("cpu MHz"):
                vals.append(float(line.split(":")[1]))
    except OSError:
        pass
    return sum(vals) / len(vals) if vals else float("nan")


_CLOCK_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000000L;
  double best = 1e9;
  for (int rep = 0; rep < 40; rep++) {  /* best of 40 ~11 ms runs: the VM's vCPUs get preempted */
    unsigned long x = 0; double t0 = now();
    for (long i = 0; i < n; i++)  /* 8 dependent 1-cycle adds per iteration */
      __asm__ volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\t"
                       "add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0" : "+r"(x));
    double t = now() - t0; if (t < best) best = t;
  }
  printf("%.1f\n", 8.0 * n / best / 1e6);
  return 0;
}
"""


def _measure_mhz(workdir: Path) -> float | None:
    """Effective core clock from a chain of dependent integer adds (1 cycle each
    on x86); None where no C compiler or not x86-64."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        src, exe = workdir / "clock.c", workdir / "clock"
        src.write_text(_CLOCK_C)
        if subprocess.run(["cc", "-O2", "-o", str(exe), str(src)], capture_output=True).returncode != 0:
            return None
        out = subprocess.run([str(exe), "5000000"], capture_output=True, text=True, timeout=30).stdout
        return float(out.strip())
    except Exception:
        return None


def _cpu_busy_s() -> float:
    """System-wide busy CPU seconds (all cores) from /proc/stat."""
    try:
        f = [int(v) for v in open("/proc/stat").readline().split()[1:]]
        busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] if len(f) > 7 else 0)  # user nice system irq softirq steal
        return busy / os.sysconf("SC_CLK_TCK")
    except Exception:
        return float("nan")


def _own_cpu_s() -> float:
    import resource
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


class ForeignLoad:
    """CPU used by other processes (in cores) over an interval: system busy time
    minus this process's and its waited-for children's."""

    def __init__(self):
        self.t, self.busy, self.own = time.perf_counter(), _cpu_busy_s(), _own_cpu_s()

    def cores(self) -> float:
        dt = time.perf_counter() - self.t
        return max(0.0, (_cpu_busy_s() - self.busy) - (_own_cpu_s() - self.own)) / max(dt, 1e-9)


def wait_for_idle(max_wait_s: float, log, threshold: float = 0.15) -> float:
    """Sleep-sample until other processes use < threshold cores; returns the last sample."""
    t_end = time.perf_counter() + max_wait_s
    while True:
        fl = ForeignLoad()
        time.sleep(1.0)
        c = fl.cores()
        if c < threshold or time.perf_counter() >= t_end:
            return c
        log(f"    machine busy (other processes use {c:.2f} cores), waiting ...")


def _git_rev() -> str:
    try:
        r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                                   capture_output=True, text=True).stdout.strip()
            return r.stdout.strip() + ("-dirty" if dirty else "")
    except Exception:
        pass
    return "no-commit"


def _status_kb(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def _rel_err(y, ref) -> float:
    import numpy as np
    y = np.asarray(y, dtype=np.float32).reshape(ref.shape)
    return float(np.max(np.abs(y - ref)) / max(float(np.max(np.abs(ref))), 1e-30))


def _runtime_importable(name: str) -> tuple[bool, str]:
    mod = {"ort": "onnxruntime", "ov": "openvino", "ncnn": "ncnn", "litepose": "litepose"}[name]
    if name != "litepose":
        # Peers are only looked up here, never imported: openvino (TBB) or ncnn
        # (its own libgomp) loaded next to torch make torch's forward 5-20x
        # slower; they are imported only in the torch-free worker processes.
        from importlib.util import find_spec
        if find_spec(mod) is None:
            return False, f"{mod} is not installed"
        return True, ""
    if _LITEPOSE_IMPORT_ERROR:
        return False, _LITEPOSE_IMPORT_ERROR
    try:
        m = importlib.import_module(mod)
    except Exception as e:  # pragma: no cover - depends on the environment
        return False, f"cannot import {mod}: {e}"
    if name == "litepose":
        if not hasattr(m, "Network"):
            where = list(getattr(m, "__path__", [])) or m.__file__
            return False, (f"litepose imported from {where} has no Network "
                           "(compiled runtime not built/installed? src/ on PYTHONPATH shadows an installed wheel)")
        try:
            importlib.import_module("litepose.convert")
        except Exception as e:
            return False, f"cannot import litepose.convert: {e}"
    return True, ""


# --------------------------------------------------------------------------- runtimes (worker side, no torch)

class _Runner:
    """One loaded model in one runtime at one thread count: ``fn(x) -> [out4, out2]``."""
    name = ""
    info = ""


def _make_ort(files: dict, threads: int) -> _Runner:
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(files["onnx"], so, providers=["CPUExecutionProvider"])
    iname = sess.get_inputs()[0].name
    onames = [o.name for o in sess.get_outputs()]
    r = _Runner()
    r.name, r.info = "ort", f"intra={threads} inter=1 opt=all {sess.get_providers()[0]}"
    r.fn = lambda x: sess.run(onames, {iname: x})
    r.keep = sess
    return r


def _make_ov(files: dict, threads: int) -> _Runner:
    import openvino as ov
    core = _make_ov.core = getattr(_make_ov, "core", None) or ov.Core()
    cfg = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads,
           "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
    cm = core.compile_model(core.read_model(files["onnx"]), "CPU", cfg)
    prec = cm.get_property("INFERENCE_PRECISION_HINT")
    prec = prec.to_string() if hasattr(prec, "to_string") else str(prec)
    nthr = cm.get_property("INFERENCE_NUM_THREADS")
    if not any(k in prec.lower() for k in ("f32", "float32")):
        raise RuntimeError(f"OpenVINO compiled with precision {prec}, expected f32")
    req = cm.create_infer_request()
    r = _Runner()
    try:  # OpenVINO binds its threads to cores by default on Linux
        pin = f" pinning={cm.get_property('ENABLE_CPU_PINNING')}"
    except Exception:
        pin = ""
    r.name, r.info = "ov", f"precision={prec} threads={nthr}{pin}"

    def fn(x):
        res = req.infer({0: x})
        return [res[o] for o in cm.outputs]
    r.fn, r.keep = fn, (cm, req)
    return r


def _make_ncnn(files: dict, threads: int) -> _Runner:
    import numpy as np
    import ncnn
    net = ncnn.Net()
    o = net.opt
    o.num_threads = threads
    o.use_vulkan_compute = False
    o.use_fp16_packed = False
    o.use_fp16_storage = False
    o.use_fp16_arithmetic = False
    o.use_bf16_storage = False
    o.use_packing_layout = True
    if net.load_param(files["ncnn_param"]) != 0 or net.load_model(files["ncnn_bin"]) != 0:
        raise RuntimeError("ncnn failed to load " + files["ncnn_param"])

    def fn(x):
        ex = net.create_extractor()
        ex.input("in0", ncnn.Mat(x[0]))
        _, a = ex.extract("out0")
        _, b = ex.extract("out1")
        return [np.array(a)[None], np.array(b)[None]]
    r = _Runner()
    r.name, r.info = "ncnn", f"threads={threads} packing=1 fp16=0 bf16=0"
    r.fn, r.keep = fn, net
    return r


def _make_litepose(files: dict, threads: int) -> _Runner:
    import numpy as np
    import litepose
    net = litepose.Network(files["litepose"], num_threads=threads)
    r = _Runner()
    r.name = "litepose"
    r.info = f"isa={getattr(net, 'isa', '?')} threads={threads}"
    cpus = getattr(net, "pinned_cpus", None)
    if cpus:
        r.info += " pinned=" + ",".join(map(str, cpus))
    try:  # the static memory plan's activation size, where the runtime reports it
        h, w = np.load(files["input_for_plan"]).shape[2:] if "input_for_plan" in files else (None, None)
        if h is not None and hasattr(net, "activation_bytes"):
            r.activation_mb = net.activation_bytes(int(h), int(w)) / 2**20
            r.info += f" plan={r.activation_mb:.1f}MB"
    except Exception:
        pass
    r.fn, r.keep = (lambda x: net.forward(x)), net
    return r


MAKERS = {"ort": _make_ort, "ov": _make_ov, "ncnn": _make_ncnn, "litepose": _make_litepose}


def _worker_bench(spec: dict) -> dict:
    """Runs in a subprocess: parity + interleaved timing for one model."""
    import gc
    import numpy as np
    x = np.ascontiguousarray(np.load(spec["input"]))
    refs = [np.load(p) for p in spec["refs"]]
    gap = spec["gap_ms"] / 1000.0
    out = {"threads": {}}
    for t in spec["threads"]:
        runners, errors = [], {}
        for name in spec["runtimes"]:
            try:
                t0 = time.perf_counter()
                r = MAKERS[name](spec["files"], t)
                r.load_s = time.perf_counter() - t0
                runners.append(r)
            except Exception as e:
                errors[name] = f"{type(e).__name__}: {e}"
                print(f"    [{spec['model']} {t}t] {name}: load failed: {errors[name]}", file=sys.stderr, flush=True)
        res = {"runtimes": {}, "errors": errors}
        # parity (the first call also serves as warm-up)
        for r in list(runners):
            try:
                ys = r.fn(x)
                errs = [_rel_err(y, ref) for y, ref in zip(ys, refs)]
                if len(ys) != len(refs):
                    raise RuntimeError(f"{len(ys)} outputs, expected {len(refs)}")
            except Exception as e:
                errors[r.name] = f"{type(e).__name__}: {e}"
                print(f"    [{spec['model']} {t}t] {r.name}: run failed: {errors[r.name]}", file=sys.stderr, flush=True)
                runners.remove(r)
                continue
            res["runtimes"][r.name] = {"info": r.info, "load_s": r.load_s, "rel_err": errs,
                                       "parity_ok": max(errs) <= spec["parity_tol"], "times_ms": []}
        for _ in range(spec["warmup"]):
            for r in runners:
                r.fn(x)
                time.sleep(gap)
        gc.collect()
        gc.disable()
        try:
            for i in range(spec["rounds"]):
                order = runners if i % 2 == 0 else runners[::-1]  # alternate who goes first
                for r in order:
                    time.sleep(gap)
                    t0 = time.perf_counter()
                    r.fn(x)
                    dt = time.perf_counter() - t0
                    res["runtimes"][r.name]["times_ms"].append(dt * 1e3)
        finally:
            gc.enable()
        for r in runners:
            d = res["runtimes"][r.name]
            d["median_ms"] = statistics.median(d["times_ms"])
            d["min_ms"] = min(d["times_ms"])
        out["threads"][str(t)] = res
        del runners
        gc.collect()
    return out


def _worker_memory(spec: dict) -> dict:
    """Runs in a subprocess: RSS growth of one runtime loading + running one model."""
    import numpy as np
    name = spec["runtime"]
    importlib.import_module({"ort": "onnxruntime", "ov": "openvino", "ncnn": "ncnn", "litepose": "litepose"}[name])
    x = np.ascontiguousarray(np.load(spec["input"]))
    base = _status_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        hwm_reset = True
    except OSError:
        hwm_reset = False
    r = MAKERS[name](spec["files"], spec["threads"])
    loaded = _status_kb("VmRSS")
    for _ in range(3):
        r.fn(x)
    peak = _status_kb("VmHWM")
    return {"base_mb": base / 1024, "load_mb": (loaded - base) / 1024,
            "plan_mb": getattr(r, "activation_mb", None),
            "peak_mb": (peak - base) / 1024 if hwm_reset else float("nan"),
            "run_mb": (peak - loaded) / 1024 if hwm_reset else float("nan")}


def _worker_main(mode: str, spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    res = _worker_bench(spec) if mode == "bench" else _worker_memory(spec)
    Path(spec["result"]).write_text(json.dumps(res))


# --------------------------------------------------------------------------- parent side (torch)

def torch_refs(model, x):
    """PyTorch's fp32 outputs of ``model`` on ``x`` and the fp32 noise floor
    of this (deep, randomly initialised) network: max over outputs of
    max |fp32 - fp64| / max |fp64|."""
    import numpy as np
    import torch

    with torch.no_grad():
        refs = [t.numpy() for t in model(x)]
        refs64 = [t.numpy() for t in copy.deepcopy(model).double()(x.double())]
    floor = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(refs, refs64))
    return refs, floor


def count_conv_macs(model, x) -> int:
    import torch
    from torch import nn
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.ConvTranspose2d):
            # every input element is scattered into out_ch/groups * kh * kw outputs
            total[0] += inp[0].numel() * (m.out_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return total[0]


class _TupleOut:
    """Wrap so the traced graph returns a tuple: with the model's list output
    pnnx folds both final adds into one multi-output pnnx.Expression that its
    ncnn pass drops ("ignore pnnx.Expression"), leaving a broken param."""

    @staticmethod
    def wrap(model):
        from torch import nn

        class TupleOut(nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                a, b = self.m(x)
                return a, b
        return TupleOut(model).eval()


def export_onnx(model, x, path: Path, exporter: str, log) -> str:
    import onnx
    import torch
    tries = ["dynamo", "torchscript"] if exporter == "auto" else [exporter]
    last = None
    for ex in tries:
        try:
            kw = dict(opset_version=17, input_names=["input"], output_names=["out4", "out2"])
            if ex == "dynamo":
                torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False, verbose=False, **kw)
            else:
                torch.onnx.export(model, (x,), str(path), dynamo=False, **kw)
            m = onnx.load(str(path))
            onnx.checker.check_model(m)
            opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
            if opset != [17]:
                raise RuntimeError(f"exported opset {opset}, wanted 17")
            return ex
        except Exception as e:
            last = e
            log(f"    ONNX export with {ex} exporter failed: {type(e).__name__}: {str(e)[:300]}")
    raise RuntimeError(f"ONNX export failed: {last}")


def export_ncnn(model, x, d: Path, log) -> None:
    import torch
    import pnnx
    pt = d / "model.pt"
    with torch.no_grad():
        torch.jit.trace(_TupleOut.wrap(model), (x,)).save(str(pt))
    shape = ",".join(str(s) for s in x.shape)
    cmd = [pnnx.EXEC_PATH, str(pt), f"inputshape=[{shape}]f32", "device=cpu", "fp16=0",
           f"pnnxparam={d/'model.pnnx.param'}", f"pnnxbin={d/'model.pnnx.bin'}",
           f"pnnxpy={d/'model_pnnx.py'}", f"pnnxonnx={d/'model.pnnx.onnx'}",
           f"ncnnparam={d/'model.ncnn.param'}", f"ncnnbin={d/'model.ncnn.bin'}", f"ncnnpy={d/'model_ncnn.py'}"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(d))
    (d / "pnnx.log").write_text(r.stdout + "\n" + r.stderr)
    param = (d / "model.ncnn.param").read_text() if (d / "model.ncnn.param").exists() else ""
    if r.returncode != 0 or not param:
        raise RuntimeError(f"pnnx failed (rc {r.returncode}), see {d/'pnnx.log'}")
    if "pnnx." in param or " out0 " not in param + " " or " out1" not in param:
        raise RuntimeError(f"pnnx left unconverted ops or lost outputs in {d/'model.ncnn.param'}")


def prepare_model(arch_name: str, args, use_litepose: bool, log) -> dict:
    import numpy as np
    import torch
    from litepose.archs import get_arch
    from litepose.torch import build_model, randomize_

    size = get_arch(arch_name).input_size
    d = Path(args.workdir) / f"{arch_name}-{args.dataset}-seed{args.seed}"
    d.mkdir(parents=True, exist_ok=True)
    model = randomize_(build_model(arch_name, args.dataset), seed=args.seed).eval()
    x_np = np.random.default_rng(1234).standard_normal((1, 3, size, size)).astype(np.float32)
    x = torch.from_numpy(x_np)
    macs = count_conv_macs(model, x)
    refs, floor = torch_refs(model, x)
    np.save(d / "input.npy", x_np)
    for i, r in enumerate(refs):
        np.save(d / f"ref{i}.npy", r)
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().numpy().tobytes())
    key = json.dumps({"v": EXPORT_VERSION, "w": h.hexdigest(), "size": size, "torch": torch.__version__,
                      "pnnx": _version("pnnx"), "onnx": _version("onnx"), "exporter": args.onnx_exporter})
    stamp = d / "export.stamp"
    files = {"onnx": str(d / "model.onnx"), "ncnn_param": str(d / "model.ncnn.param"),
             "ncnn_bin": str(d / "model.ncnn.bin"), "litepose": str(d / "model.lpm")}
    info = {}
    cached = (not args.fresh_export and stamp.exists() and stamp.read_text().split("\n", 1)[0] == key)
    t0 = time.perf_counter()
    if cached:
        info = json.loads(stamp.read_text().split("\n", 1)[1])
        log(f"  {arch_name}: exports cached in {d}")
    else:
        stamp.unlink(missing_ok=True)
        info["onnx_exporter"] = export_onnx(model, x, Path(files["onnx"]), args.onnx_exporter, log)
        export_ncnn(model, x, d, log)
        stamp.write_text(key + "\n" + json.dumps(info))
        log(f"  {arch_name}: exported ONNX ({info['onnx_exporter']}) and ncnn (pnnx) to {d} "
            f"in {time.perf_counter() - t0:.1f} s")
    if use_litepose:
        import litepose.convert
        litepose.convert.convert_state_dict(model.state_dict(), files["litepose"], arch=arch_name, dataset=args.dataset)
    files["input_for_plan"] = str(d / "input.npy")
    return {"model": arch_name, "input_size": size, "macs": macs, "dir": str(d), "files": files,
            "input": str(d / "input.npy"), "refs": [str(d / f"ref{i}.npy") for i in range(len(refs))],
            "ref_shapes": [list(r.shape) for r in refs], "fp32_floor": floor,
            "parity_tol": max(PARITY_TOL, 10 * floor), **info}


def _run_worker(mode: str, spec: dict, env: dict, log) -> dict | None:
    sp = Path(spec["result"]).with_suffix(".spec.json")
    sp.write_text(json.dumps(spec))
    Path(spec["result"]).unlink(missing_ok=True)
    r = subprocess.run([sys.executable, str(Path(__file__).resolve()), f"--_worker={mode}", str(sp)], env=env)
    if r.returncode != 0 or not Path(spec["result"]).exists():
        log(f"    worker {mode} failed (rc {r.returncode})")
        return None
    return json.loads(Path(spec["result"]).read_text())


# --------------------------------------------------------------------------- report

def _fmt_table(rows, header) -> str:
    w = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda r: "| " + " | ".join(str(c).rjust(n) if i else str(c).ljust(n) for i, (c, n) in enumerate(zip(r, w))) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (n + 2) for n in w) + "|"] + [line(r) for r in rows])


def report(results: dict, mhz: float, mhz_measured: float | None, mhz_src: str) -> str:
    lines = []
    peak_core = FMA_PER_CYCLE_PER_CORE * mhz / 1e3  # GMAC/s per core
    peak_meas = FMA_PER_CYCLE_PER_CORE * mhz_measured / 1e3 if mhz_measured else None
    lines.append(f"peak assumption: {FMA_PER_CYCLE_PER_CORE} fp32 FMA/cycle/core x {mhz:.0f} MHz "
                 f"({mhz_src}) = {peak_core:.1f} GMAC/s per core ('% peak')")
    if peak_meas:
        lines.append(f"measured clock (dependent-add chain, boost): {mhz_measured:.0f} MHz -> "
                     f"{peak_meas:.1f} GMAC/s per core ('% @meas')")
    summary_cols = []
    summary = {}
    for m in results["models"]:
        name, macs = m["model"], m["macs"]
        for t, res in sorted(m.get("bench", {}).get("threads", {}).items(), key=lambda kv: int(kv[0])):
            rts = res["runtimes"]
            peers = {k: v["median_ms"] for k, v in rts.items() if k in PEERS}
            peers_min = {k: v["min_ms"] for k, v in rts.items() if k in PEERS}
            best = min(peers, key=peers.get) if peers else None
            rows = []
            for k in [r for r in ALL_RUNTIMES if r in rts]:
                v = rts[k]
                gmacs = macs / 1e6 / v["median_ms"]
                ratio = ""
                if k == "litepose" and best:
                    ratio = f"{peers[best] / v['median_ms']:.2f}x (min {min(peers_min.values()) / v['min_ms']:.2f}x)"
                rows.append([LABEL[k], f"{v['median_ms']:.1f}", f"{v['min_ms']:.1f}", f"{gmacs:.1f}",
                             f"{100 * gmacs / (peak_core * int(t)):.0f}%"]
                            + ([f"{100 * gmacs / (peak_meas * int(t)):.0f}%"] if peak_meas else []) + [
                             f"{max(v['rel_err']):.1e}" + ("" if v["parity_ok"] else " FAIL"), ratio, v["info"]])
                summary.setdefault(name, {})[(k, int(t))] = v["median_ms"]
                if (k, int(t)) not in summary_cols:
                    summary_cols.append((k, int(t)))
            for k, e in res.get("errors", {}).items():
                rows.append([LABEL[k], "error", "", "", ""] + ([""] if peak_meas else []) + ["", "", e[:80]])
            lines.append("")
            lines.append(f"{name} ({m['input_size']}x{m['input_size']}, {macs / 1e9:.2f} GMAC conv), {t} thread(s), "
                         f"other processes' load {m.get('foreign_load_cores', float('nan')):.2f} cores, "
                         f"{len(next(iter(rts.values()))['times_ms']) if rts else 0} interleaved rounds"
                         + (f"; best peer: {LABEL[best]}" if best else "")
                         + f"; rel err = max|y - torch| / max|torch| (torch fp32 vs fp64: {m['fp32_floor']:.1e})")
            lines.append(_fmt_table(rows, ["runtime", "median ms", "min ms", "GMAC/s", "% peak"]
                                    + (["% @meas"] if peak_meas else []) + ["max rel err", "x best peer", "config"]))
        if m.get("memory"):
            rows = [[LABEL[k], f"{v['load_mb']:.1f}", f"{v['peak_mb']:.1f}", f"{v['run_mb']:.1f}",
                     f"{v['plan_mb']:.1f}" if v.get("plan_mb") is not None else "-"]
                    for k, v in m["memory"].items() if v]
            lines.append("")
            lines.append(f"{name} memory (RSS growth over the runtime's import, "
                         f"{m['memory_threads']} thread(s), MB):")
            lines.append(_fmt_table(rows, ["runtime", "after load", "peak (3 runs)", "peak - load",
                                           "reported activations"]))
    if summary:
        order = sorted(summary_cols, key=lambda c: (c[1], ALL_RUNTIMES.index(c[0])))
        tcounts = sorted({t for _, t in order})
        has_lp = any(k == "litepose" for k, _ in order)

        def ratio(n, t):
            peers = [v for (k, tt), v in summary[n].items() if tt == t and k in PEERS]
            lp = summary[n].get(("litepose", t))
            return f"{min(peers) / lp:.2f}x" if peers and lp else "-"
        rows = [[f"{n} ({next(m['input_size'] for m in results['models'] if m['model'] == n)})"]
                + [f"{summary[n][c]:.1f}" if c in summary[n] else "-" for c in order]
                + ([ratio(n, t) for t in tcounts] if has_lp else []) for n in summary]
        lines.append("")
        lines.append("Median ms per forward pass" + (" (x best peer = best peer's median / litepose's)" if has_lp else "") + ":")
        lines.append(_fmt_table(rows, ["model (input)"] + [f"{LABEL[k]} {t}t" for k, t in order]
                                + ([f"x best peer {t}t" for t in tcounts] if has_lp else [])))
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0].startswith("--_worker="):
        _worker_main(argv[0].split("=", 1)[1], argv[1])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="XS,S,M,L", help="comma list of XS,S,M,L (default all)")
    p.add_argument("--threads", default="1,2", help="comma list of thread counts (default 1,2)")
    p.add_argument("--rounds", type=int, default=30, help="interleaved timed rounds per model and thread count (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed interleaved rounds after the parity run (default 3)")
    p.add_argument("--runtimes", default=None,
                   help="comma list of litepose,ort,ov,ncnn (default: all; litepose skipped if not importable)")
    p.add_argument("--json", default=None, help="write all raw results here")
    p.add_argument("--workdir", default="/tmp/litepose-compare", help="exported models and scratch files")
    p.add_argument("--dataset", default="crowdpose", choices=["crowdpose", "coco"])
    p.add_argument("--seed", type=int, default=0, help="randomize_ seed for the weights")
    p.add_argument("--gap-ms", type=float, default=50.0,
                   help="sleep before each timed run so the previous runtime's spinning worker threads "
                        "have gone idle (ORT spins ~40 ms after a run, libgomp/ncnn ~10 ms; default 50)")
    p.add_argument("--clock-mhz", type=float, default=None, help="clock for the %% of peak (default: /proc/cpuinfo)")
    p.add_argument("--no-memory", action="store_true", help="skip the per-runtime RSS subprocesses")
    p.add_argument("--no-clock-measure", action="store_true",
                   help="do not compile and run the small clock probe (needs cc)")
    p.add_argument("--onnx-exporter", default="auto", choices=["auto", "dynamo", "torchscript"])
    p.add_argument("--fresh-export", action="store_true", help="ignore cached exports")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                   help="before each model's timing, wait up to S seconds until other processes use "
                        "< 0.15 cores (default 0: do not wait; the load seen is reported either way)")
    args = p.parse_args(argv)

    t_start = time.perf_counter()
    log = lambda s: print(s, flush=True)
    _ensure_litepose_python_on_path()
    models = [m.strip().upper() for m in args.models.split(",") if m.strip()]
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    explicit = args.runtimes is not None
    wanted = [r.strip().lower() for r in (args.runtimes or ",".join(ALL_RUNTIMES)).split(",") if r.strip()]
    for r in wanted:
        if r not in ALL_RUNTIMES:
            p.error(f"unknown runtime {r!r}: expected some of {','.join(ALL_RUNTIMES)}")
    runtimes = []
    for r in wanted:
        ok, why = _runtime_importable(r)
        if ok:
            runtimes.append(r)
        elif explicit:
            p.error(f"runtime {r} not available: {why}")
        else:
            log(f"warning: skipping {r}: {why}")
    if not runtimes:
        p.error("no runtime available")

    mhz = args.clock_mhz or _cpu_mhz()
    mhz_src = "--clock-mhz" if args.clock_mhz else "/proc/cpuinfo 'cpu MHz'"
    mhz_measured = None if args.no_clock_measure else _measure_mhz(Path(args.workdir))
    env_info = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(), "nproc": os.cpu_count(), "cpu_mhz": mhz, "cpu_mhz_measured": mhz_measured, "platform": platform.platform(),
        "python": platform.python_version(), "commit": _git_rev(),
        "versions": {d: _version(d) for d in ["torch", "onnxruntime", "openvino", "ncnn", "pnnx", "onnx",
                                              "onnxscript", "numpy", "litepose"]},
        "args": vars(args), "runtimes": runtimes,
    }
    if "litepose" in runtimes:
        import litepose
        env_info["litepose_path"] = list(litepose.__path__)[0]
    log(f"compare_runtimes: {env_info['date']}  cpu: {env_info['cpu']} x{env_info['nproc']} @ {mhz:.0f} MHz "
        f"({mhz_src}; measured {mhz_measured or float('nan'):.0f} MHz)  "
        f"commit {env_info['commit']}")
    log("versions: " + "  ".join(f"{k} {v}" for k, v in env_info["versions"].items()))
    log(f"runtimes: {','.join(runtimes)}  models: {','.join(models)}  threads: {threads}  "
        f"rounds: {args.rounds}  warmup: {args.warmup}  gap: {args.gap_ms} ms")

    wenv = dict(os.environ)  # workers import the same litepose (same env and sys.path[0]); never torch

    results = {"env": env_info, "models": []}
    for name in models:
        t0 = time.perf_counter()
        m = prepare_model(name, args, "litepose" in runtimes, log)
        log(f"  {name}: {m['macs'] / 1e9:.3f} GMAC conv, input {m['input_size']}, torch fp32 vs fp64 "
            f"rel err {m['fp32_floor']:.1e} (parity tol {m['parity_tol']:.1e}), prepared in {time.perf_counter() - t0:.1f} s")
        spec = {"model": name, "files": m["files"], "input": m["input"], "refs": m["refs"], "threads": threads,
                "runtimes": runtimes, "rounds": args.rounds, "parity_tol": m["parity_tol"], "warmup": args.warmup, "gap_ms": args.gap_ms,
                "result": str(Path(m["dir"]) / "bench.result.json")}
        if args.wait_idle > 0:
            wait_for_idle(args.wait_idle, log)
        t0, fl = time.perf_counter(), ForeignLoad()
        m["bench"] = _run_worker("bench", spec, wenv, log) or {}
        m["foreign_load_cores"] = fl.cores()
        log(f"  {name}: benchmarked in {time.perf_counter() - t0:.1f} s; other processes used "
            f"{m['foreign_load_cores']:.2f} of {os.cpu_count()} cores meanwhile")
        if not args.no_memory:
            m["memory"], m["memory_threads"] = {}, max(threads)
            for r in runtimes:
                mspec = {"runtime": r, "files": m["files"], "input": m["input"], "threads": max(threads),
                         "result": str(Path(m["dir"]) / f"mem-{r}.result.json")}
                m["memory"][r] = _run_worker("memory", mspec, wenv, log)
        results["models"].append(m)
        if args.json:  # keep partial results if a later model fails
            Path(args.json).write_text(json.dumps(results, indent=1))
    text = report(results, mhz, mhz_measured, mhz_src)
    elapsed = time.perf_counter() - t_start
    results["elapsed_s"] = elapsed
    print()
    print(text)
    print(f"\ntotal wall time {elapsed:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        log(f"raw results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
