# Recipe for sampling-reference.json: the spec's sparse continuous sampling written directly
# with numpy (np.linspace, np.floor, Python's // and np.clip), for a grid of video lengths,
# sub-bag counts, sub-bag lengths and the smallest and largest legal shift.
# Run: python3 test/reference/make-sampling-reference.py > test/reference/sampling-reference.json
import json
import numpy as np

def sample(n, L, T, shift):
    starts = np.floor(np.linspace(0, n - T, L + 1)).astype(np.int64) + shift
    idx = (starts[:L, None] + np.arange(T)[None, :]).reshape(-1)
    return np.clip(idx, 0, n - 1)

cases = []
for L in (1, 3, 10, 32):
    for T in (1, 4, 7):
        for n in (1, 3, 7, 8, 20, 33, 100, 237, 1000):
            q = (n - T) // (L + 1)
            count = q if q >= 1 else 1
            for shift in sorted({0, count - 1}):
                cases.append({"n": n, "L": L, "T": T, "shift": shift, "shiftCount": count,
                              "indices": sample(n, L, T, shift).tolist()})
# numpy's linspace computes i * step with step rounded once, so floor can land one below the
# exact i * (n - T) / L: for L = 14 and n - T = 122, starts[7] is floor(60.99999999999999) = 60.
for n, L, T in ((129, 14, 7), (123, 14, 1), (237, 14, 7), (474 + 4, 14, 4)):
    q = (n - T) // (L + 1)
    count = q if q >= 1 else 1
    for shift in sorted({0, count - 1}):
        cases.append({"n": n, "L": L, "T": T, "shift": shift, "shiftCount": count,
                      "indices": sample(n, L, T, shift).tolist()})
print(json.dumps({"numpy": np.__version__, "cases": cases}, separators=(",", ":")))
