"""litepose: real-time multi-person pose estimation (LitePose) on edge CPUs.

>>> import litepose
>>> est = litepose.PoseEstimator("litepose-m.lpm")    # convert a checkpoint with `litepose convert`
>>> poses = est(bgr_image)                            # people, keypoints in image pixels
>>> poses.keypoints.shape                             # (N, K, 3): x, y, score
>>> net = litepose.Network("litepose-m.lpm")          # the raw network
>>> out4, out2 = net.forward(x)

The compiled core (``litepose._core``) needs no PyTorch; ``litepose.torch``
(the reference model) and ``litepose.convert`` (checkpoint conversion) import
torch only when used.
"""
from __future__ import annotations

import logging

from . import _core
from .archs import ARCHS, get_arch
from .errors import ModelError
from .draw import draw
from .estimator import PoseEstimator
from .network import Network
from .results import Person, Poses
from .skeletons import COCO, CROWDPOSE, get_skeleton
from .profile import Profile, profile

__version__ = _core.__version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["PoseEstimator", "Poses", "Person", "draw", "Network", "ModelError", "COCO", "CROWDPOSE", "get_skeleton", "ARCHS", "get_arch", "profile", "Profile", "__version__"]
