"""Drawing skeletons on images (shared by the API and the CLI)."""
from __future__ import annotations

import colorsys
from typing import Optional, Tuple

import numpy as np

__all__ = ["draw", "person_color"]


def person_color(i: int) -> Tuple[int, int, int]:
    """A distinct BGR colour per person index (golden-ratio hue steps)."""
    h = (i * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def draw(image: np.ndarray, poses, threshold: float = 0.1, thickness: Optional[int] = None,
         copy: bool = True, boxes: bool = False) -> np.ndarray:
    """Draw every person's skeleton on a BGR uint8 image.

    Joints scoring below ``threshold`` (and limbs touching them) are left
    out; each person gets its own colour.  Returns the drawn image (a copy
    unless ``copy=False``)."""
    import cv2

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        desc = f"{type(image).__name__}" if not isinstance(image, np.ndarray) else f"dtype={image.dtype} shape={image.shape}"
        raise ValueError(f"image must be a uint8 H x W x 3 array (BGR), got {desc}")
    out = image.copy() if copy else image
    h, w = out.shape[:2]
    t = thickness or max(1, int(round(max(h, w) / 400)))
    for i, (kp, box) in enumerate(zip(poses.keypoints, poses.boxes)):
        color = person_color(i)
        for a, b in poses.skeleton:
            if kp[a, 2] >= threshold and kp[b, 2] >= threshold:
                cv2.line(out, (int(round(kp[a, 0])), int(round(kp[a, 1]))),
                         (int(round(kp[b, 0])), int(round(kp[b, 1]))), color, t, cv2.LINE_AA)
        for x, y, s in kp:
            if s >= threshold:
                cv2.circle(out, (int(round(x)), int(round(y))), t + 2, color, -1, cv2.LINE_AA)
                cv2.circle(out, (int(round(x)), int(round(y))), t + 2, (255, 255, 255), 1, cv2.LINE_AA)
        if boxes:
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            cv2.rectangle(out, (x0, y0), (x1, y1), color, 1)
    return out
