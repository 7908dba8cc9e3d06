# The stage-2 SGA encoders (I3D and C3D with the self-guided attention branch) built in
# PyTorch straight from the specification (docs/MIST.md, "Stage 2: SGA encoder"), with the module names of
# the public checkpoints, and the recipe for the reference files of test/encoder-*.test.ts.
#
# Recipe (Debian 12, python3-torch 1.13.1; nothing else needed), from the repository root:
#   /usr/bin/python3 test/reference/encoder_reference.py
# It writes test/reference/encoders/ (about 1 MB): tiny random models saved with torch.save
# under the public key names, and their outputs on a fixed input, in eval and train mode:
#   i3d_tiny.pt         full MIST-I3D state dict (backbone.*, Conv_Atten.*, Regressor.1.*)
#   i3d_port_tiny.pt    a backbone alone in the layout of the Kinetics I3D port's model_rgb.pth
#                       (conv3d_1a_7x7.conv3d.weight, ..., plus the conv3d_0c_1x1 logits)
#   c3d_tiny_mist.pt    a released-MIST checkpoint: {model: {"module.backbone...", ...},
#                       optimizer: an SGD state dict, amp: None}
#   c3d_sports1m_tiny.pt  a C3D backbone alone (conv1a ... conv5b, fc6, fc7)
#   legacy.pt           a dict saved in PyTorch's legacy (pre-1.6, non-zip) format
#   reference.json      inputs' recipe, shapes and outputs (float64 lists), MACs and parameter
#                       counts of the full-size models measured with forward hooks
# The input of every case is x[i] = sin(0.37 * i) * 0.5 over the flat [N, 3, T, H, W] array,
# so the tests rebuild it instead of storing it.
import copy
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

K_EXPAND = 8


def scaled(c, width):
    """Channel count at a width multiplier (same rule as native/encoder.cc)."""
    return max(1, int(math.floor(c * width + 0.5)))


def same_pad(k, s, n, temporal):
    """The spec's I3D "SAME" rule: total max(k - s, 0), smaller half first; along time with
    stride > 1 and T mod s != 0, total max(k - T mod s, 0)."""
    if temporal and s > 1 and n % s != 0:
        total = max(k - n % s, 0)
    else:
        total = max(k - s, 0)
    return total // 2, total - total // 2


def tf_pad(x, k, s):
    t = same_pad(k[0], s[0], x.shape[2], True)
    h = same_pad(k[1], s[1], x.shape[3], False)
    w = same_pad(k[2], s[2], x.shape[4], False)
    return F.pad(x, (w[0], w[1], h[0], h[1], t[0], t[1]))


class Unit3D(nn.Module):
    def __init__(self, cin, cout, k=(1, 1, 1), s=(1, 1, 1)):
        super().__init__()
        self.k, self.s = k, s
        # As the released code does: a pad that is symmetric whatever the input (stride 1) goes
        # into the convolution itself, no copy; the others are applied with F.pad per input.
        static = [same_pad(kk, ss, ss, False) for kk, ss in zip(k, s)]
        self.fixed = all(ss == 1 for ss in s) and all(a == b for a, b in static)
        pad = tuple(a for a, _ in static) if self.fixed else 0
        self.conv3d = nn.Conv3d(cin, cout, k, stride=s, padding=pad, bias=False)
        self.batch3d = nn.BatchNorm3d(cout, eps=1e-3)

    def forward(self, x):
        return F.relu(self.batch3d(self.conv3d(x if self.fixed else tf_pad(x, self.k, self.s))))


class MaxPoolTF(nn.Module):
    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        return F.max_pool3d(tf_pad(x, self.k, self.s), self.k, self.s, ceil_mode=True)


