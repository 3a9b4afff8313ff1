"""Per-layer profiling that explains every millisecond of a frame.

>>> with litepose.profile(net_or_estimator, runs=10) as prof:
...     for _ in range(10):
...         est(image)
>>> print(prof.table())

A runtime switch: the native core records one timing per layer (and per
thread work item) only while a profile is active; when off, the cost is one
branch per layer.  Rows are layers (checkpoint module names), pipeline stages
(preprocess, decode steps) and an explicit ``unattributed`` row that holds the
end-to-end time not covered by any row, so the rows add up to the measured
end-to-end time.
"""
from __future__ import annotations

import csv
import io
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

from . import _core

__all__ = ["profile", "Profile", "Row", "stage_of"]


def stage_of(name: str) -> str:
    """The pipeline stage of a layer name."""
    if name.startswith("first."):
        return "stem"
    if name.startswith("stage."):
        return "stage" + name.split(".")[1]
    if name.startswith(("deconv", "final")):
        return "head"
    if name.startswith(("input.", "output.", "output2.", "output4.")):
        return "layout"
    return name.split(".")[0]


@dataclass
class Row:
    index: int
    stage: str
    name: str
    op: str
    kernel: str
    isa: str
    in_shape: List[int]
    out_shape: List[int]
    macs: float
    first_ms: float
    median_ms: float
    min_ms: float
    p90_ms: float
    mean_ms: float = 0.0
    gflops: float = 0.0
    pct: float = 0.0
    cum_pct: float = 0.0


