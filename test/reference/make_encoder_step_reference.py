#!/usr/bin/env python3
"""Reference for test/encoder-train-step.test.ts: consecutive stage-2 training calls done by
PyTorch itself on the tiny MIST-I3D of encoder_reference.py (i3d_tiny.pt), from the same
weights and on the same clips as the native step (docs/MIST.md, Stage 2: Loss, Training):

- train mode (BatchNorm batch statistics, running statistics updated), dropout off so that
  neither side draws masks;
- the class-weighted BCE on the anomalous-class probability of both heads, total = main +
  guided, divided by the accumulation count for backward;
- every `accumulate` calls: torch.nn.utils.clip_grad_norm_ with a bound that binds, then
  torch.optim.Adam with weight decay on conv / linear weights only (two parameter groups), at
  the learning rate times the warm-up factor of that call; zero_grad(set_to_none=True).

Cases: "c3d" (the tiny C3D of c3d_tiny_mist.pt, six calls, three updates: Adam over several
steps), "i3d" (everything trains) and "i3d-frozen" (the stem block frozen, and every backbone
BatchNorm weight and bias frozen while the running statistics still update, as the
ShanghaiTech I3D preset does). The I3D cases stop after one update: with two clips per batch
the tiny I3D's BatchNorm divides by batch deviations of a few values, its gradient norms run
into the thousands, and float32 rounding (1e-7) grows to 1e-3 of an update within two more
steps, in PyTorch against itself as much as against us.

Rerun: /usr/bin/python3 test/reference/make_encoder_step_reference.py   (Debian python3-torch)
Writes test/reference/encoder-step/reference.json.
"""
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from encoder_reference import SgaEncoder  # noqa: E402

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

N, SIZE = 2, (16, 32, 32)
CALLS = 6
ACCUMULATE = 2
FACTORS = [0.1, 0.1, 0.3, 0.3, 0.5, 0.5]  # (e + 0.5) / 5 for epochs 0, 1, 2 of two calls each
TARGETS = [[0.25, 0.9], [0.0, 1.0], [0.6, 0.1], [1.0, 0.0], [0.5, 0.75], [0.05, 0.95]]
OPT = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 5e-4, "w1": 0.8, "w0": 0.65,
       "guidedWeight": 1.0, "accumulate": ACCUMULATE}
# Tensors recorded whole (the rest by sum and sum of squares).
WHOLE = ["Regressor.1.weight", "Regressor.1.bias", "Conv_Atten.Att_2.weight", "Conv_Atten.Att_3.0.bias",
         "backbone.mixed_5c.branch_3.1.batch3d.weight", "backbone.mixed_5c.branch_3.1.batch3d.running_mean",
         "backbone.conv5b.weight", "backbone.conv1a.bias"]


def clip_input(call):
    """x[i] = sin(0.37 i + 0.5 call) * 0.5 over the flat [N, 3, T, H, W] array."""
    i = torch.arange(N * 3 * SIZE[0] * SIZE[1] * SIZE[2], dtype=torch.float64)
    return (torch.sin(0.37 * i + 0.5 * call) * 0.5).float().view(N, 3, *SIZE)


def bce(p, y, w1, w0):
    return (-w1 * y * torch.log(p + 1e-8) - w0 * (1 - y) * torch.log(1 - p + 1e-8)).mean()


def summary(model):
    out = {}
    for k, v in list(model.named_parameters()) + list(model.named_buffers()):
        v = v.detach().double()
        out[k] = {"sum": v.sum().item(), "sq": v.pow(2).sum().item()}
        if k in WHOLE:
            out[k]["data"] = [float("%.9g" % x) for x in v.reshape(-1)]
    return out


def load(backbone):
    if backbone == "i3d":
        model = SgaEncoder("i3d", 1 / 24, dropout=0.0)
        model.load_state_dict(torch.load(os.path.join(here, "encoders", "i3d_tiny.pt")))
    else:
        model = SgaEncoder("c3d", 1 / 32, dropout=0.0)
        sd = torch.load(os.path.join(here, "encoders", "c3d_tiny_mist.pt"))["model"]
        model.load_state_dict({k[len("module."):]: v for k, v in sd.items()})
    return model


def run(backbone, frozen, clip, calls_n):
    model = load(backbone)
    if frozen:
        for k, p in model.named_parameters():
            if k.startswith("backbone.conv3d_1a_7x7.") or (k.startswith("backbone.") and ".batch3d." in k):
                p.requires_grad_(False)
    model.train()
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.Adam([{"params": decay, "weight_decay": OPT["weightDecay"]},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=OPT["lr"], betas=(OPT["beta1"], OPT["beta2"]), eps=OPT["eps"])
    calls = []
    for c in range(calls_n):
        y = torch.tensor(TARGETS[c])
        out = model(clip_input(c))
        main = bce(out["score"], y, OPT["w1"], OPT["w0"])
        guided = bce(out["guided"][:, 1], y, OPT["w1"], OPT["w0"])
        loss = main + OPT["guidedWeight"] * guided
        (loss / ACCUMULATE).backward()
        rec = {"loss": loss.item(), "mainLoss": main.item(), "guidedLoss": guided.item(), "stepped": False}
        if (c + 1) % ACCUMULATE == 0:
            params = [p for p in model.parameters() if p.grad is not None]
            rec["gradNorm"] = torch.nn.utils.clip_grad_norm_(params, clip).item()
            for g in opt.param_groups:
                g["lr"] = OPT["lr"] * FACTORS[c]
            opt.step()
            opt.zero_grad(set_to_none=True)
            rec["stepped"] = True
            rec["state"] = summary(model)
        calls.append(rec)
    return calls


CASES = {"c3d": ("c3d", False, CALLS), "i3d": ("i3d", False, ACCUMULATE), "i3d-frozen": ("i3d", True, ACCUMULATE)}
# A bound below every measured norm, so that clipping binds at each update of every case.
norms = [c["gradNorm"] for b, f, n in CASES.values() for c in run(b, f, float("inf"), n) if c["stepped"]]
clip = 0.5 * min(norms)
ref = {
    "recipe": "python3 test/reference/make_encoder_step_reference.py (torch %s)" % torch.__version__,
    "n": N, "inputSize": list(SIZE), "factors": FACTORS, "targets": TARGETS,
    "options": dict(OPT, gradClip=clip), "whole": WHOLE,
    "cases": {name: dict(backbone=b, frozen=f, calls=run(b, f, clip, n)) for name, (b, f, n) in CASES.items()},
}
json.dump(ref, open(os.path.join(here, "encoder-step", "reference.json"), "w"), separators=(",", ":"))
print("clip", clip, "norms", [round(x, 4) for x in norms])
