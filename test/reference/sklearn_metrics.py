#!/usr/bin/python3
# Reference values for test/metrics-sklearn.test.ts, computed by scikit-learn (roc_curve +
# auc, precision_recall_curve, average_precision_score) and numpy. The tests never call
# Python: they read the JSON this script writes (CI has no scikit-learn).
#
# Rerun (Debian: apt-get install python3-sklearn; made with scikit-learn 1.2.1, numpy 1.24.2):
#   /usr/bin/python3 test/reference/sklearn_metrics.py [path/to/shared/data]
# It writes test/reference/sklearn-metrics.json. The shared data folder defaults to
# ../shared/data beside the repository.
#
# Random scores come from mulberry32, ported bit for bit from lib/rng.ts, so the TypeScript
# test draws the very same numbers from createRng(seed) instead of storing a million of them.
# The ground truths are built here independently of lib/eval (plain numpy, same conventions).
import json
import math
import os
import sys

import numpy as np
import sklearn
from sklearn import metrics

here = os.path.dirname(os.path.abspath(__file__))
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', '..', '..', 'shared', 'data')


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return nxt


def all_metrics(y, s, curves=False):
    fpr, tpr, thr = metrics.roc_curve(y, s)
    p, r, pthr = metrics.precision_recall_curve(y, s)
    out = {
        'auc': float(metrics.auc(fpr, tpr)),
        'ap': float(metrics.average_precision_score(y, s)),
        'prAuc': float(metrics.auc(r, p)),
    }
    if curves:
        # roc thresholds[0] is max+1 in scikit-learn 1.2 (inf from 1.3): left out.
        out['roc'] = {'fpr': fpr.tolist(), 'tpr': tpr.tolist(), 'thresholds': thr[1:].tolist()}
        out['pr'] = {'precision': p.tolist(), 'recall': r.tolist(), 'thresholds': pthr.tolist()}
    return out


cases = {}

# Hand-sized cases (their values are also worked out by hand in the test).
small = {
    'sklearn-doc': ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
    'ties': ([0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9, 0.5, 0.9]),
    'all-equal': ([0, 1, 0, 1, 1], [0.3, 0.3, 0.3, 0.3, 0.3]),
    'perfect': ([0, 0, 1, 1, 1], [0.1, 0.2, 0.7, 0.8, 0.9]),
    'reversed': ([1, 1, 0, 0], [0.1, 0.2, 0.7, 0.8]),
    'staircase': ([1, 0, 1, 0, 1, 0, 1, 0], [8, 7, 6, 5, 4, 3, 2, 1]),
    'collinear': ([1, 1, 1, 0, 0, 0], [6, 5, 4, 3, 2, 1]),
}
for name, (y, s) in small.items():
    cases[name] = {'labels': y, 'scores': s, **all_metrics(np.array(y), np.array(s, dtype=np.float64), curves=True)}

# Generated: 20,000 frames, 30 % positive, scores on a grid of 50 values (heavy ties).
r = mulberry32(7)
y, s = [], []
for _ in range(20000):
    y.append(1 if r() < 0.3 else 0)
    s.append(math.floor(r() * 50) / 50)
cases['grid-ties'] = {'seed': 7, 'n': 20000, **all_metrics(np.array(y), np.array(s), curves=True)}

# Generated: 5,000 frames, 10 % positive, float32 scores (almost no ties).
r = mulberry32(11)
y, s = [], []
for _ in range(5000):
    y.append(1 if r() < 0.1 else 0)
    s.append(float(np.float32(r())))
cases['float32'] = {'seed': 11, 'n': 5000, **all_metrics(np.array(y), np.array(s, dtype=np.float32))}


def clip_scores(seed, clip_counts):
    r = mulberry32(seed)
    return [np.array([np.float32(r()) for _ in range(n)], dtype=np.float32) for n in clip_counts]


