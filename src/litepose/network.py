"""``litepose.Network``: the raw network, NCHW float32 in, NCHW float32 out."""
from __future__ import annotations

import os
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import _core

__all__ = ["Network"]


def _check_threads(num_threads: Optional[int]) -> int:
    if num_threads is None:
        return 0
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)):
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1 (or None for the default), got {num_threads}")
    return int(num_threads)


class Network:
    """The LitePose network loaded from a litepose model file (``.lpm``).

    >>> net = Network("litepose-m.lpm")
    >>> out4, out2 = net.forward(x)   # x: float32 [N, 3, H, W], H and W multiples of 16

    ``out4`` is [N, 2K, H/4, W/4] (K heatmaps, then K tag maps) and ``out2``
    is [N, K, H/2, W/2], exactly like the official PyTorch model's outputs.
    ``num_threads=None`` uses ``LITEPOSE_NUM_THREADS`` or every core;
    ``isa`` forces a kernel set (``"scalar"``, ``"avx2"``, ``"avx512f"``,
    ``"neon"``), default the best this CPU runs (or ``LITEPOSE_ISA``).
    ``pin_threads`` (None: ``LITEPOSE_PIN_THREADS``, else True): with 2 or
    more threads, bind each of the pool's threads to its own CPU (big cores
    and distinct physical cores first; the calling thread to the first one
    while ``forward`` runs, its own CPU mask restored after); skipped when
    the process may use fewer CPUs than ``num_threads``.  Turn it off when
    several multi-threaded networks or other pinned work share the machine.
    ``pinned_cpus`` says what it did.
    """

    def __init__(self, model: str | os.PathLike | bytes, num_threads: Optional[int] = None, isa: str = "auto",
                 fuse: str = "", pin_threads: Optional[bool] = None):
        threads = _check_threads(num_threads)
        if fuse not in ("", "auto", "on", "off"):
            raise ValueError(f"fuse must be 'auto', 'on' or 'off', got {fuse!r}")
        if pin_threads is not None and not isinstance(pin_threads, (bool, np.bool_)):
            raise ValueError(f"pin_threads must be True, False or None, got {pin_threads!r}")
        pin = "" if pin_threads is None else ("on" if pin_threads else "off")
        if isinstance(model, (bytes, bytearray)):
            self._net = _core.Network.from_bytes(bytes(model), threads, isa, fuse, pin)
            self.path: Optional[str] = None
        else:
            path = os.fspath(model)
            if not os.path.exists(path):
                raise FileNotFoundError(f"model file not found: {path}")
            self._net = _core.Network(path, threads, isa, fuse, pin)
            self.path = path
        info = self._net.info
        self.arch: str = info.arch
        self.dataset: str = info.dataset
        self.num_joints: int = info.num_joints
        self.input_size: int = info.input_size

    @property
    def isa(self) -> str:
        return self._net.isa

    @property
    def num_threads(self) -> int:
        return self._net.num_threads

    @num_threads.setter
    def num_threads(self, n: int) -> None:
        self._net.num_threads = _check_threads(n) or _core.default_num_threads()

    @property
    def pinned_cpus(self) -> List[int]:
        """CPUs the network's threads are bound to (thread 0: the caller,
        during ``forward``); empty when they are not pinned."""
        return list(self._net.pinned_cpus)

    @property
    def kernels(self) -> Dict[str, str]:
        """Kernel implementation chosen for each op family."""
        return dict(self._net.kernels())

    _profiler = None  # set by litepose.profile() while active

    def wake(self, max_ms: float = 10.0) -> None:
        """A forward pass is coming within about ``max_ms``: wake the
        pool's idle threads now, so that they are running when it starts
        (they spin until then, at most ``max_ms``).  Call it when a frame
        arrives, before preparing the input; PoseEstimator does.  Returns at
        once; does nothing while a forward pass runs or with one thread."""
        self._net.wake(float(max_ms))

    def forward(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Run the network.  ``x``: C-contiguous float32 [N, 3, H, W],
        ImageNet-normalised RGB.  Releases the GIL while it runs."""
        prof = self._profiler
        if prof is None:
            return self._net.forward(x)
        t0 = time.perf_counter()
        out = self._net.forward(x)
        prof._record((time.perf_counter() - t0) * 1e3)
        return out

    __call__ = forward

    def activation_bytes(self, height: int, width: int) -> int:
        """Activation memory of the static memory plan for an H x W input."""
        return self._net.activation_bytes(height, width)

    def __repr__(self) -> str:
        return (
            f"Network(arch={self.arch!r}, dataset={self.dataset!r}, num_joints={self.num_joints}, "
            f"input_size={self.input_size}, isa={self.isa!r}, num_threads={self.num_threads})"
        )
