#!/usr/bin/env python3
"""One stage-2 training step of MIST in PyTorch, for benchmarks/finetune.bench.ts.

The same step as mist-vad's SgaEncoder.trainStep with accumulate 1: the SgaEncoder of
test/reference/encoder_reference.py (dropout 0.8) in train mode, the class-weighted BCE of the
main and the guided head (w1 = w0 = 1, guided weight 1), backward, gradient-norm clip 20, and
torch.optim.Adam (lr 1e-4) with two parameter groups: weight decay 5e-4 on conv / linear
weights, none on biases and BatchNorm. Input: random clips [N, 3, T, H, W] in [-1, 1) and
random soft targets [N] in [0, 1).

Usage: python3 benchmarks/finetune_pytorch.py MODEL BATCH THREADS [WIDTH T H W]. A server:
prints {"ready": ...}, then answers each stdin line with one JSON line:
  "step" -> {"ms": whole step, "fwdMs", "bwdMs", "optMs": its parts, "loss"}
  "fwd"  -> {"ms": a train-mode forward without autograd (BatchNorm batch statistics, dropout)}
  "quit" -> {"peakRssMiB": ...}
so that the benchmark can interleave it step by step with mist-vad.
(Debian: apt-get install -y python3-torch; never a runtime dependency of mist-vad.)
"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "reference"))
import encoder_reference as R  # noqa: E402

SIZES = {"i3d": [16, 224, 224], "c3d": [16, 112, 112]}


def bce(p, y):
    return (-y * torch.log(p + 1e-8) - (1 - y) * torch.log(1 - p + 1e-8)).mean()


def main():
    model_name, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    width = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    size = [int(v) for v in sys.argv[5:8]] if len(sys.argv) > 7 else SIZES[model_name]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = R.SgaEncoder(model_name, width, dropout=0.8)
    model.train()
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.Adam([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0.0}],
                           lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    x = torch.rand(batch, 3, *size) * 2 - 1
    y = torch.rand(batch)

    def step():
        t0 = time.perf_counter()
        out = model(x)
        loss = bce(out["score"], y) + bce(out["guided"][:, 1], y)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 20)
        opt.step()
        value = loss.item()
        t3 = time.perf_counter()
        return {"ms": (t3 - t0) * 1000, "fwdMs": (t1 - t0) * 1000, "bwdMs": (t2 - t1) * 1000,
                "optMs": (t3 - t2) * 1000, "loss": value}

    def forward():
        with torch.no_grad():
            t0 = time.perf_counter()
            model(x)
            return {"ms": (time.perf_counter() - t0) * 1000}

    print(json.dumps({"ready": f"PyTorch {torch.__version__}", "threads": torch.get_num_threads(),
                      "parameters": sum(p.numel() for p in model.parameters())}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "step":
            print(json.dumps(step()), flush=True)
        elif cmd == "fwd":
            print(json.dumps(forward()), flush=True)
        else:
            print(json.dumps({"peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
            return


if __name__ == "__main__":
    main()