class Mixed(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.branch_0 = Unit3D(cin, c[0])
        self.branch_1 = nn.Sequential(Unit3D(cin, c[1]), Unit3D(c[1], c[2], (3, 3, 3)))
        self.branch_2 = nn.Sequential(Unit3D(cin, c[3]), Unit3D(c[3], c[4], (3, 3, 3)))
        self.branch_3 = nn.Sequential(MaxPoolTF((3, 3, 3), (1, 1, 1)), Unit3D(cin, c[5]))
        self.out_channels = c[0] + c[2] + c[4] + c[5]

    def forward(self, x):
        return torch.cat([self.branch_0(x), self.branch_1(x), self.branch_2(x), self.branch_3(x)], 1)


I3D_MIXED = [
    ("mixed_3b", [64, 96, 128, 16, 32, 32]), ("mixed_3c", [128, 128, 192, 32, 96, 64]),
    ("maxPool3d_4a_3x3", None),
    ("mixed_4b", [192, 96, 208, 16, 48, 64]), ("mixed_4c", [160, 112, 224, 24, 64, 64]),
    ("mixed_4d", [128, 128, 256, 24, 64, 64]), ("mixed_4e", [112, 144, 288, 32, 64, 64]),
    ("mixed_4f", [256, 160, 320, 32, 128, 128]),
    ("maxPool3d_5a_2x2", None),
    ("mixed_5b", [256, 160, 320, 32, 128, 128]), ("mixed_5c", [384, 192, 384, 48, 128, 128]),
]


class I3D(nn.Module):
    """Inception-v1 inflated; returns (Mixed_4f, Mixed_5c)."""

    def __init__(self, width=1.0):
        super().__init__()
        sc = lambda c: scaled(c, width)
        self.conv3d_1a_7x7 = Unit3D(3, sc(64), (7, 7, 7), (2, 2, 2))
        self.maxPool3d_2a_3x3 = MaxPoolTF((1, 3, 3), (1, 2, 2))
        self.conv3d_2b_1x1 = Unit3D(sc(64), sc(64))
        self.conv3d_2c_3x3 = Unit3D(sc(64), sc(192), (3, 3, 3))
        self.maxPool3d_3a_3x3 = MaxPoolTF((1, 3, 3), (1, 2, 2))
        cin = sc(192)
        self.order = ["conv3d_1a_7x7", "maxPool3d_2a_3x3", "conv3d_2b_1x1", "conv3d_2c_3x3", "maxPool3d_3a_3x3"]
        for name, plan in I3D_MIXED:
            if plan is None:
                k = (3, 3, 3) if name == "maxPool3d_4a_3x3" else (2, 2, 2)
                setattr(self, name, MaxPoolTF(k, (2, 2, 2)))
            else:
                m = Mixed(cin, [sc(c) for c in plan])
                setattr(self, name, m)
                cin = m.out_channels
                if name == "mixed_4f":
                    self.sga_channels = cin
            self.order.append(name)
        self.out_channels = cin

    def forward(self, x):
        tap = None
        for name in self.order:
            x = getattr(self, name)(x)
            if name == "mixed_4f":
                tap = x
        return tap, x


C3D_PLAN = [("conv1a", 64), ("pool1", (1, 2, 2)), ("conv2a", 128), ("pool2", (2, 2, 2)),
            ("conv3a", 256), ("conv3b", 256), ("pool3", (2, 2, 2)), ("conv4a", 512), ("conv4b", 512),
            ("pool4", (2, 2, 2)), ("conv5a", 512), ("conv5b", 512)]


class C3D(nn.Module):
    """conv1a ... conv5b, ReLU after every conv; returns (conv4b, conv5b) after ReLU."""

    def __init__(self, width=1.0):
        super().__init__()
        cin = 3
        self.order = []
        for name, v in C3D_PLAN:
            if name.startswith("conv"):
                setattr(self, name, nn.Conv3d(cin, scaled(v, width), 3, padding=1))
                cin = scaled(v, width)
            self.order.append((name, v))
        self.sga_channels = scaled(512, width)
        self.out_channels = cin

    def forward(self, x):
        tap = None
        for name, v in self.order:
            if name.startswith("conv"):
                x = F.relu(getattr(self, name)(x))
            else:
                x = F.max_pool3d(x, v, v)
            if name == "conv4b":
                tap = x
        return tap, x


class SGABranch(nn.Module):
    """Conv_Atten.0: F1 = ReLU(Conv3d C->C, 3x3x3, stride (1,2,2), pad (0,1,1));
    Att_1.0: F2 = ReLU(Conv3d C->2K, 1); Att_2: the guided head Conv3d 2K->2K, 1;
    Att_3.0: A = Sigmoid(Conv3d 2K->1, kernel (2,1,1))."""

    def __init__(self, c, k=K_EXPAND):
        super().__init__()
        self.Conv_Atten = nn.Sequential(nn.Conv3d(c, c, 3, stride=(1, 2, 2), padding=(0, 1, 1)), nn.ReLU())
        self.Att_1 = nn.Sequential(nn.Conv3d(c, 2 * k, 1), nn.ReLU())
        self.Att_2 = nn.Conv3d(2 * k, 2 * k, 1)
        self.Att_3 = nn.Sequential(nn.Conv3d(2 * k, 1, (2, 1, 1)), nn.Sigmoid())

    def forward(self, m):
        f2 = self.Att_1(self.Conv_Atten(m))
        g = self.Att_2(f2).mean(dim=(2, 3, 4))
        guided_logits = g.view(g.shape[0], 2, -1).mean(-1)
        return self.Att_3(f2), guided_logits


class SgaEncoder(nn.Module):
    def __init__(self, backbone="i3d", width=1.0, dropout=0.8, k=K_EXPAND):
        super().__init__()
        self.backbone = I3D(width) if backbone == "i3d" else C3D(width)
        self.Conv_Atten = SGABranch(self.backbone.sga_channels, k)
        self.Regressor = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.backbone.out_channels, 2))

    def forward(self, x):
        tap, main = self.backbone(x)
        a, guided_logits = self.Conv_Atten(tap)
        m_star = main + a * main
        feature = m_star.mean(dim=(2, 3, 4))
        logits = self.Regressor(feature)
        return {"score": torch.softmax(logits, -1)[:, 1], "guided": torch.softmax(guided_logits, -1),
                "attention": a[:, 0], "feature": feature, "sga_tap": tap, "main_tap": main}


