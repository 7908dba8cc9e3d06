#!/usr/bin/env python3
"""Reads back, with PyTorch and numpy themselves, the files mist-vad writes (for
test/readback.test.ts): a generator checkpoint and an encoder checkpoint (torch.load), .npy
arrays and feature files (numpy.load), a pseudo-label file (json). Prints one JSON object:
for each file, what it holds (shapes, float64 sums, a few values), so that the test can
compare it with what it wrote.

Usage: /usr/bin/python3 test/reference/read_back.py GENERATOR.pt ENCODER.pt ARRAY.npy FEATURES.npy LABELS.json
"""
import json
import sys

import numpy as np
import torch


def summary(t):
    a = t.detach().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=np.float64)
    return {"shape": list(a.shape), "sum": float(a.sum()), "first": [float(v) for v in a.reshape(-1)[:4]]}


def main():
    gen_path, enc_path, npy_path, feat_path, pl_path = sys.argv[1:6]
    out = {}
    g = torch.load(gen_path)
    out["generator"] = {k: summary(v) for k, v in g.items() if isinstance(v, torch.Tensor)}
    out["generatorMeta"] = {k: v for k, v in g.items() if not isinstance(v, torch.Tensor)}
    e = torch.load(enc_path)
    out["encoder"] = {k: summary(v) for k, v in e["model"].items()}
    out["encoderMeta"] = e.get("mist")
    a = np.load(npy_path)
    out["npy"] = {"dtype": str(a.dtype), **summary(a)}
    f = np.load(feat_path)
    out["features"] = {"dtype": str(f.dtype), "fortran": bool(f.flags["F_CONTIGUOUS"] and not f.flags["C_CONTIGUOUS"]), **summary(f)}
    pl = json.load(open(pl_path))
    out["pseudoLabels"] = {"format": pl["format"], "meta": pl["meta"], "videos": pl["videos"]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
