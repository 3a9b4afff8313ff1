"""Convert official LitePose PyTorch checkpoints into litepose model files.

The checkpoint is read with PyTorch (needed only here); everything after that
is numpy: the architecture and joint count are inferred from tensor shapes
(and checked against ``--arch`` / ``--dataset`` when given), BatchNorm is
folded into the preceding convolutions in float64, and the model file is
written by the native core's serializer, then read back and validated by the
native reader before the file is written.  Format: docs/model-format.md.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from . import _core
from ._spec import official_shapes, random_state_dict
from .archs import ARCHS, DATASET_JOINTS, STEM_CHANNELS, Arch, Stage, get_arch, make_divisible
from .errors import ModelError

__all__ = [
    "load_checkpoint",
    "infer_arch",
    "fold_state_dict",
    "convert_state_dict",
    "convert_checkpoint",
    "random_model_bytes",
]

log = logging.getLogger(__name__)
BN_EPS = 1e-5
STRIDES = (2, 2, 2, 1)  # the searched LitePose models' stage strides (not stored in weights)


def load_checkpoint(path: str | os.PathLike) -> Dict[str, np.ndarray]:
    """Read a PyTorch checkpoint into float numpy arrays (official key names).

    Accepts a plain state_dict, or a dict holding one under ``state_dict`` or
    ``model``; strips a ``module.`` prefix (DataParallel); maps CUDA tensors
    to the CPU."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint not found (or not a file)")
    try:
        import torch
    except ImportError as e:  # pragma: no cover
        raise ImportError(
            "converting a PyTorch checkpoint needs PyTorch: pip install 'litepose[convert]' (torch==2.13.0)"
        ) from e
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(f"{path}: cannot read as a PyTorch checkpoint: {e}") from None
    return state_dict_to_numpy(obj, str(path))


def state_dict_to_numpy(obj, what: str = "checkpoint") -> Dict[str, np.ndarray]:
    for key in ("state_dict", "model"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping):
        raise ModelError(f"{what}: expected a state_dict (a mapping of tensor names to tensors), got {type(obj).__name__}")
    out: Dict[str, np.ndarray] = {}
    for k, v in obj.items():
        name = k[len("module."):] if k.startswith("module.") else k
        if name.endswith("num_batches_tracked"):
            continue
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        v = np.asarray(v)
        if v.dtype.kind != "f":
            raise ModelError(f"{what}: tensor '{name}' has dtype {v.dtype}, expected floating point")
        out[name] = v
    if not out:
        raise ModelError(f"{what}: the state_dict holds no tensors")
    return out


def _need(sd: Mapping[str, np.ndarray], key: str, what: str) -> np.ndarray:
    if key not in sd:
        raise ModelError(f"{what}: missing tensor '{key}' (is this a LitePose checkpoint?)")
    return sd[key]


def infer_arch(sd: Mapping[str, np.ndarray], what: str = "checkpoint") -> Tuple[Arch, int]:
    """The architecture and joint count that the tensors' shapes describe.

    Returns a known searched architecture (XS/S/M/L) when the shapes match
    one, else a ``custom`` Arch (input size 512, strides 2/2/2/1)."""
    inp = int(_need(sd, "first.2.weight", what).shape[0])
    stages = []
    cin = inp
    for s in range(4):
        blocks = []
        b = 0
        while f"stage.{s}.{b}.inv.0.weight" in sd:
            hid = int(sd[f"stage.{s}.{b}.inv.0.weight"].shape[0])
            k = int(_need(sd, f"stage.{s}.{b}.depth_conv.0.weight", what).shape[-1])
            cout = int(_need(sd, f"stage.{s}.{b}.point_conv.0.weight", what).shape[0])
            t = round(hid / cin)
            if t < 1 or make_divisible(round(cin * t), 8) != hid:
                raise ModelError(
                    f"{what}: block stage.{s}.{b} has {hid} hidden channels for {cin} inputs, "
                    "which no integer expansion of the official model gives"
                )
            blocks.append((t, k))
            cin = cout
            b += 1
        if not blocks:
            raise ModelError(f"{what}: missing tensor 'stage.{s}.0.inv.0.weight': expected 4 stages of inverted residual blocks")
        stages.append(Stage(len(blocks), STRIDES[s], cin, tuple(blocks)))
    deconv = tuple(int(_need(sd, f"deconv_refined.{i}.weight", what).shape[1]) for i in range(3))
    num_joints = int(_need(sd, "final_refined.1.conv.3.weight", what).shape[0])
    found = Arch("custom", 512, inp, deconv, tuple(stages))
    for a in ARCHS.values():
        if (a.input_channel, a.deconv, a.stages) == (found.input_channel, found.deconv, found.stages):
            return a, num_joints
    return found, num_joints


