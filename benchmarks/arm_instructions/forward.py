"""One litepose forward pass between two instruction-count markers.

Run by run.sh inside the emulated arm64 Python (qemu-aarch64 with the
insn_count plugin): builds a random-weight model of ARCH with the wheel's
own converter (no torch), runs one warm-up forward (first-touch page
faults, lazy allocation), then os.getppid() -- the marker -- one forward,
os.getppid().  1 thread, fp32, the architecture's input size.
"""
import os
import sys

import numpy as np

import litepose
from litepose.archs import get_arch
from litepose.convert import random_model_bytes

arch = sys.argv[1]
size = int(sys.argv[2]) if len(sys.argv) > 2 else get_arch(arch).input_size
net = litepose.Network(random_model_bytes(arch, "crowdpose", seed=0), num_threads=1)
x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
net.forward(x)  # warm-up
os.getppid()
out4, out2 = net.forward(x)
os.getppid()
print(f"{arch} {size}x{size} isa={net.isa} kernels={net.kernels} out4={out4.shape} finite={bool(np.isfinite(out4).all())}",
      file=sys.stderr)
