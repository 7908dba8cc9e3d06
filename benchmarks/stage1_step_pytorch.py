#!/usr/bin/env python3
"""The stage-1 training step of MIST in PyTorch, for benchmarks/stage1-step.bench.ts.

Same step as mist-vad's native one: generator MLP (D -> 512 -> 32 -> 1, dropout 0.6), top-k
MIL ranking loss with sparsity, backward, gradient-norm clip 10, Adagrad (lr 0.01, wd 0.001).
Input: a ready [80 * 224, 1024] float32 batch (40 + 40 videos x 224 sampled clips).

Usage: python3 benchmarks/stage1_step_pytorch.py THREADS. A server: prints {"ready": ...},
then answers each "step" line on stdin with {"ms": ...} and "quit" with {"peakRssMiB": ...},
so that the benchmark can interleave it step by step with mist-vad.
(Debian: apt-get install -y python3-torch; never a runtime dependency of mist-vad.)
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn


class Generator(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, 512)
        self.fc2 = nn.Linear(512, 32)
        self.fc3 = nn.Linear(32, 1)
        self.drop = nn.Dropout(0.6)
        for m in (self.fc1, self.fc2, self.fc3):
            nn.init.kaiming_normal_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        h = self.drop(torch.relu(self.fc1(x)))
        h = self.drop(self.fc2(h))
        return torch.sigmoid(self.fc3(h)).squeeze(-1)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    B, clips, dim, k = 40, 224, 1024, 7
    x = torch.rand(2 * B * clips, dim)
    model = Generator(dim)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.01, weight_decay=0.001)

    def step():
        y = model(x).view(2 * B, clips)
        sn = y[:B].topk(k, dim=1).values.mean(1)
        sa = y[B:].topk(k, dim=1).values.mean(1)
        rank = torch.clamp_min(1 - sa.view(1, -1) + sn.view(-1, 1), 0).mean()
        loss = rank + 0.01 * y[B:].mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10)
        opt.step()
        loss.item()

    print(json.dumps({"ready": f"PyTorch {torch.__version__}", "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if line.strip() == "step":
            t0 = time.perf_counter()
            step()
            print(json.dumps({"ms": (time.perf_counter() - t0) * 1000}), flush=True)
        else:
            print(json.dumps({"peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
            return


if __name__ == "__main__":
    main()