@dataclass
class Profile:
    header: Dict[str, Any]
    rows: List[Row]
    end_to_end_ms: float  # mean end-to-end time per call: the rows' mean_ms add up to it
    runs: int
    end_to_end_median_ms: float = 0.0
    trace: List[Dict[str, Any]] = field(default_factory=list)  # Chrome trace events of the last run

    # ------------------------------------------------------------ summaries
    def _summary(self, key: Callable[[Row], str]) -> List[Dict[str, Any]]:
        groups: Dict[str, Dict[str, Any]] = {}
        for r in self.rows:
            g = groups.setdefault(key(r), {"count": 0, "ms": 0.0, "macs": 0.0})
            g["count"] += 1
            g["ms"] += r.mean_ms
            g["macs"] += r.macs
        out = []
        for k, g in groups.items():
            out.append({"name": k, "count": g["count"], "ms": g["ms"],
                        "pct": 100.0 * g["ms"] / self.end_to_end_ms if self.end_to_end_ms else 0.0,
                        "macs": g["macs"], "gflops": 2 * g["macs"] / (g["ms"] * 1e6) if g["ms"] > 0 else 0.0})
        return sorted(out, key=lambda d: -d["ms"])

    def by_op(self) -> List[Dict[str, Any]]:
        return self._summary(lambda r: r.op)

    def by_stage(self) -> List[Dict[str, Any]]:
        return self._summary(lambda r: r.stage)

    @property
    def total_macs(self) -> float:
        return sum(r.macs for r in self.rows)

    # ------------------------------------------------------------ exports
    def table(self, top: Optional[int] = None) -> str:
        h = self.header
        lines = [
            f"litepose {h.get('litepose')} | {h.get('cpu')} | {h.get('cores')} cores | isa {h.get('isa')} | "
            f"{h.get('threads')} thread(s) | {self.runs} run(s)",
            f"compiler: {h.get('compiler')} {h.get('flags')}",
            f"end to end: {self.end_to_end_ms:.3f} ms mean, {self.end_to_end_median_ms:.3f} ms median, "
            f"{self.total_macs / 1e9:.3f} GMAC  (% columns are shares of the mean; rows add up to it)",
            "",
            f"{'#':>4} {'stage':<8} {'layer':<34} {'op':<7} {'kernel':<26} {'out shape':<15} {'MMAC':>8} "
            f"{'first':>8} {'mean':>8} {'median':>8} {'min':>8} {'p90':>8} {'GFLOP/s':>8} {'%':>6} {'cum%':>6}",
        ]
        rows = self.rows if top is None else sorted(self.rows, key=lambda r: -r.median_ms)[:top]
        for r in rows:
            shape = "x".join(map(str, r.out_shape)) if r.out_shape else "-"
            lines.append(
                f"{r.index:>4} {r.stage:<8} {r.name[:34]:<34} {r.op:<7} {r.kernel[:26]:<26} {shape:<15} "
                f"{r.macs / 1e6:>8.2f} {r.first_ms:>8.3f} {r.mean_ms:>8.3f} {r.median_ms:>8.3f} {r.min_ms:>8.3f} {r.p90_ms:>8.3f} "
                f"{r.gflops:>8.1f} {r.pct:>6.2f} {r.cum_pct:>6.2f}"
            )
        for title, summ in (("by op type", self.by_op()), ("by stage", self.by_stage())):
            lines += ["", f"summary {title}:", f"  {'name':<14} {'count':>5} {'ms':>9} {'%':>6} {'GMAC':>8} {'GFLOP/s':>8}"]
            for s in summ:
                lines.append(f"  {s['name']:<14} {s['count']:>5} {s['ms']:>9.3f} {s['pct']:>6.2f} "
                             f"{s['macs'] / 1e9:>8.3f} {s['gflops']:>8.1f}")
        return "\n".join(lines)

    def to_csv(self) -> str:
        buf = io.StringIO()
        names = list(Row.__dataclass_fields__)
        w = csv.writer(buf)
        w.writerow(names)
        for r in self.rows:
            d = asdict(r)
            w.writerow(["x".join(map(str, d[n])) if isinstance(d[n], list) else d[n] for n in names])
        return buf.getvalue()

    def to_json(self) -> str:
        return json.dumps({"header": self.header, "end_to_end_ms": self.end_to_end_ms,
                           "end_to_end_median_ms": self.end_to_end_median_ms, "runs": self.runs,
                           "rows": [asdict(r) for r in self.rows], "trace": self.trace}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Profile":
        d = json.loads(text)
        return cls(header=d["header"], rows=[Row(**r) for r in d["rows"]], end_to_end_ms=d["end_to_end_ms"],
                   runs=d["runs"], trace=d.get("trace", []), end_to_end_median_ms=d.get("end_to_end_median_ms", 0.0))

    def to_chrome_trace(self) -> str:
        """Chrome trace event JSON (µs; one track per thread), for Perfetto
        or chrome://tracing."""
        meta = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "litepose"}}]
        tids = sorted({e["tid"] for e in self.trace})
        meta += [{"name": "thread_name", "ph": "M", "pid": 1, "tid": t,
                  "args": {"name": "caller" if t == 0 else f"worker {t}"}} for t in tids]
        return json.dumps({"traceEvents": meta + self.trace, "displayTimeUnit": "ms", "otherData": self.header})


def _header(target) -> Dict[str, Any]:
    cpu = _core.cpu_info()
    comp = _core.compiler()
    net = _network_of(target)
    return {
        "litepose": _core.__version__,
        "cpu": cpu["model"],
        "arch": cpu["arch"],
        "cores": cpu["hardware_threads"],
        "features": cpu["features"],
        "isa": net.isa,
        "threads": net.num_threads,
        "kernels": net.kernels,
        "compiler": comp["version"],
        "flags": comp["flags"].strip(),
        "python": platform.python_version(),
        "model": f"LitePose-{net.arch} {net.dataset}",
    }


def _network_of(target):
    from .network import Network

    if isinstance(target, Network):
        return target
    net = getattr(target, "network", None)
    if isinstance(net, Network):
        return net
    raise TypeError(f"profile() takes a litepose.Network or PoseEstimator, got {type(target).__name__}")


