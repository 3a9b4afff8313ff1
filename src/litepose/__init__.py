"""litepose: real-time multi-person pose estimation (LitePose) on edge CPUs.

>>> import litepose
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
from .network import Network
from .profile import Profile, profile

__version__ = _core.__version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["Network", "ModelError", "ARCHS", "get_arch", "profile", "Profile", "__version__"]