def fill_random(model, gen, calibrate=None):
    """Random weights and BatchNorm parameters and statistics far from the identity, so that a
    wrong fold, a wrong eps or a swapped name shows. With `calibrate` (a list of inputs), the
    running statistics are first set to those inputs' batch statistics, then perturbed, so that
    activations stay near unit scale through the depth of I3D."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("batch3d.weight"):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            elif p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) * math.sqrt(2.0 / fan_in))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) * 0.5 + 0.02)
        if calibrate is not None:
            bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm3d)]
            for m in bns:
                m.momentum = None  # cumulative average over the calibration inputs
                m.reset_running_stats()
            model.train()
            for x in calibrate:
                model(x)
            for m in bns:
                m.momentum = 0.1
                # Near-constant channels of a tiny model would get a tiny variance and amplify
                # float32 rounding a hundredfold through the depth of I3D: keep them tame.
                m.running_var.clamp_(min=0.05)
                m.running_mean.add_(torch.randn(m.running_mean.shape, generator=gen) * 0.1 * m.running_var.sqrt())
                m.running_var.mul_(torch.rand(m.running_var.shape, generator=gen) * 0.4 + 0.8)
                m.num_batches_tracked.zero_()
            model.eval()
            if isinstance(model, SgaEncoder):
                # Deep tiny models amplify: scale the score head so that its logits are O(1)
                # and the score is not saturated (a saturated softmax compares nothing).
                rms = sum(model(x)["feature"].pow(2).mean().sqrt() for x in calibrate) / len(calibrate)
                model.Regressor[1].weight.div_(rms)


def clip_input(n, t, h, w):
    i = torch.arange(n * 3 * t * h * w, dtype=torch.float64)
    return (torch.sin(0.37 * i) * 0.5).float().view(n, 3, t, h, w)


def as_list(t):
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.detach().double().reshape(-1)]}


def run_case(model, x, train=False):
    if train:  # a copy: batch statistics must not leak into the saved running statistics
        model = copy.deepcopy(model)
    model.train(train)
    with torch.no_grad():
        out = model(x)
    keep = ("guided", "attention", "feature") if train else out.keys()  # dropout touches the score
    return {k: as_list(out[k]) for k in keep}


def count_macs(model, x):
    """Multiply-accumulates of every Conv3d and Linear, from the shapes seen by forward hooks."""
    macs = {"total": 0}

    def hook(m, inp, out):
        if isinstance(m, nn.Conv3d):
            k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3] * m.weight.shape[4]
            macs["total"] += out.numel() // out.shape[0] * k
        elif isinstance(m, nn.Linear):
            macs["total"] += out.numel() // out.shape[0] * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv3d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return macs["total"]


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "encoders")
    os.makedirs(here, exist_ok=True)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(20210619)
    ref = {"recipe": "python3 test/reference/encoder_reference.py (torch %s)" % torch.__version__,
           "input": "x[i] = sin(0.37 * i) * 0.5 over the flat [N, 3, T, H, W] float32 array",
           "cases": {}}

    # I3D, width 1/24, full model, plain state dict with MIST's names (no module. prefix).
    i3d = SgaEncoder("i3d", 1 / 24)
    sizes = ([16, 32, 32], [16, 47, 39], [15, 33, 35])
    fill_random(i3d, gen, [clip_input(2, *size) for size in sizes])
    torch.save(i3d.state_dict(), os.path.join(here, "i3d_tiny.pt"))
    for size in sizes:
        x = clip_input(2, *size)
        key = "i3d_tiny_%dx%dx%d" % tuple(size)
        ref["cases"][key] = {"file": "i3d_tiny.pt", "backbone": "i3d", "width": 1 / 24, "n": 2,
                             "inputSize": size, "eval": run_case(i3d, x), "train": run_case(i3d, x, True)}

    # The Kinetics port layout: backbone keys at the top level plus the logits conv to ignore.
    port = I3D(1 / 32)
    sizes = ([15, 33, 35], [10, 33, 35], [16, 32, 32])
    fill_random(port, gen, [clip_input(1, *size) for size in sizes])
    sd = port.state_dict()
    sd["conv3d_0c_1x1.conv3d.weight"] = torch.randn(400, port.out_channels, 1, 1, 1, generator=gen)
    sd["conv3d_0c_1x1.conv3d.bias"] = torch.randn(400, generator=gen)
    # model_rgb.pth predates num_batches_tracked: leave it out as that file does.
    sd = type(sd)((k, v) for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    torch.save(sd, os.path.join(here, "i3d_port_tiny.pt"))
    port.eval()
    for size in sizes:
        with torch.no_grad():
            tap, main = port(clip_input(1, *size))
        ref["cases"]["i3d_port_%dx%dx%d" % tuple(size)] = {
            "file": "i3d_port_tiny.pt", "backbone": "i3d", "width": 1 / 32, "n": 1, "inputSize": size,
            "eval": {"sga_tap": as_list(tap), "main_tap": as_list(main)}}
    ref["portKeys"] = list(sd.keys())

    # C3D, width 1/32, saved as the released MIST checkpoints are (DataParallel prefixes).
    c3d = SgaEncoder("c3d", 1 / 32)
    fill_random(c3d, gen)
    opt = torch.optim.SGD(c3d.parameters(), lr=0.0, momentum=0.9)
    c3d.train()
    c3d(clip_input(1, 16, 32, 32))["score"].sum().backward()
    opt.step()
    model_sd = type(c3d.state_dict())(("module." + k, v) for k, v in c3d.state_dict().items())
    torch.save({"model": model_sd, "optimizer": opt.state_dict(), "amp": None},
               os.path.join(here, "c3d_tiny_mist.pt"))
    x = clip_input(2, 16, 32, 32)
    ref["cases"]["c3d_tiny_16x32x32"] = {"file": "c3d_tiny_mist.pt", "backbone": "c3d", "width": 1 / 32, "n": 2,
                                         "inputSize": [16, 32, 32], "eval": run_case(c3d, x)}
    # The Sports-1M layout: conv1a ... conv5b at the top level, fc6 / fc7 to ignore.
    sports = {k[len("backbone."):]: v for k, v in c3d.state_dict().items() if k.startswith("backbone.")}
    sports["fc6.weight"] = torch.randn(8, 16, generator=gen)
    sports["fc6.bias"] = torch.randn(8, generator=gen)
    sports["fc7.weight"] = torch.randn(8, 8, generator=gen)
    sports["fc7.bias"] = torch.randn(8, generator=gen)
    torch.save(sports, os.path.join(here, "c3d_sports1m_tiny.pt"))

    torch.save({"conv1a.weight": torch.zeros(2, 3, 3, 3, 3)}, os.path.join(here, "legacy.pt"),
               _use_new_zipfile_serialization=False)
    # The I3D port's own model_rgb.pth predates PyTorch 1.6: the same port-layout dict in that format.
    torch.save(torch.load(os.path.join(here, "i3d_port_tiny.pt")), os.path.join(here, "i3d_port_tiny_legacy.pt"),
               _use_new_zipfile_serialization=False)

    # Full-size cost: parameters and MACs per 16-frame clip at the paper's input sizes.
    cost = {}
    for name, size in (("i3d", [16, 224, 224]), ("c3d", [16, 112, 112])):
        m = SgaEncoder(name)
        n_params = sum(p.numel() for p in m.parameters())
        cost[name] = {"inputSize": size, "parameters": n_params, "macs": count_macs(m, clip_input(1, *size))}
    ref["cost"] = cost
    with open(os.path.join(here, "reference.json"), "w") as fh:
        json.dump(ref, fh, separators=(",", ":"))
    for f in sorted(os.listdir(here)):
        print("%-24s %9d bytes" % (f, os.path.getsize(os.path.join(here, f))))
    print(json.dumps(cost))


if __name__ == "__main__":
    sys.exit(main())