def _describe(a: Arch) -> str:
    return (
        f"stem {a.input_channel}, stages {'/'.join(str(s.channel) for s in a.stages)} with "
        f"{'/'.join(str(s.num_blocks) for s in a.stages)} blocks, deconv {'/'.join(map(str, a.deconv))}"
    )


def _check_shapes(sd: Mapping[str, np.ndarray], arch: Arch, num_joints: int, what: str) -> None:
    expected = official_shapes(arch, num_joints)
    for name, shape in expected.items():
        if name not in sd:
            raise ModelError(f"{what}: missing tensor '{name}' (expected shape {list(shape)}) for architecture {arch.name}")
        if tuple(sd[name].shape) != tuple(shape):
            raise ModelError(
                f"{what}: tensor '{name}' has shape {list(sd[name].shape)}, architecture {arch.name} "
                f"expects {list(shape)}"
            )
        if not np.all(np.isfinite(sd[name])):
            raise ModelError(f"{what}: tensor '{name}' holds NaN or Inf values")
    extra = sorted(set(sd) - set(expected))
    if extra:
        log.warning("%s: ignoring %d tensors the LitePose network does not use (e.g. %s)", what, len(extra), extra[0])


def fold_state_dict(sd: Mapping[str, np.ndarray], arch: Arch, num_joints: int) -> Dict[str, np.ndarray]:
    """Fold every BatchNorm into the convolution before it (float64 math).

    conv(x) * s + (beta - mean * s) with s = gamma / sqrt(var + eps); for the
    deconvolution head the BN follows the sum of two transposed convolutions,
    so both get the same per-output-channel scale and share one bias."""
    f = {k: np.asarray(v, dtype=np.float64) for k, v in sd.items()}
    out: Dict[str, np.ndarray] = {}

    def bn(prefix: str):
        s = f[f"{prefix}.weight"] / np.sqrt(f[f"{prefix}.running_var"] + BN_EPS)
        return s, f[f"{prefix}.bias"] - f[f"{prefix}.running_mean"] * s

    def conv_bn(conv: str, bnp: str, name: str):
        s, b = bn(bnp)
        out[f"{name}.weight"] = f[f"{conv}.weight"] * s[:, None, None, None]
        out[f"{name}.bias"] = b

    conv_bn("first.0.0", "first.0.1", "first.0.0")
    conv_bn("first.1.0", "first.1.1", "first.1.0")
    conv_bn("first.2", "first.3", "first.2")
    for s, st in enumerate(arch.stages):
        for b in range(st.num_blocks):
            p = f"stage.{s}.{b}"
            for part in ("inv", "depth_conv", "point_conv"):
                conv_bn(f"{p}.{part}.0", f"{p}.{part}.1", f"{p}.{part}.0")
    for i in range(3):
        s, b = bn(f"deconv_bnrelu.{i}.0")
        out[f"deconv_refined.{i}.weight"] = f[f"deconv_refined.{i}.weight"] * s[None, :, None, None]
        out[f"deconv_raw.{i}.weight"] = f[f"deconv_raw.{i}.weight"] * s[None, :, None, None]
        out[f"deconv_bnrelu.{i}.bias"] = b
    for name in ("final_refined", "final_raw"):
        for i in range(2):
            p = f"{name}.{i}.conv"
            conv_bn(f"{p}.0", f"{p}.1", f"{p}.0")
            out[f"{p}.3.weight"] = f[f"{p}.3.weight"]
    return {k: v.astype(np.float32) for k, v in out.items()}


