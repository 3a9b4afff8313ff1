"""Shared test helpers: locating ../shared assets.

Real assets live in ``../shared`` beside the checkout (override with
``LITEPOSE_SHARED``).  A test that needs one and cannot find it fails with a
message naming the file when ``CI`` is set, and skips otherwise.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LITEPOSE_SHARED", REPO.parent / "shared"))
CHECKPOINT = SHARED / "models" / "litepose-auto-m-crowdpose.pth"
COCO_DIR = SHARED / "data" / "coco-kp-105"
CROWDPOSE_DIR = SHARED / "data" / "crowdpose-2"
MEDIA_DIR = SHARED / "media"


def require_asset(path: Path) -> Path:
    if not path.exists():
        msg = f"missing shared asset {path} (set LITEPOSE_SHARED to the folder holding models/, data/, media/)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def require_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("PyTorch is needed for reference tests: pip install torch==2.13.0")
        pytest.skip("PyTorch not installed")
    return torch


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    return require_asset(CHECKPOINT)


@pytest.fixture(scope="session")
def real_model(tmp_path_factory, checkpoint) -> Path:
    """The real LitePose-M CrowdPose checkpoint, converted once per session."""
    require_torch()
    from litepose.convert import convert_checkpoint

    out = tmp_path_factory.mktemp("models") / "litepose-m-crowdpose.lpm"
    convert_checkpoint(checkpoint, out)
    return out
