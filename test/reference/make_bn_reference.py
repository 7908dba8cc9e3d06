#!/usr/bin/env python3
"""Reference for the BatchNorm running statistics of test/encoder-reference.test.ts: the tiny
MIST-I3D of encoder_reference.py (i3d_tiny.pt) run twice in train mode by PyTorch on the
reference input, with every BatchNorm3d's running_mean, running_var and num_batches_tracked
after each forward (PyTorch's update: r <- (1 - 0.1) r + 0.1 * batch statistic, the variance
unbiased).

Rerun: /usr/bin/python3 test/reference/make_bn_reference.py   (Debian python3-torch)
Writes test/reference/encoders/bn-running.json.
"""
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from encoder_reference import SgaEncoder, clip_input  # noqa: E402

torch.set_num_threads(2)
model = SgaEncoder("i3d", 1 / 24)
model.load_state_dict(torch.load(os.path.join(here, "encoders", "i3d_tiny.pt")))
model.train()
x = clip_input(2, 16, 32, 32)
after = []
for _ in range(2):
    with torch.no_grad():
        model(x)
    after.append({k: [float("%.9g" % v) for v in b.double().reshape(-1)] for k, b in model.named_buffers()})
json.dump({"input": [2, 16, 32, 32], "after": after}, open(os.path.join(here, "encoders", "bn-running.json"), "w"),
          separators=(",", ":"))
print("wrote", len(after[0]), "buffers")
