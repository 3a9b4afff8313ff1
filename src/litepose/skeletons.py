"""Keypoint names, flip maps and skeleton edges of the two datasets LitePose
is trained on: CrowdPose (14 joints) and COCO (17 joints).

Why here: results carry joint indices only; drawing, evaluation and flip
testing need to know what each index is.  Flip maps are the official
``FLIP_CONFIG`` (lib/dataset/transforms/build.py of mit-han-lab/litepose);
the native decoder holds the same tables (``_core.crowdpose_flip_index``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

__all__ = ["Skeleton", "CROWDPOSE", "COCO", "SKELETONS", "get_skeleton", "CROWDPOSE_TO_COCO"]


@dataclass(frozen=True)
class Skeleton:
    name: str
    keypoints: Tuple[str, ...]
    flip_index: Tuple[int, ...]
    edges: Tuple[Tuple[int, int], ...]  # 0-based joint pairs to draw

    @property
    def num_joints(self) -> int:
        return len(self.keypoints)


CROWDPOSE = Skeleton(
    name="crowdpose",
    keypoints=(
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck",
    ),
    flip_index=(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13),
    edges=(
        (12, 13), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (0, 6), (1, 7), (6, 7),
        (6, 8), (8, 10), (7, 9), (9, 11),
    ),
)

COCO = Skeleton(
    name="coco",
    keypoints=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    flip_index=(0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15),
    edges=(
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
        (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ),
)

SKELETONS: Dict[str, Skeleton] = {"crowdpose": CROWDPOSE, "coco": COCO}

# CrowdPose joints 0-11 are COCO joints 5-16 (the 12 body joints both share).
CROWDPOSE_TO_COCO: Tuple[int, ...] = tuple(range(5, 17))


def get_skeleton(name_or_joints) -> Skeleton:
    """By dataset name ("crowdpose"/"crowd_pose"/"coco") or joint count (14/17)."""
    if isinstance(name_or_joints, int):
        for s in SKELETONS.values():
            if s.num_joints == name_or_joints:
                return s
        raise ValueError(f"no skeleton with {name_or_joints} joints: expected 14 (crowdpose) or 17 (coco)")
    key = str(name_or_joints).lower().replace("_", "")
    if key in SKELETONS:
        return SKELETONS[key]
    raise ValueError(f"unknown dataset {name_or_joints!r}: expected 'crowdpose' or 'coco'")
