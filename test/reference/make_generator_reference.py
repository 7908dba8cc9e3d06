#!/usr/bin/env python3
"""Reference for test/stage1-generator-torch.test.ts: a stage-1 generator built in PyTorch
(Linear(D,512) -> ReLU -> Dropout -> Linear(512,32) -> Dropout -> Linear(32,1) -> Sigmoid,
module names fc1, fc2, fc3), saved with torch.save as a plain state dict, with its eval-mode
outputs on fixed inputs.

Rerun: /usr/bin/python3 test/reference/make_generator_reference.py   (Debian python3-torch)
Writes test/reference/generator/{generator_torch.pt, reference.json}.
"""
import json
import os

import torch
import torch.nn as nn

torch.manual_seed(1234)
D = 24
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generator")
os.makedirs(here, exist_ok=True)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D, 512)
        self.fc2 = nn.Linear(512, 32)
        self.fc3 = nn.Linear(32, 1)
        self.drop = nn.Dropout(0.6)

    def forward(self, x):
        h = self.drop(torch.relu(self.fc1(x)))
        h = self.drop(self.fc2(h))
        return torch.sigmoid(self.fc3(h)).squeeze(-1)


g = Generator().eval()
x = torch.randn(9, D)
with torch.no_grad():
    y = g(x)
torch.save(g.state_dict(), os.path.join(here, "generator_torch.pt"))  # an OrderedDict, as users save
with open(os.path.join(here, "reference.json"), "w") as f:
    json.dump({"torch": torch.__version__, "dim": D, "x": x.flatten().tolist(), "y": y.tolist()}, f)
print("wrote", here)