def real_case(names, labels, normal, seed, classes=None, threshold=0.5):
    lens = [len(l) for l in labels]
    clips = clip_scores(seed, [n // 16 for n in lens])
    frame = [np.repeat(c, 16)[:n] for c, n in zip(clips, lens)]
    y = np.concatenate(labels).astype(np.int64)
    s = np.concatenate(frame).astype(np.float64)
    normal_s = np.concatenate([f for f, nm in zip(frame, normal) if nm]).astype(np.float64)
    out = {
        'seed': seed,
        'videos': len(names),
        'frames': int(len(y)),
        'anomalousFrames': int(y.sum()),
        **all_metrics(y, s),
        'far': float(np.mean(normal_s > threshold)),
        'scoreGap': float(s[y == 1].mean() - s[y == 0].mean()),
    }
    if classes is not None:
        per = {}
        for c in sorted(set(c for c in classes if c != 'Normal')):
            idx = [i for i, k in enumerate(classes) if k == c] + [i for i, k in enumerate(classes) if k == 'Normal']
            yy = np.concatenate([labels[i] for i in idx])
            ss = np.concatenate([frame[i] for i in idx]).astype(np.float64)
            fpr, tpr, _ = metrics.roc_curve(yy, ss)
            per[c] = float(metrics.auc(fpr, tpr))
        out['perClassAuc'] = per
    return out


# UCF-Crime test set: official annotation, MIST frame counts, MIST convention [s, e) (and
# the inclusive one), truncated to whole 16-frame clips, videos in annotation order.
ucf = os.path.join(shared, 'ucf-crime')
if os.path.isdir(ucf):
    counts = {}
    for line in open(os.path.join(ucf, 'mist_official', 'Temporal_Anomaly_Annotation_New.txt')):
        p = line.split()
        if p:
            counts[p[0]] = int(p[6])
    for conv, extra in (('mist', 0), ('inclusive', 1)):
        names, labels, classes = [], [], []
        for line in open(os.path.join(ucf, 'official', 'Temporal_Anomaly_Annotation_for_Testing_Videos.txt')):
            p = line.split()
            if not p:
                continue
            n = counts[p[0]] // 16 * 16
            lab = np.zeros(n, dtype=np.uint8)
            for a, b in ((int(p[2]), int(p[3])), (int(p[4]), int(p[5]))):
                if a >= 0:
                    lab[a:min(b + extra, n)] = 1
            names.append(p[0][:-4])
            labels.append(lab)
            classes.append(p[1])
        cases['ucf-crime-' + conv] = real_case(names, labels, [c == 'Normal' for c in classes], 2021, classes)

# ShanghaiTech test set: masks of the anomalous videos, SH_Test_NEW.txt counts of the others.
sht = os.path.join(shared, 'shanghaitech')
if os.path.isdir(sht):
    names, labels, normal = [], [], []
    for line in open(os.path.join(sht, 'mist_official', 'SH_Test_NEW.txt')):
        p = line.strip().split(',')
        if len(p) < 3:
            continue
        if p[1] == '1':
            m = np.load(os.path.join(sht, 'test_frame_mask', p[0] + '.npy')).astype(np.uint8)
        else:
            m = np.zeros(int(p[2]), dtype=np.uint8)
        names.append(p[0])
        labels.append(m[: len(m) // 16 * 16])
        normal.append(p[1] == '0')
    cases['shanghaitech'] = real_case(names, labels, normal, 2022)

# XD-Violence test set: the 800 per-video label files, in sorted file-name order.
xd = os.path.join(shared, 'xd-violence', 'pel4vad_xd-gt')
if os.path.isdir(xd):
    files = sorted(f for f in os.listdir(xd) if f.endswith('.npy'))
    labels = [np.load(os.path.join(xd, f)).astype(np.uint8) for f in files]
    names = [f[: -len('__0.npy')] for f in files]
    cases['xd-violence'] = real_case(names, labels, [n.endswith('_label_A') for n in names], 2023)

doc = {
    'generator': 'test/reference/sklearn_metrics.py',
    'sklearn': sklearn.__version__,
    'numpy': np.__version__,
    'cases': cases,
}
with open(os.path.join(here, 'sklearn-metrics.json'), 'w') as f:
    json.dump(doc, f, indent=1)
print('wrote', len(cases), 'cases:', ', '.join(cases))
