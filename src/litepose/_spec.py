"""The official LitePose ``state_dict``: key names and shapes, without torch.

Used by the converter (to check a checkpoint before folding it) and to make
deterministic random-weight models for benchmarks on machines without a
checkpoint or PyTorch.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Tuple

import numpy as np

from .archs import STEM_CHANNELS, Arch, make_divisible

Shape = Tuple[int, ...]

__all__ = ["official_shapes", "random_state_dict", "BN_SUFFIXES"]

BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var")


def _bn(out: "OrderedDict[str, Shape]", prefix: str, n: int) -> None:
    for s in BN_SUFFIXES:
        out[f"{prefix}.{s}"] = (n,)


def official_shapes(arch: Arch, num_joints: int) -> "OrderedDict[str, Shape]":
    """Every float tensor of the official model's state_dict (BatchNorm's
    ``num_batches_tracked`` counters are left out: inference ignores them)."""
    o: "OrderedDict[str, Shape]" = OrderedDict()
    S = STEM_CHANNELS
    o["first.0.0.weight"] = (S, 3, 3, 3)
    _bn(o, "first.0.1", S)
    o["first.1.0.weight"] = (S, 1, 3, 3)
    _bn(o, "first.1.1", S)
    o["first.2.weight"] = (arch.input_channel, S, 1, 1)
    _bn(o, "first.3", arch.input_channel)
    inp = arch.input_channel
    for s, st in enumerate(arch.stages):
        for b, (t, k) in enumerate(st.blocks):
            hid = make_divisible(round(inp * t), 8)
            p = f"stage.{s}.{b}"
            o[f"{p}.inv.0.weight"] = (hid, inp, 1, 1)
            _bn(o, f"{p}.inv.1", hid)
            o[f"{p}.depth_conv.0.weight"] = (hid, 1, k, k)
            _bn(o, f"{p}.depth_conv.1", hid)
            o[f"{p}.point_conv.0.weight"] = (st.channel, hid, 1, 1)
            _bn(o, f"{p}.point_conv.1", st.channel)
            inp = st.channel
    ch = arch.stage_channels
    inplanes = ch[-1]
    for i, planes in enumerate(arch.deconv):
        o[f"deconv_refined.{i}.weight"] = (inplanes, planes, 4, 4)
        o[f"deconv_raw.{i}.weight"] = (ch[-i - 2], planes, 4, 4)
        _bn(o, f"deconv_bnrelu.{i}.0", planes)
        inplanes = planes
    outs = [2 * num_joints, num_joints]
    for i in (1, 2):
        for name, cin in (("final_refined", arch.deconv[i]), ("final_raw", ch[-i - 3])):
            p = f"{name}.{i - 1}.conv"
            o[f"{p}.0.weight"] = (cin, 1, 5, 5)
            _bn(o, f"{p}.1", cin)
            o[f"{p}.3.weight"] = (outs[i - 1], cin, 1, 1)
    return o


def random_state_dict(arch: Arch, num_joints: int, seed: int = 0) -> Dict[str, np.ndarray]:
    """Deterministic random weights (He-scaled) with non-trivial BatchNorm
    statistics, in the official key names.  Not trained: for speed and
    parity measurements only."""
    rng = np.random.default_rng(seed)
    sd: Dict[str, np.ndarray] = {}
    for name, shape in official_shapes(arch, num_joints).items():
        if name.endswith("running_var"):
            v = 0.5 + rng.random(shape)
        elif name.endswith("running_mean"):
            v = 0.2 * rng.standard_normal(shape)
        elif len(shape) == 1 and name.endswith(".weight"):
            v = 0.5 + rng.random(shape)
        elif len(shape) == 1:
            v = 0.2 * rng.standard_normal(shape)
        else:
            if name.startswith("deconv"):
                fan_in = shape[0] * 4  # each output sees ~Ci * 2 * 2 taps
            else:
                fan_in = int(np.prod(shape[1:]))
            v = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        sd[name] = v.astype(np.float32)
    return sd


def stage_summary(channels: List[int]) -> str:
    return "/".join(str(c) for c in channels)
