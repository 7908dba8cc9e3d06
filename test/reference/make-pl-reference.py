# Recipe for official-pl-reference.json and the tiny pickle fixtures pickle-p{2,3,4}.npy.
# Run from the repository root with ../shared/data beside it:
#   python3 test/reference/make-pl-reference.py
# official-pl-reference.json: for each of the MIST authors' files, what numpy reports after
# np.load(allow_pickle=True).item(): every key in file order with its length and dtype, and
# for a few videos the first three values, the last value and the float64 sum (repr, exact).
# pickle-p{2,3,4}.npy: a 0-d object array holding a small dict, written with pickle
# protocols 2, 3 (np.save's own) and 4, to test the unpickler on each protocol's opcodes.
import io, json, os, pickle
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
base = os.path.join(here, '..', '..', '..', 'shared', 'data', 'shanghaitech', 'mist_official')
out = {"numpy": np.__version__, "files": {}}
for f in ("SHT_I3D_PLs.npy", "SHT_C3D_PLs.npy"):
    d = np.load(os.path.join(base, f), allow_pickle=True).item()
    keys = list(d)
    entry = {"count": len(keys), "keys": keys, "lengths": [int(d[k].shape[0]) for k in keys],
             "dtypes": sorted({str(d[k].dtype) for k in keys}), "samples": {}}
    for k in ("01_0014.npy", "01_002.npy", "13_007.npy", keys[100]):
        a = d[k]
        entry["samples"][k] = {"first": [float(x) for x in a[:3]], "last": float(a[-1]),
                               "sum": float(a.sum()), "min": float(a.min()), "max": float(a.max())}
    out["files"][f] = entry
with open(os.path.join(here, "official-pl-reference.json"), "w") as fh:
    json.dump(out, fh, separators=(",", ":"))

tiny = {"a.npy": np.array([0.1, 0.25, -3.5], dtype=np.float64),
        "b": np.array([1.5, 2.5], dtype=np.float32),
        "empty": np.zeros(0, dtype=np.float64),
        "big": np.array([1, -2, 70000, 2**40], dtype=np.int64),
        "be": np.array([1.0, -2.0], dtype=">f8"),
        "mat": np.arange(6, dtype=np.float32).reshape(2, 3),
        "list": [1, 2**31, -(2**70)],
        "text": "héllo"}
obj = np.empty((), dtype=object)
obj[()] = tiny
for proto in (2, 3, 4):
    buf = io.BytesIO()
    # The npy header from np.save, then the pickle of the chosen protocol.
    np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(obj))
    pickle.dump(obj, buf, protocol=proto)
    with open(os.path.join(here, f"pickle-p{proto}.npy"), "wb") as fh:
        fh.write(buf.getvalue())
    back = np.load(os.path.join(here, f"pickle-p{proto}.npy"), allow_pickle=True).item()
    assert back.keys() == tiny.keys()
print("wrote official-pl-reference.json and pickle-p2/3/4.npy")