class profile:
    """Context manager that profiles every call of a Network or a
    PoseEstimator made inside it.  ``prof.result`` (also returned by
    ``prof.finish()``) is a :class:`Profile` over those calls."""

    def __init__(self, target):
        self.target = target
        self.net = _network_of(target)
        self._calls: List[Dict[str, Any]] = []
        self.result: Optional[Profile] = None

    # the target calls this after each call (see Network/PoseEstimator)
    def _record(self, e2e_ms: float, stages: Sequence[tuple] = ()) -> None:
        self._calls.append({"e2e": e2e_ms, "layers": self.net._net.last_timings(), "stages": list(stages)})

    def __enter__(self) -> "profile":
        self.net._net.set_profiling(True)
        self._prev = getattr(self.target, "_profiler", None)
        self.target._profiler = self
        if self.target is not self.net:
            self.net._profiler = None  # the estimator records; avoid double counting
        return self

    def __exit__(self, *exc) -> None:
        self.net._net.set_profiling(False)
        self.target._profiler = self._prev
        if exc[0] is None:
            self.finish()

    # ------------------------------------------------------------ aggregate
    def finish(self) -> Profile:
        if not self._calls:
            raise RuntimeError("nothing was profiled: call the network or estimator inside the `with` block")
        calls = self._calls
        isa = self.net.isa
        rows: List[Row] = []

        def add(name, stage, op, kernel, in_shape, out_shape, macs, samples):
            a = np.asarray(samples, dtype=np.float64)
            rows.append(Row(len(rows), stage, name, op, kernel, isa if op not in ("stage", "decode", "preprocess", "other") else "-",
                            list(in_shape), list(out_shape), float(macs), float(a[0]), float(np.median(a)),
                            float(a.min()), float(np.percentile(a, 90)), float(a.mean())))

        n_layers = len(calls[0]["layers"])
        if any(len(c["layers"]) != n_layers for c in calls):
            raise RuntimeError("calls ran different layer sequences; profile one input size at a time")
        # stages before the network (preprocess) first, then layers, then the rest
        stage_names = [s[0] for s in calls[0]["stages"]]
        pre = [s for s in stage_names if s.startswith("preprocess")]
        post = [s for s in stage_names if not s.startswith("preprocess")]
        for s in pre:
            add(s, "preprocess", "preprocess", "native", [], [], 0, [dict(c["stages"])[s] for c in calls])
        for i in range(n_layers):
            t0 = calls[0]["layers"][i]
            add(t0.name, stage_of(t0.name), t0.op, t0.kernel, t0.in_shape, t0.out_shape, t0.macs,
                [c["layers"][i].ms for c in calls])
        for s in post:
            add(s, "decode", "decode", "native", [], [], 0,
                [dict(c["stages"])[s] for c in calls])
        e2e = np.asarray([c["e2e"] for c in calls])
        attributed = np.asarray([sum(t.ms for t in c["layers"]) + sum(v for _, v in c["stages"]) for c in calls])
        add("unattributed", "other", "other", "-", [], [], 0, np.maximum(e2e - attributed, 0.0))
        # unattributed is clipped at 0 per run, so the means add up exactly
        # only when every run's rows fit inside its end-to-end time (they do:
        # the rows are timed inside the end-to-end interval)
        total = float(e2e.mean())
        cum = 0.0
        for r in rows:
            r.gflops = 2 * r.macs / (r.median_ms * 1e6) if r.median_ms > 0 and r.macs else 0.0
            r.pct = 100.0 * r.mean_ms / total if total else 0.0
            cum += r.pct
            r.cum_pct = cum
        trace = []
        last = calls[-1]
        for t in last["layers"]:
            if t.spans:
                for th, s, e in t.spans:
                    trace.append({"name": t.name, "cat": t.op, "ph": "X", "pid": 1, "tid": th,
                                  "ts": round(s * 1000, 3), "dur": round((e - s) * 1000, 3),
                                  "args": {"kernel": t.kernel, "macs": t.macs}})
            else:
                trace.append({"name": t.name, "cat": t.op, "ph": "X", "pid": 1, "tid": 0,
                              "ts": round(t.start_ms * 1000, 3), "dur": round(t.ms * 1000, 3),
                              "args": {"kernel": t.kernel, "macs": t.macs}})
        self.result = Profile(_header(self.target), rows, total, len(calls),
                              end_to_end_median_ms=float(np.median(e2e)), trace=trace)
        return self.result
