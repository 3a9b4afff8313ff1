"""Architecture descriptions of the four searched LitePose models.

Numbers are those of the official repository's ``mobile_configs/search-*.json``
(every block of every searched model uses expansion 6 and kernel 7).  This
module needs neither torch nor the compiled core.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple

__all__ = ["Arch", "ARCHS", "DATASET_JOINTS", "get_arch", "make_divisible"]

#: joints per dataset head
DATASET_JOINTS: Dict[str, int] = {"crowdpose": 14, "coco": 17}

#: channels of the stem's first two convolutions (fixed in the official code)
STEM_CHANNELS = 32


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """The official ``_make_divisible`` (MobileNetV2 channel rounding)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@dataclass(frozen=True)
class Stage:
    num_blocks: int
    stride: int
    channel: int
    blocks: Tuple[Tuple[int, int], ...]  # (expansion, kernel) per block


@dataclass(frozen=True)
class Arch:
    name: str
    input_size: int
    input_channel: int
    deconv: Tuple[int, int, int]
    stages: Tuple[Stage, ...] = field(default_factory=tuple)

    @property
    def stage_channels(self) -> List[int]:
        return [self.input_channel] + [s.channel for s in self.stages]


def _searched(name: str, size: int, inp: int, deconv, chans, nblocks=(6, 8, 10, 10), strides=(2, 2, 2, 1)) -> Arch:
    stages = tuple(
        Stage(n, s, c, tuple((6, 7) for _ in range(n))) for n, s, c in zip(nblocks, strides, chans)
    )
    return Arch(name, size, inp, tuple(deconv), stages)


ARCHS: Dict[str, Arch] = {
    "XS": _searched("XS", 256, 16, (16, 24, 24), (16, 32, 48, 80)),
    "S": _searched("S", 448, 16, (32, 24, 32), (16, 32, 48, 120)),
    "M": _searched("M", 448, 16, (64, 40, 32), (24, 48, 72, 120)),
    "L": _searched("L", 512, 24, (64, 40, 32), (24, 64, 96, 160)),
}


def get_arch(name: str) -> Arch:
    key = str(name).upper()
    if key not in ARCHS:
        raise ValueError(f"unknown architecture {name!r}: expected one of {', '.join(ARCHS)}")
    return ARCHS[key]
