"""``litepose.PoseEstimator``: one call from a BGR image to people.

>>> est = litepose.PoseEstimator("litepose-m.lpm")
>>> poses = est(image)            # BGR uint8 H x W x 3, or a path
>>> poses.keypoints               # float32 [N, K, 3]: x, y, score in image pixels

Preprocessing (the official affine warp, normalisation), the network (twice
with ``flip=True``) and decoding (the official HigherHRNet-style grouping) all
run natively in one call with the GIL released.  One estimator may be called
from several threads at once: network runs are serialised, pre- and
post-processing overlap, and results equal serial calls.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np

from . import _core
from .network import Network
from .results import Poses
from .skeletons import SKELETONS

__all__ = ["PoseEstimator"]

log = logging.getLogger(__name__)

#: largest image accepted (pixels); larger inputs are almost surely a bug
#: (e.g. a raw buffer reinterpreted) and would only waste memory.
MAX_IMAGE_PIXELS = 100_000_000


def _load_image(path: Union[str, os.PathLike]) -> np.ndarray:
    import cv2

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode image {p} (not an image format OpenCV reads)")
    return img


def _check_image(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy uint8 array of shape (H, W, 3) or a path, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must have dtype uint8 (H, W, 3), got dtype {image.dtype} shape {image.shape}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3) with 3 colour channels, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image is empty: shape {image.shape}")
    if image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        raise ValueError(f"image of {image.shape[1]} x {image.shape[0]} pixels exceeds the supported "
                         f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels; resize it first")
    if not image.flags.c_contiguous:
        raise ValueError(f"image must be C-contiguous (got strides {image.strides} for shape {image.shape}); "
                         "pass np.ascontiguousarray(image)")
    return image


class PoseEstimator:
    """Image in, people out.

    ``model``: a ``.lpm`` path, a :class:`Network`, or model bytes.
    ``num_threads``: threads of the network (None: ``LITEPOSE_NUM_THREADS`` or
    every core).  ``flip``: official flip test (about 2x network time, better
    accuracy).  ``input_size``: short side at inference (default: the model's
    training size).  ``fast``: decode at 1/2 resolution and map coordinates
    instead of resizing the maps (faster; see docs/decoder.md for its AP cost).
    """

    _profiler = None  # set by litepose.profile() while active

    def __init__(self, model: Union[str, os.PathLike, bytes, Network], num_threads: Optional[int] = None,
                 flip: bool = False, isa: str = "auto", input_size: Optional[int] = None,
                 detection_threshold: float = 0.1, tag_threshold: float = 1.0, max_num_people: int = 30,
                 fast: bool = False, adjust: bool = True, refine: bool = True):
        if isinstance(model, Network):
            if num_threads is not None:
                model.num_threads = num_threads
            self.network = model
        else:
            self.network = Network(model, num_threads=num_threads, isa=isa)
        if input_size is not None and (not isinstance(input_size, (int, np.integer)) or input_size < 16):
            raise ValueError(f"input_size must be an integer >= 16, got {input_size!r}")
        if not 0.0 <= detection_threshold < 1.0:
            raise ValueError(f"detection_threshold must be in [0, 1), got {detection_threshold}")
        if not isinstance(max_num_people, (int, np.integer)) or max_num_people < 1:
            raise ValueError(f"max_num_people must be a positive integer, got {max_num_people!r}")
        self.flip = bool(flip)
        self.fast = bool(fast)
        self._opts = dict(max_num_people=int(max_num_people), detection_threshold=float(detection_threshold),
                          tag_threshold=float(tag_threshold), adjust=bool(adjust), refine=bool(refine),
                          project_to_input=not fast)
        self._est = _core.PoseEstimator(self.network._net, flip=self.flip, input_size=int(input_size or 0),
                                        **self._opts)
        self.input_size: int = self._est.input_size
        self.num_joints: int = self._est.num_joints
        self.dataset: str = self._est.dataset or self.network.dataset
        sk = SKELETONS.get(self.dataset)
        if sk is None or sk.num_joints != self.num_joints:
            sk = None
        self.keypoint_names = sk.keypoints if sk else tuple(f"joint_{i}" for i in range(self.num_joints))
        self.skeleton = sk.edges if sk else ()

    # ------------------------------------------------------------------ call
    def __call__(self, image: Union[np.ndarray, str, os.PathLike], rgb: bool = False) -> Poses:
        """Find the people in ``image``: a BGR (``rgb=True``: RGB) uint8
        H x W x 3 array, or the path of an image file."""
        if isinstance(image, (str, os.PathLike)):
            image = _load_image(image)
        image = _check_image(image)
        prof = self._profiler
        if prof is None:
            kp, scores = self._est(image, rgb)
        else:
            t0 = time.perf_counter()
            (kp, scores), stages = self._run_steps(image, rgb)
            prof._record((time.perf_counter() - t0) * 1e3, stages)
        return Poses(kp, scores, self.keypoint_names, self.skeleton, image.shape[:2])

    def _run_steps(self, image: np.ndarray, rgb: bool):
        """The same pipeline as the fused native call, step by step, timing
        each step (used by profile() and benchmark())."""
        t = time.perf_counter
        t0 = t()
        self.network._net.wake()  # as the native call does
        x, info = _core.preprocess(image, self.input_size, rgb)
        if self.flip:
            x = np.stack([x, x[:, :, ::-1]])
        else:
            x = x[None]
        t1 = t()
        out4, out2 = self.network._net.forward(np.ascontiguousarray(x))
        t2 = t()
        flips = (out4[1], out2[1]) if self.flip else (None, None)
        res = _core.decode(out4[0], out2[0], flips[0], flips[1], dataset=self.dataset, to_image=info["to_image"],
                           **self._opts)
        t3 = t()
        # the decoding steps as the core timed them; what the binding adds
        # around them (array checks, result arrays) is decode.other
        steps = [(f"decode.{k}", v) for k, v in _core.last_decode_timings().items()]
        total = (t3 - t2) * 1e3
        stages = [("preprocess", (t1 - t0) * 1e3)] + steps + [("decode.other", max(total - sum(v for _, v in steps), 0.0))]
        return res, stages

    # ------------------------------------------------------------ benchmark
    def benchmark(self, image: np.ndarray, runs: int = 20, warmup: int = 3) -> Dict[str, Dict[str, float]]:
        """Latency in ms (min, median, p90) of preprocess, network, decode
        (measured step by step) and end to end (the fused call)."""
        from .cli import stats_ms

        image = _check_image(image)
        for _ in range(warmup):
            self._est(image, False)
        steps: Dict[str, list] = {"preprocess": [], "network": [], "decode": [], "end_to_end": []}
        for _ in range(runs):
            t0 = time.perf_counter()
            self._est(image, False)
            steps["end_to_end"].append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            _, st = self._run_steps(image, False)
            total = (time.perf_counter() - t0) * 1e3
            d = dict(st)
            dec = sum(v for k, v in st if k.startswith("decode"))
            steps["preprocess"].append(d["preprocess"])
            steps["decode"].append(dec)
            steps["network"].append(total - d["preprocess"] - dec)
        return {k: stats_ms(v) for k, v in steps.items()}

    def __repr__(self) -> str:
        return (f"PoseEstimator(LitePose-{self.network.arch} {self.dataset}, input {self.input_size}, "
                f"flip={self.flip}, fast={self.fast}, isa={self.network.isa!r}, threads={self.network.num_threads})")
