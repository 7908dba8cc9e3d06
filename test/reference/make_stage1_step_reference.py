#!/usr/bin/env python3
"""Reference for test/stage1-step-reference.test.ts: several consecutive stage-1 training
steps done by PyTorch itself, from the same initial weights and on the same batches as the
native step: the generator (Linear -> ReLU -> Dropout -> Linear -> Dropout -> Linear ->
Sigmoid, dropout off so that both sides draw no masks), the MIL ranking loss in both bag-score
variants (docs/MIST.md, Stage 1, Loss), backward, torch.nn.utils.clip_grad_norm_ with a clip
that binds, torch.optim.Adagrad with weight decay.

Also: the loss on hand-made scores where some hinges are inactive (anomalous bag score at
least 1 above the normal one), with PyTorch's gradient.

Rerun: /usr/bin/python3 test/reference/make_stage1_step_reference.py   (Debian python3-torch)
Writes test/reference/stage1-step/{init.pt, ones-1x1x1.pt, reference.json}.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stage1-step")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(20261201)

D, H1, H2 = 16, 8, 4
NORMAL, ANOMALOUS = 3, 3
L, T = 4, 2
CLIPS = L * T
STEPS = 5


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D, H1)
        self.fc2 = nn.Linear(H1, H2)
        self.fc3 = nn.Linear(H2, 1)

    def forward(self, x):
        # Dropout p = 0: the identity in both frameworks. No ReLU after fc2 (released code).
        return torch.sigmoid(self.fc3(self.fc2(torch.relu(self.fc1(x))))).squeeze(-1)


def bag_scores(y, variant, k):
    if variant == "subbag":
        return y.view(y.shape[0], L, CLIPS // L).mean(2).amax(1)
    return y.topk(k, dim=1).values.mean(1)


def mil_loss(scores, variant, k, lam_sparsity, lam_smoothness):
    yn, ya = scores[:NORMAL], scores[NORMAL:]
    sn, sa = bag_scores(yn, variant, k), bag_scores(ya, variant, k)
    hinge = 1.0 - sa.view(1, -1) + sn.view(-1, 1)
    rank = torch.clamp_min(hinge, 0.0).mean()
    sparsity = ya.mean()
    smoothness = (ya[:, 1:] - ya[:, :-1]).pow(2).mean()
    total = rank + lam_sparsity * sparsity + lam_smoothness * smoothness
    return total, rank, sparsity, smoothness, hinge


def f32(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


# Initial weights: Kaiming-normal-sized values and non-zero biases, so every parameter moves.
init = {
    "fc1.weight": rng.normal(0, np.sqrt(2 / D), (H1, D)),
    "fc1.bias": rng.normal(0, 0.1, (H1,)),
    "fc2.weight": rng.normal(0, np.sqrt(2 / H1), (H2, H1)),
    "fc2.bias": rng.normal(0, 0.1, (H2,)),
    "fc3.weight": rng.normal(0, np.sqrt(2 / H2), (1, H2)),
    "fc3.bias": rng.normal(0, 0.1, (1,)),
}
init = {k: torch.tensor(v, dtype=torch.float32) for k, v in init.items()}
torch.save(init, os.path.join(here, "init.pt"))

# For the dropout test: a 1 -> 1 -> 1 -> 1 generator that passes its input through unchanged
# (weights 1, biases 0), so what comes out is the two dropout masks times the input.
torch.save(
    {k: torch.ones(1, 1) if k.endswith("weight") else torch.zeros(1) for k in
     ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]},
    os.path.join(here, "ones-1x1x1.pt"),
)

# One batch per step: rows are the normal videos' clips, then the anomalous videos' clips;
# anomalous videos get a bump on a few clips so the two classes differ.
batches = []
for _ in range(STEPS):
    x = rng.normal(0, 1, ((NORMAL + ANOMALOUS) * CLIPS, D)).astype(np.float32)
    for v in range(ANOMALOUS):
        row = (NORMAL + v) * CLIPS + int(rng.integers(0, CLIPS - 2))
        x[row : row + 2] += 1.5
    batches.append(x)

configs = {
    # The released code's bag score: mean of the top-k clip scores.
    "topk": dict(variant="topk", k=3, lr=0.05, weightDecay=0.01, gradClip=0.02, lambdaSparsity=0.01, lambdaSmoothness=0.5),
    # The paper's bag score: max over sub-bags of the sub-bag mean.
    "subbag": dict(variant="subbag", k=1, lr=0.05, weightDecay=0.01, gradClip=0.02, lambdaSparsity=0.01, lambdaSmoothness=0.5),
}

runs = {}
for name, c in configs.items():
    net = Generator()
    net.load_state_dict(init)
    opt = torch.optim.Adagrad(net.parameters(), lr=c["lr"], weight_decay=c["weightDecay"])
    steps = []
    for x in batches:
        scores = net(torch.from_numpy(x)).view(NORMAL + ANOMALOUS, CLIPS)
        total, rank, sparsity, smoothness, _ = mil_loss(scores, c["variant"], c["k"], c["lambdaSparsity"], c["lambdaSmoothness"])
        opt.zero_grad()
        total.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), c["gradClip"]))
        assert grad_norm > c["gradClip"], f"{name}: the clip must bind (norm {grad_norm})"
        opt.step()
        steps.append(
            {
                "loss": float(total),
                "rank": float(rank),
                "sparsity": float(sparsity),
                "smoothness": float(smoothness),
                "gradNorm": grad_norm,
                "weights": {k: f32(v.detach()) for k, v in net.state_dict().items()},
            }
        )
    runs[name] = {"options": c, "steps": steps}

# The loss alone, on scores that are not probabilities: anomalous bags far above some normal
# ones, so some of the B_n x B_a hinges are inactive (max(0, .) = 0) and carry no gradient.
scores = rng.uniform(0, 1, (NORMAL + ANOMALOUS, CLIPS)).astype(np.float32)
scores[NORMAL + 0] += 2.0  # far above every normal bag: all its hinges inactive
scores[NORMAL + 1] += 0.6  # some active, some not
hinge_cases = {}
for name, c in configs.items():
    s = torch.tensor(scores, requires_grad=True)
    total, rank, sparsity, smoothness, hinge = mil_loss(s, c["variant"], c["k"], c["lambdaSparsity"], c["lambdaSmoothness"])
    total.backward()
    active = int((hinge > 0).sum())
    assert 0 < active < NORMAL * ANOMALOUS, f"{name}: need active and inactive hinges, got {active}"
    hinge_cases[name] = {
        "options": c,
        "loss": float(total),
        "rank": float(rank),
        "activeHinges": active,
        "pairs": NORMAL * ANOMALOUS,
        "grad": f32(s.grad),
    }

json.dump(
    {
        "torch": torch.__version__,
        "shape": {"D": D, "hidden": [H1, H2], "normal": NORMAL, "anomalous": ANOMALOUS, "L": L, "T": T, "clips": CLIPS},
        "batches": [f32(x) for x in batches],
        "runs": runs,
        "hingeScores": f32(scores),
        "hingeCases": hinge_cases,
    },
    open(os.path.join(here, "reference.json"), "w"),
)
print("wrote", here)
