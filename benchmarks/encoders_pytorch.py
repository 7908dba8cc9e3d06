#!/usr/bin/env python3
"""PyTorch side of benchmarks/encoders.bench.ts: the MIST-I3D and MIST-C3D encoders built from
the spec (test/reference/encoder_reference.py, the same model the tests compare against).

  python3 benchmarks/encoders_pytorch.py prepare OUT THREADS
      builds both models at full width with seeded random weights (BatchNorm statistics set
      from the benchmark clip, so activations stay finite through I3D), writes OUT/{i3d,c3d}.pt
      (state dicts under the public names), OUT/{i3d,c3d}.onnx (opset 13, eval mode, batch 1)
      and OUT/meta.json (parameters, MACs, outputs on the benchmark clip).
  python3 benchmarks/encoders_pytorch.py serve OUT THREADS
      loads the .pt files and answers one command per stdin line with one JSON line:
      "i3d" / "c3d" -> {"seconds": one eval forward of one clip under inference_mode}
      "convrate"    -> {"gflops": best oneDNN rate (prepacked weights) over I3D / C3D layers}
      so that the benchmark can interleave PyTorch with the other engines.

Debian: apt-get install -y python3-torch (never a runtime dependency of mist-vad).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "reference"))
import encoder_reference as R  # noqa: E402

SIZES = {"i3d": [16, 224, 224], "c3d": [16, 112, 112]}


class Outputs(torch.nn.Module):
    """The encoder with a tuple output, for the ONNX export."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        o = self.m(x)
        return o["score"], o["guided"], o["attention"], o["feature"]


def prepare(out):
    os.makedirs(out, exist_ok=True)
    meta = {"torch": torch.__version__, "threads": torch.get_num_threads(), "models": {}}
    for i, name in enumerate(("i3d", "c3d")):
        m = R.SgaEncoder(name)
        x = R.clip_input(1, *SIZES[name])
        R.fill_random(m, torch.Generator().manual_seed(7 + i), [x])
        m.eval()
        torch.save(m.state_dict(), os.path.join(out, name + ".pt"))
        with torch.inference_mode():
            o = m(x)
        torch.onnx.export(Outputs(m), x, os.path.join(out, name + ".onnx"), opset_version=13,
                          input_names=["clips"], output_names=["score", "guided", "attention", "feature"])
        meta["models"][name] = {
            "inputSize": SIZES[name],
            "parameters": sum(p.numel() for p in m.parameters()),
            "macs": R.count_macs(m, x),
            "score": float(o["score"][0]),
            "feature": [float(v) for v in o["feature"][0]],
        }
    with open(os.path.join(out, "meta.json"), "w") as fh:
        json.dump(meta, fh)
    print(json.dumps({"ok": True}))


def conv_rate():
    """oneDNN's rate on the heaviest convolution shapes of the two networks, weights prepacked
    and activations in its blocked layout (its best case): the floor's denominator."""
    best = 0.0
    for cin, cout, k, t, h, w in ((64, 192, 3, 8, 56, 56), (128, 256, 3, 8, 28, 28), (256, 256, 3, 8, 28, 28),
                                  (512, 512, 3, 4, 14, 14), (832, 832, 3, 4, 14, 14)):
        x = torch.randn(1, cin, t, h, w).to_mkldnn()
        wt = torch._C._nn.mkldnn_reorder_conv3d_weight(torch.randn(cout, cin, k, k, k).to_mkldnn(), [1] * 3, [1] * 3,
                                                       [1] * 3, 1)
        b = torch.randn(cout)
        flops = 2 * cout * cin * k ** 3 * t * h * w
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            torch.mkldnn_convolution(x, wt, b, [1] * 3, [1] * 3, [1] * 3, 1)
            times.append(time.perf_counter() - t0)
        best = max(best, flops / min(times[1:]) / 1e9)
    return best


def serve(out):
    models = {}
    for name in ("i3d", "c3d"):
        m = R.SgaEncoder(name)
        m.load_state_dict(torch.load(os.path.join(out, name + ".pt")))
        m.eval()
        models[name] = (m, R.clip_input(1, *SIZES[name]))
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        if cmd == "convrate":
            with torch.inference_mode():
                print(json.dumps({"gflops": conv_rate()}), flush=True)
            continue
        m, x = models[cmd]
        with torch.inference_mode():
            t0 = time.perf_counter()
            m(x)
            dt = time.perf_counter() - t0
        print(json.dumps({"seconds": dt}), flush=True)


if __name__ == "__main__":
    mode, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    prepare(out) if mode == "prepare" else serve(out)
