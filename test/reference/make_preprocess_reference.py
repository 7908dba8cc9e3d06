#!/usr/bin/env python3
"""Reference for test/preprocess.test.ts: clip pre-processing computed step by step with
PyTorch on small frames whose pixels follow a formula (pixel() below, which the test
repeats), so the test needs no Python.

Each case applies, in this order: torch.nn.functional.interpolate(mode="bilinear",
align_corners=False) to `resize` (what torchvision.transforms.functional.resize does to a
tensor, antialias off), the crop box, interpolate to `outSize` (when the crop is not that
size already), flip of the width, channel order, grayscale 0.299 R + 0.587 G + 0.114 B, then
(x - mean[c]) / scale, in float32, values printed with 9 significant digits (exact). With quantize, every resized image and the luma are rounded (torch.round:
half to even) and clamped to [0, 255], as torchvision stores a resized uint8 tensor.

Rerun: /usr/bin/python3 test/reference/make_preprocess_reference.py   (Debian python3-torch)
Writes test/reference/preprocess/reference.json.
"""
import json
import os

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))


def pixel(t, i, j, c):
    return (3 * i * i + 7 * j + 50 * c + 13 * t + 5 * i * j) % 256


def frames(T, H, W):
    x = torch.empty(T, H, W, 3, dtype=torch.uint8)
    for t in range(T):
        for i in range(H):
            for j in range(W):
                for c in range(3):
                    x[t, i, j, c] = pixel(t, i, j, c)
    return x


def resize(x, size, quantize):
    if list(x.shape[-2:]) == list(size):
        return x
    y = F.interpolate(x, size=list(size), mode="bilinear", align_corners=False)
    return y.round().clamp(0, 255) if quantize else y


def preprocess(u8, s):
    # [T, 3, H, W] RGB, contiguous: a channels-last input takes another kernel, whose sums can
    # differ in the last bit (and so round a .5 the other way).
    x = u8.permute(0, 3, 1, 2).float().contiguous()
    x = resize(x, s["resize"], s["quantize"])
    c = s["crop"]
    x = x[:, :, c["y"]:c["y"] + c["h"], c["x"]:c["x"] + c["w"]]
    x = resize(x, s["outSize"], s["quantize"])
    if s["flip"]:
        x = x.flip(3)
    if s["grayscale"]:
        g = x[:, 0] * 0.299 + x[:, 1] * 0.587 + x[:, 2] * 0.114
        if s["quantize"]:
            g = g.round().clamp(0, 255)
        x = g.unsqueeze(1).expand(-1, 3, -1, -1)
    elif s["order"] == "bgr":
        x = x[:, [2, 1, 0]]
    mean = torch.tensor(s["mean"], dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / s["scale"]).permute(1, 0, 2, 3).contiguous()  # [3, T, h, w]


def spec(resize_, crop=None, out=None, flip=False, grayscale=False, order="rgb", mean=(0, 0, 0), scale=1,
         quantize=False):
    crop = crop or {"y": 0, "x": 0, "h": resize_[0], "w": resize_[1]}
    return {"resize": list(resize_), "crop": crop, "outSize": list(out or [crop["h"], crop["w"]]), "flip": flip,
            "grayscale": grayscale, "order": order, "mean": list(mean), "scale": scale, "quantize": quantize}


C3D_MEAN = (90.25, 97.66, 101.41)
cases = [
    ("resize up, float", [1, 5, 6], spec([8, 9])),
    ("resize down, float", [1, 9, 13], spec([4, 6])),
    ("resize up, quantized", [1, 5, 6], spec([8, 9], quantize=True)),
    ("i3d train: resize, crop, resize, flip, (x - 128) / 128", [2, 12, 16],
     spec([14, 18], {"y": 2, "x": 3, "h": 11, "w": 11}, [6, 6], flip=True, mean=(128, 128, 128), scale=128,
          quantize=True)),
    ("c3d train: bgr, grayscale, mean", [2, 12, 16],
     spec([14, 18], {"y": 0, "x": 4, "h": 14, "w": 14}, [6, 6], grayscale=True, order="bgr", mean=C3D_MEAN,
          quantize=True)),
    ("c3d test: resize, centre crop, bgr, mean", [1, 10, 12],
     spec([9, 11], {"y": 2, "x": 2, "h": 6, "w": 6}, order="bgr", mean=C3D_MEAN, quantize=True)),
]

out = []
for name, (T, H, W), s in cases:
    y = preprocess(frames(T, H, W), s)
    out.append({"name": name, "frames": [T, H, W], "spec": s, "shape": list(y.shape),
                "values": [float("%.9g" % v) for v in y.reshape(-1).tolist()]})
path = os.path.join(here, "preprocess", "reference.json")
with open(path, "w") as f:
    json.dump({"torch": torch.__version__, "cases": out}, f, separators=(",", ":"))
print("wrote", path, os.path.getsize(path), "bytes")
