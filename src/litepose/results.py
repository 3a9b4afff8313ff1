"""Typed pose results."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np

__all__ = ["Person", "Poses"]


@dataclass(frozen=True)
class Person:
    """One person: K keypoints (x, y, score) in image pixels and a score."""

    keypoints: np.ndarray  # [K, 3] float32
    score: float
    box: np.ndarray  # [4] float32: x0, y0, x1, y1 of the keypoints above the box threshold
    names: Sequence[str] = ()

    def __getitem__(self, name: str) -> np.ndarray:
        """Keypoint by name, e.g. ``person["left_wrist"]`` -> (x, y, score)."""
        try:
            return self.keypoints[list(self.names).index(name)]
        except ValueError:
            raise KeyError(f"no keypoint {name!r}; this model has {', '.join(self.names)}") from None


class Poses:
    """The people found in one image.

    ``keypoints`` float32 [N, K, 3] (x, y, score in original image pixels),
    ``scores`` float32 [N] (mean keypoint score, highest first), ``boxes``
    float32 [N, 4] (x0, y0, x1, y1 around the keypoints scoring at least
    ``box_threshold``), ``names`` the K keypoint names.
    """

    def __init__(self, keypoints: np.ndarray, scores: np.ndarray, names: Sequence[str] = (),
                 skeleton: Sequence[tuple] = (), image_size: Optional[tuple] = None, box_threshold: float = 0.1):
        keypoints = np.asarray(keypoints, dtype=np.float32)
        scores = np.asarray(scores, dtype=np.float32)
        if keypoints.ndim != 3 or keypoints.shape[2] != 3 or scores.shape != (keypoints.shape[0],):
            raise ValueError(f"keypoints must be [N, K, 3] and scores [N]; got {keypoints.shape} and {scores.shape}")
        order = np.argsort(-scores, kind="stable")
        self.keypoints = np.ascontiguousarray(keypoints[order])
        self.scores = np.ascontiguousarray(scores[order])
        self.names = tuple(names)
        self.skeleton = tuple(skeleton)
        self.image_size = image_size  # (height, width)
        self.boxes = self._boxes(box_threshold)

    def _boxes(self, thr: float) -> np.ndarray:
        out = np.zeros((len(self.scores), 4), np.float32)
        for i, kp in enumerate(self.keypoints):
            good = kp[kp[:, 2] >= thr]
            pts = good if len(good) else kp
            out[i] = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
        return out

    @property
    def num_joints(self) -> int:
        return self.keypoints.shape[1]

    def __len__(self) -> int:
        return len(self.scores)

    def __iter__(self) -> Iterator[Person]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i: int) -> Person:
        return Person(self.keypoints[i], float(self.scores[i]), self.boxes[i], self.names)

    def __repr__(self) -> str:
        if not len(self):
            return f"Poses(0 people, {self.num_joints} joints)"
        s = ", ".join(f"{x:.2f}" for x in self.scores[:5])
        return f"Poses({len(self)} {'person' if len(self) == 1 else 'people'}, {self.num_joints} joints, scores [{s}{', ...' if len(self) > 5 else ''}])"

    def to_coco(self, image_id: int, category_id: int = 1) -> List[Dict]:
        """COCO results entries (one per person), in this model's keypoint
        layout."""
        return [
            {"image_id": int(image_id), "category_id": int(category_id),
             "keypoints": [round(float(v), 3) for v in kp.reshape(-1)], "score": round(float(s), 5)}
            for kp, s in zip(self.keypoints, self.scores)
        ]

    def to_dict(self) -> Dict:
        return {"people": [{"score": float(s), "box": [float(v) for v in b],
                            "keypoints": [[float(x), float(y), float(c)] for x, y, c in kp]}
                           for kp, s, b in zip(self.keypoints, self.scores, self.boxes)]}
