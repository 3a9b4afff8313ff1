"""The ``litepose`` command line.

Errors a user can cause (bad paths, unreadable images, corrupt models,
unknown architectures) print one line on stderr and exit non-zero; the
traceback only with ``--verbose``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from . import _core
from .archs import ARCHS, DATASET_JOINTS

log = logging.getLogger("litepose")


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _threads(args) -> Optional[int]:
    if getattr(args, "threads", None):
        return args.threads
    env = os.environ.get("LITEPOSE_NUM_THREADS")
    if env:
        try:
            v = int(env)
            if v >= 1:
                return v
        except ValueError:
            pass
        raise CliError(f"LITEPOSE_NUM_THREADS must be a positive integer, got {env!r}")
    return None


def _load_network(args):
    """A Network from args.model, or random weights for --arch."""
    from .convert import random_model_bytes
    from .network import Network

    if getattr(args, "model", None):
        return Network(args.model, num_threads=_threads(args), isa=args.isa)
    arch = args.arch or "M"
    log.info("no model given: LitePose-%s with deterministic random weights", arch)
    return Network(random_model_bytes(arch, args.dataset), num_threads=_threads(args), isa=args.isa)


def stats_ms(samples: Sequence[float]) -> Dict[str, float]:
    a = np.asarray(samples, dtype=np.float64)
    return {"min": float(a.min()), "median": float(np.median(a)), "p90": float(np.percentile(a, 90)),
            "mean": float(a.mean()), "runs": int(a.size)}


# ---------------------------------------------------------------- commands
def cmd_convert(args) -> int:
    from .convert import convert_checkpoint

    out = Path(args.output)
    if out.is_dir():
        raise CliError(f"-o {out} is a directory; give a file name such as {out / 'model.lpm'}")
    convert_checkpoint(args.checkpoint, out, args.arch, args.dataset)
    from .network import Network

    net = Network(out, num_threads=1)
    print(f"wrote {out}: LitePose-{net.arch} {net.dataset} ({net.num_joints} joints, input {net.input_size}), "
          f"{out.stat().st_size / 1e6:.1f} MB")
    return 0


def build_info() -> Dict[str, object]:
    cpu = _core.cpu_info()
    from .convert import random_model_bytes
    from .network import Network

    net = Network(random_model_bytes("XS", "coco"), num_threads=1)
    return {
        "litepose": _core.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu["model"],
        "arch": cpu["arch"],
        "hardware_threads": cpu["hardware_threads"],
        "cpu_features": cpu["features"],
        "compiled_isas": _core.compiled_isas(),
        "available_isas": _core.available_isas(),
        "isa": net.isa,
        "kernels": net.kernels,
        "default_threads": _core.default_num_threads(),
        "model_format_version": _core.MODEL_FORMAT_VERSION,
    }


def cmd_info(args) -> int:
    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for k, v in info.items():
        if isinstance(v, dict):
            print(f"{k}:")
            for kk, vv in v.items():
                print(f"  {kk:<8} {vv}")
        else:
            print(f"{k + ':':<22} {', '.join(v) if isinstance(v, list) else v}")
    return 0


def _time(fn: Callable[[], object], runs: int, warmup: int) -> List[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def cmd_bench(args) -> int:
    net = _load_network(args)
    size = args.size or net.input_size
    if size % 16:
        raise CliError(f"--size must be a multiple of 16, got {size}")
    random_weights = not args.model
    # a square image of the input size: the network then runs exactly size x size
    img = (np.random.default_rng(1).random((size, size, 3)) * 255).astype(np.uint8)
    if random_weights:
        # Untrained weights light up every heatmap pixel, so decoding would
        # time a pathological case; time preprocessing and the network only.
        x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
        pre = _time(lambda: _core.preprocess(img, size, False), args.runs, args.warmup)
        rows = {"preprocess": stats_ms(pre), "network": stats_ms(_time(lambda: net.forward(x), args.runs, args.warmup))}
    else:
        from .estimator import PoseEstimator

        rows = PoseEstimator(net).benchmark(img, runs=args.runs, warmup=args.warmup)
    result = {"arch": net.arch, "input": f"{size}x{size}", "threads": net.num_threads, "isa": net.isa,
              "weights": "random" if random_weights else "file", "ms": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"LitePose-{net.arch} input {size}x{size}, {net.num_threads} thread(s), isa {net.isa}, "
          f"{'weights ' + args.model if args.model else 'random weights'}, {args.runs} runs after {args.warmup} warm-up")
    print(f"{'stage':<12} {'min ms':>9} {'median ms':>10} {'p90 ms':>9}")
    for name, st in rows.items():
        print(f"{name:<12} {st['min']:>9.2f} {st['median']:>10.2f} {st['p90']:>9.2f}")
    if random_weights:
        print("decode and end-to-end times need a trained model: litepose bench MODEL.lpm "
              "(convert a checkpoint with litepose convert)")
    return 0


def cmd_profile(args) -> int:
    from .profile import profile

    net = _load_network(args)
    target = net
    size = args.size or net.input_size
    if size % 16:
        raise CliError(f"--size must be a multiple of 16, got {size}")
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    call = lambda: net.forward(x)  # noqa: E731
    try:
        from .estimator import PoseEstimator

        # random weights make decoding pathological: profile the network alone then
        if not args.network_only and args.model:
            target = PoseEstimator(net)
            img = (np.random.default_rng(1).random((size, size, 3)) * 255).astype(np.uint8)
            call = lambda: target(img)  # noqa: E731
    except ImportError:
        pass
    for _ in range(args.warmup):
        call()
    with profile(target) as prof:
        for _ in range(args.runs):
            call()
    p = prof.result
    text = {"table": p.table, "csv": p.to_csv, "json": p.to_json, "trace": p.to_chrome_trace}[args.format]()
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output} ({args.format}, {len(p.rows)} rows, {p.end_to_end_ms:.2f} ms end to end)")
    else:
        print(text)
    return 0


IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def _expand_inputs(items: Sequence[str]) -> List[Path]:
    import glob

    out: List[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_EXTS)
            if not found:
                raise CliError(f"no images ({', '.join(sorted(IMAGE_EXTS))}) in directory {p}")
            out += found
        elif p.is_file():
            out.append(p)
        elif any(c in item for c in "*?["):
            found = sorted(Path(q) for q in glob.glob(item, recursive=True) if Path(q).suffix.lower() in IMAGE_EXTS)
            if not found:
                raise CliError(f"no images match {item!r}")
            out += found
        else:
            raise CliError(f"input not found: {item}")
    return out


def _estimator(args):
    from .estimator import PoseEstimator

    model = Path(args.model)
    if not model.exists():
        raise CliError(f"model file not found: {model}")
    return PoseEstimator(model, num_threads=_threads(args), flip=args.flip, isa=args.isa, fast=args.fast)


def cmd_predict(args) -> int:
    import cv2

    from .draw import draw

    images = _expand_inputs(args.inputs)
    est = _estimator(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    stems: Dict[str, int] = {}
    for n, path in enumerate(images):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise CliError(f"cannot read image {path}")
        t0 = time.perf_counter()
        poses = est(img)
        ms = (time.perf_counter() - t0) * 1e3
        keep = poses.scores >= args.min_score
        stem = path.stem
        if stem in stems:  # same stem from two folders: keep both
            stems[stem] += 1
            stem = f"{stem}_{stems[stem]}"
        else:
            stems[stem] = 0
        drawn = draw(img, _subset(poses, keep), threshold=args.threshold)
        cv2.imwrite(str(out_dir / f"{stem}.jpg"), drawn)
        for d in poses.to_coco(image_id=n):
            d["image_id"] = n
            d["file_name"] = str(path)
            results.append(d)
        log.info("%s: %d people (%d drawn) in %.1f ms", path, len(poses), int(keep.sum()), ms)
        if args.show:
            _show(drawn)
    (out_dir / "results.json").write_text(json.dumps(results))
    print(f"{len(images)} image(s), {len(results)} people -> {out_dir}/ (drawn images, results.json)")
    return 0


def _subset(poses, mask):
    from .results import Poses

    return Poses(poses.keypoints[mask], poses.scores[mask], poses.names, poses.skeleton, poses.image_size)


def _show(img) -> None:
    import cv2

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        log.warning("--show: no display found (DISPLAY is not set); not showing")
        return
    try:
        cv2.imshow("litepose", img)
        cv2.waitKey(1)
    except cv2.error as e:  # headless OpenCV build
        log.warning("--show: this OpenCV build cannot open windows (%s)", str(e).splitlines()[0])


def cmd_video(args) -> int:
    import cv2

    from .draw import draw

    src = args.source
    cap = cv2.VideoCapture(int(src) if src.isdigit() else src)
    if not cap.isOpened():
        raise CliError(f"cannot open video source {src!r} (a file, a camera index or a stream URL)")
    est = _estimator(args)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    if not (0 < fps < 1000):
        fps = 30.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    jsonl_path = out_path.with_suffix(".jsonl")
    writer = None
    n = 0
    t_start = time.perf_counter()
    infer_ms = []
    interrupted = False
    progress = total > 0 and sys.stderr.isatty() and not args.verbose
    try:
        with open(jsonl_path, "w") as jl:
            while args.max_frames is None or n < args.max_frames:
                ok, frame = cap.read()
                if not ok:
                    break
                if writer is None:
                    h, w = frame.shape[:2]
                    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                    if not writer.isOpened():
                        raise CliError(f"cannot write video {out_path}")
                t0 = time.perf_counter()
                poses = est(frame)
                infer_ms.append((time.perf_counter() - t0) * 1e3)
                keep = poses.scores >= args.min_score
                drawn = draw(frame, _subset(poses, keep), threshold=args.threshold, copy=False)
                writer.write(drawn)
                jl.write(json.dumps({"frame": n, "time": round(n / fps, 4), **poses.to_dict()}) + "\n")
                n += 1
                if progress:
                    done = int(30 * n / total)
                    print(f"\r[{'#' * done}{'.' * (30 - done)}] {n}/{total} frames", end="", file=sys.stderr, flush=True)
                if args.show:
                    _show(drawn)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        cap.release()
        if writer is not None:
            writer.release()  # finalises the file: playable even after Ctrl-C
        if progress:
            print(file=sys.stderr)
    wall = time.perf_counter() - t_start
    if n == 0:
        raise CliError(f"no frames could be read from {src!r}")
    print(f"{'interrupted after ' if interrupted else ''}{n} frames -> {out_path} and {jsonl_path}; "
          f"{n / wall:.1f} fps overall, pose estimation {np.median(infer_ms):.1f} ms/frame median "
          f"({1000 / np.median(infer_ms):.1f} fps)")
    return 130 if interrupted else 0


def cmd_eval(args) -> int:
    from .eval import evaluate

    est = _estimator(args)
    out = Path(args.results) if args.results else None

    def progress(i, n):
        if sys.stderr.isatty() and not args.verbose:
            print(f"\r{i}/{n} images", end="" if i < n else "\n", file=sys.stderr, flush=True)

    m = evaluate(est, args.annotations, args.images, est.num_joints, results_path=out, limit=args.limit,
                 progress=progress)
    print(f"LitePose-{est.network.arch} {est.dataset} on {m['images']} images ({m['detections']} detections), "
          f"input {est.input_size}, flip {'on' if est.flip else 'off'}{', fast decode' if est.fast else ''}")
    for k in ("AP", "AP50", "AP75", "APm", "APl", "AR"):
        print(f"{k:<5} {m[k]:.4f}")
    if out:
        print(f"detections written to {out}")
    if args.json:
        print(json.dumps(m))
    return 0


# ---------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the usage block only on --help)."""

    def error(self, message):  # noqa: D401
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="litepose", description="LitePose multi-person pose estimation on the CPU")
    p.add_argument("--verbose", "-v", action="store_true", help="debug logging and tracebacks")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("convert", help="convert an official PyTorch checkpoint into a .lpm model file")
    c.add_argument("checkpoint")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--arch", choices=list(ARCHS), type=str.upper, help="check the checkpoint is this architecture (inferred if left out)")
    c.add_argument("--dataset", choices=list(DATASET_JOINTS), help="check the joint count (inferred if left out)")
    c.set_defaults(func=cmd_convert)

    i = sub.add_parser("info", help="version, build, CPU features, kernels chosen")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    def model_args(sp, runs: int):
        sp.add_argument("model", nargs="?", help=".lpm model file (default: random weights for --arch)")
        sp.add_argument("--arch", choices=list(ARCHS), type=str.upper, help="architecture for random weights (default M)")
        sp.add_argument("--dataset", choices=list(DATASET_JOINTS), default="crowdpose")
        sp.add_argument("--threads", type=_positive_int, help="threads (default LITEPOSE_NUM_THREADS or all cores)")
        sp.add_argument("--isa", default="auto", help="kernel set: auto, scalar, avx2, avx512f, neon")
        sp.add_argument("--runs", type=_positive_int, default=runs)
        sp.add_argument("--warmup", type=int, default=3)
        sp.add_argument("--size", type=_positive_int, help="square input size (default: the model's)")
        sp.add_argument("--json", action="store_true")

    def est_args(sp):
        sp.add_argument("--threads", type=_positive_int, help="threads (default LITEPOSE_NUM_THREADS or all cores)")
        sp.add_argument("--isa", default="auto", help="kernel set: auto, scalar, avx2, avx512f, neon")
        sp.add_argument("--flip", action="store_true", help="flip test (slower, more accurate)")
        sp.add_argument("--fast", action="store_true", help="fast decoding at 1/2 resolution")

    pd = sub.add_parser("predict", help="people in images: drawn images and COCO results.json")
    pd.add_argument("model")
    pd.add_argument("inputs", nargs="+", help="image files, directories or globs")
    pd.add_argument("--out", required=True, help="output directory")
    pd.add_argument("--threshold", type=float, default=0.1, help="joints under this score are not drawn")
    pd.add_argument("--min-score", type=float, default=0.1, help="people under this score are not drawn")
    pd.add_argument("--show", action="store_true", help="show each result in a window when a display exists")
    est_args(pd)
    pd.set_defaults(func=cmd_predict)

    v = sub.add_parser("video", help="annotate a video file, camera or stream; writes FILE.mp4 and FILE.jsonl")
    v.add_argument("model")
    v.add_argument("source", help="video file, camera index (0) or stream URL")
    v.add_argument("--out", required=True, help="output video (.mp4); per-frame people go to the same name .jsonl")
    v.add_argument("--threshold", type=float, default=0.1)
    v.add_argument("--min-score", type=float, default=0.1)
    v.add_argument("--max-frames", type=_positive_int)
    v.add_argument("--show", action="store_true")
    est_args(v)
    v.set_defaults(func=cmd_video)

    e = sub.add_parser("eval", help="COCO keypoint AP of a model on a COCO-format dataset (pycocotools)")
    e.add_argument("model")
    e.add_argument("--annotations", required=True)
    e.add_argument("--images", required=True)
    e.add_argument("--results", help="write the detections (COCO results JSON) here")
    e.add_argument("--limit", type=_positive_int, help="only the first N images")
    e.add_argument("--json", action="store_true")
    est_args(e)
    e.set_defaults(func=cmd_eval)

    b = sub.add_parser("bench", help="latency of preprocess, network, decode and end to end")
    model_args(b, 20)
    b.set_defaults(func=cmd_bench)

    pr = sub.add_parser("profile", help="per-layer timing of a frame (table, csv, json, chrome trace)")
    model_args(pr, 10)
    pr.add_argument("--format", choices=["table", "csv", "json", "trace"], default="table")
    pr.add_argument("-o", "--output", help="write to this file instead of stdout")
    pr.add_argument("--network-only", action="store_true", help="profile the network alone (no pre/post-processing)")
    pr.set_defaults(func=cmd_profile)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "model", None) and getattr(args, "arch", None):
        parser.error("give either a model file or --arch, not both")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, FileNotFoundError, IsADirectoryError, PermissionError, ImportError) as e:
        if args.verbose:
            raise
        print(f"litepose {args.command}: error: {e}", file=sys.stderr)
        return 2
