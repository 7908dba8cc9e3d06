#!/usr/bin/env python3
"""PyTorch side of benchmarks/extract.bench.ts: feature extraction of one video the way the
community's PyTorch extractors do it, with the SgaEncoder of test/reference/encoder_reference.py
(the model the tests compare against) and the weights mist-vad saved.

  python3 benchmarks/extract_pytorch.py WEIGHTS VIDEO THREADS
      loads WEIGHTS (a mist-vad encoder checkpoint: {"model": state dict, "mist": config}),
      then answers one command per stdin line with one JSON line:
      "single" / "ten" [+ " features"] -> {"seconds", "clips"[, "features"]}: the whole
      extraction of VIDEO, timed from the start of decoding to the last feature:
        decoding: ffmpeg to raw RGB on a pipe, the command line of lib/data/video.ts;
        single:   every frame resized to 256 x 340 (torchvision Resize on the uint8 tensor),
                  (x - 128) / 128, clips in batches of 8;
        ten:      Resize(256) (short side 256, aspect kept) and TenCrop(224), (x - 128) / 128,
                  one clip's ten crops per forward;
      each clip = 16 consecutive frames, eval mode under inference_mode. With "features", the
      features [clips, views, D] come back too (to compare the engines).

Debian: apt-get install -y python3-torch python3-torchvision (never a dependency of mist-vad).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision.transforms as T

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "reference"))
import encoder_reference as R  # noqa: E402


def decode(video):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "json", video], check=True, capture_output=True)
    s = json.loads(probe.stdout)["streams"][0]
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", video, "-map", "0:v:0", "-an", "-sn", "-dn",
                          "-fps_mode", "passthrough", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"],
                         check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, s["height"], s["width"], 3)
    return torch.from_numpy(frames.copy())


def extract(model, video, mode):
    frames = decode(video)
    clips = frames.shape[0] // 16
    x = frames[: clips * 16].permute(0, 3, 1, 2).contiguous()  # [N, 3, H, W] uint8
    out = []
    if mode == "single":
        z = (T.Resize([256, 340])(x).float() - 128) / 128
        z = z.view(clips, 16, 3, 256, 340).permute(0, 2, 1, 3, 4)
        for b in range(0, clips, 8):
            out.append(model(z[b:b + 8].contiguous())["feature"].unsqueeze(1))
    else:
        crops = T.TenCrop(224)(T.Resize(256)(x))
        views = torch.stack([(c.float() - 128) / 128 for c in crops], 1)  # [N, 10, 3, 224, 224]
        views = views.view(clips, 16, 10, 3, 224, 224).permute(0, 2, 3, 1, 4, 5)  # [clips, 10, 3, 16, h, w]
        for c in range(clips):
            out.append(model(views[c].contiguous())["feature"].unsqueeze(0))
    return clips, torch.cat(out, 0)


def main():
    weights, video, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    ckpt = torch.load(weights)
    model = R.SgaEncoder("i3d", ckpt["mist"]["width"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        with torch.inference_mode():
            t0 = time.perf_counter()
            clips, f = extract(model, video, cmd[0])
            dt = time.perf_counter() - t0
        reply = {"seconds": dt, "clips": clips}
        if "features" in cmd[1:]:
            reply["features"] = [float(v) for v in f.reshape(-1)]
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
