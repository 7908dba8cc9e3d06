#!/usr/bin/env python3
"""Reference for test/selftrain-extract-reference.test.ts: ten-crop I3D features of the first
clips of a real UCF-Crime video, computed by PyTorch and torchvision from the same decoded
frames and the same weights as mist-vad's extractFeatures(..., { crops: 10 }).

Recipe (Debian 12: ffmpeg 5.1, python3-torch 1.13, python3-torchvision 0.14), from the
repository root:
    /usr/bin/python3 test/reference/make_tencrop_reference.py
It reads ../shared/data/ucf-crime/videos/RoadAccidents002_x264.mp4 (or $MIST_SHARED_DATA/...)
and test/reference/encoders/i3d_tiny.pt (the MIST-I3D of width 1/24 that encoder_reference.py
writes), and writes test/reference/tencrop/reference.json (about 20 KB):

1. Decoding: the first CLIPS x 16 frames, with the command line lib/data/video.ts runs
   (ffmpeg -nostdin -v error -i VIDEO -map 0:v:0 -an -sn -dn -fps_mode passthrough
   -frames:v N -pix_fmt rgb24 -f rawvideo pipe:1); the SHA-256 of those bytes is recorded,
   so that the test can tell a different decoder from a different crop.
2. The community's I3D recipe on a uint8 tensor [N, 3, 240, 320]: torchvision's Resize(256)
   (short side 256, long side int(256 * 320 / 240) = 341; bilinear, no antialias on tensors,
   rounded back to uint8), TenCrop(224) (five_crop of the frame, then of its horizontal flip),
   then (x - 128) / 128 (I3D's normalisation in mist-vad). 341 - 224 = 117 is odd, so the
   flipped frame's centre crop is not the mirror of the centre crop: the reference covers it.
3. Every crop's clips [CLIPS, 3, 16, 224, 224] through encoder_reference.SgaEncoder (eval mode)
   loaded from i3d_tiny.pt.

Recorded per crop k (TenCrop's order) and clip c: the input's sum, its sum weighted by column
index + 1 and by row index + 1 (a wrong box or a missing flip changes them), the feature
[D] and the score.
"""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision
import torchvision.transforms as T

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from encoder_reference import SgaEncoder  # noqa: E402

CLIPS = 3
VIDEO = "ucf-crime/videos/RoadAccidents002_x264.mp4"
shared = os.environ.get("MIST_SHARED_DATA") or os.path.join(here, "..", "..", "..", "shared", "data")
path = os.path.join(shared, VIDEO)

torch.set_num_threads(2)
probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                        "-of", "json", path], check=True, capture_output=True)
stream = json.loads(probe.stdout)["streams"][0]
W, H = stream["width"], stream["height"]
n = CLIPS * 16
raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-an", "-sn", "-dn",
                      "-fps_mode", "passthrough", "-frames:v", str(n), "-pix_fmt", "rgb24", "-f", "rawvideo",
                      "pipe:1"], check=True, capture_output=True).stdout
assert len(raw) == n * H * W * 3, "short decode"
frames = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8).copy()).view(n, H, W, 3)
# [N, 3, H, W] contiguous, as torchvision's tensor transforms take frames.
x = frames.permute(0, 3, 1, 2).contiguous()
resized = T.Resize(256)(x)
crops = T.TenCrop(224)(resized)

model = SgaEncoder("i3d", 1 / 24)
model.load_state_dict(torch.load(os.path.join(here, "encoders", "i3d_tiny.pt")))
model.eval()

out = []
for k, crop in enumerate(crops):
    z = (crop.float() - 128) / 128  # [N, 3, 224, 224]
    clips = z.view(CLIPS, 16, 3, 224, 224).permute(0, 2, 1, 3, 4).contiguous()  # [CLIPS, 3, 16, h, w]
    with torch.no_grad():
        o = model(clips)
    d = clips.double()
    col = torch.arange(1, 225, dtype=torch.float64)
    stats = [{"sum": d[c].sum().item(), "colSum": (d[c] * col).sum().item(),
              "rowSum": (d[c] * col.view(-1, 1)).sum().item()} for c in range(CLIPS)]
    out.append({"input": stats, "feature": [[float("%.9g" % v) for v in f] for f in o["feature"].double().tolist()]})

ref = {
    "recipe": "/usr/bin/python3 test/reference/make_tencrop_reference.py (torch %s, torchvision %s)"
              % (torch.__version__, torchvision.__version__),
    "video": VIDEO, "frames": n, "clips": CLIPS, "frameSize": [H, W], "resized": list(resized.shape[-2:]),
    "framesSha256": hashlib.sha256(raw).hexdigest(), "weights": "encoders/i3d_tiny.pt", "width": 1 / 24,
    "featureDim": len(out[0]["feature"][0]), "crops": out,
}
os.makedirs(os.path.join(here, "tencrop"), exist_ok=True)
dest = os.path.join(here, "tencrop", "reference.json")
with open(dest, "w") as fh:
    json.dump(ref, fh, separators=(",", ":"))
print("wrote", dest, os.path.getsize(dest), "bytes; resized", list(resized.shape[-2:]))