def _meta(arch: Arch, dataset: str, num_joints: int, source: str) -> Dict[str, str]:
    return {
        "arch": arch.name,
        "dataset": dataset,
        "num_joints": str(num_joints),
        "input_size": str(arch.input_size),
        "input_channel": str(arch.input_channel),
        "stem_channels": str(STEM_CHANNELS),
        "stages": ",".join(f"{s.num_blocks}:{s.stride}:{s.channel}" for s in arch.stages),
        "blocks": ",".join(" ".join(f"{t}:{k}" for t, k in s.blocks) for s in arch.stages),
        "deconv": ",".join(str(d) for d in arch.deconv),
        "producer": f"litepose {_core.__version__}",
        "source": source.replace("\n", " "),
        "bn_folded": "1",
    }


def _resolve(sd, arch: Optional[str], dataset: Optional[str], what: str) -> Tuple[Arch, str, int]:
    found, num_joints = infer_arch(sd, what)
    if arch is not None:
        want = get_arch(arch)
        if want != found:
            raise ModelError(
                f"{what}: the checkpoint is not LitePose-{want.name} ({_describe(want)}); its tensors describe "
                f"{'LitePose-' + found.name if found.name != 'custom' else 'a custom architecture'} ({_describe(found)})"
            )
    if dataset is None:
        dataset = {v: k for k, v in DATASET_JOINTS.items()}.get(num_joints, "custom")
    else:
        if dataset not in DATASET_JOINTS:
            raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASET_JOINTS)}")
        if DATASET_JOINTS[dataset] != num_joints:
            raise ModelError(
                f"{what}: dataset {dataset} has {DATASET_JOINTS[dataset]} joints but the checkpoint's heads "
                f"output {num_joints}"
            )
    return found, dataset, num_joints


def model_bytes_from_state_dict(sd: Mapping[str, np.ndarray], arch: Optional[str] = None,
                                dataset: Optional[str] = None, what: str = "checkpoint") -> bytes:
    sd = state_dict_to_numpy(sd, what)
    a, ds, K = _resolve(sd, arch, dataset, what)
    _check_shapes(sd, a, K, what)
    folded = fold_state_dict(sd, a, K)
    data = _core.serialize_model(_meta(a, ds, K, what), folded)
    _core.validate_model_bytes(data, what)  # the native reader must accept what we wrote
    return data


def convert_state_dict(sd, out_path: str | os.PathLike, arch: Optional[str] = None,
                       dataset: Optional[str] = None, what: str = "state_dict") -> Path:
    """Convert an in-memory state_dict (torch tensors or numpy arrays)."""
    data = model_bytes_from_state_dict(sd, arch, dataset, what)
    out = Path(out_path)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out


def convert_checkpoint(path: str | os.PathLike, out_path: str | os.PathLike, arch: Optional[str] = None,
                       dataset: Optional[str] = None) -> Path:
    """Convert an official LitePose checkpoint file into a litepose model file."""
    sd = load_checkpoint(path)
    out = convert_state_dict(sd, out_path, arch, dataset, what=str(path))
    log.info("wrote %s", out)
    return out


def random_model_bytes(arch: str = "M", dataset: str = "crowdpose", seed: int = 0) -> bytes:
    """A model file (bytes) with deterministic random weights: for benchmarks
    and tests where no trained checkpoint is at hand.  Needs no PyTorch."""
    a = get_arch(arch)
    if dataset not in DATASET_JOINTS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASET_JOINTS)}")
    sd = random_state_dict(a, DATASET_JOINTS[dataset], seed)
    return model_bytes_from_state_dict(sd, a.name, dataset, what=f"random LitePose-{a.name} (seed {seed})")
