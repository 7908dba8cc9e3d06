#!/usr/bin/python3
# Writes the small numpy/h5py-made fixtures under test/fixtures/ that test/data-*.test.ts
# reads. They are produced by numpy and h5py (not by our own writer) so that the readers are
# checked against the reference implementations. Rerun (Debian: python3-numpy python3-h5py):
#   /usr/bin/python3 test/reference/make_fixtures.py
# The tests recompute the expected values from the same formulas (value = 1000*t + 10*k + d
# for element [t, k, d], or 10*t + d for [t, d]), so no numbers need copying back.
import os
import numpy as np
import h5py

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, '..', 'fixtures')
os.makedirs(out, exist_ok=True)

def td(T, D, dtype):
    t, d = np.meshgrid(np.arange(T), np.arange(D), indexing='ij')
    return (10 * t + d).astype(dtype)

def tkd(T, K, D, dtype):
    t, k, d = np.meshgrid(np.arange(T), np.arange(K), np.arange(D), indexing='ij')
    return (1000 * t + 10 * k + d).astype(dtype)

np.save(os.path.join(out, 'td_f32_c.npy'), td(5, 7, np.float32))
np.save(os.path.join(out, 'td_f64_fortran.npy'), np.asfortranarray(td(5, 7, np.float64)))
np.save(os.path.join(out, 'tkd_f32_fortran.npy'), np.asfortranarray(tkd(4, 10, 3, np.float32)))
np.save(os.path.join(out, 'tkd_f64_c.npy'), tkd(4, 10, 3, np.float64))
np.save(os.path.join(out, 'td_f32_bigendian.npy'), td(3, 4, '>f4'))
np.save(os.path.join(out, 'td_f16.npy'), td(3, 4, np.float16))
np.save(os.path.join(out, 'td_int64.npy'), td(3, 4, np.int64))
np.save(os.path.join(out, 'mask_u1.npy'), np.array([0, 0, 1, 1, 0], dtype=np.uint8))
np.save(os.path.join(out, 'complex.npy'), np.ones((2, 2), dtype=np.complex64))
np.save(os.path.join(out, 'object.npy'), np.array({'a': 1}, dtype=object), allow_pickle=True)
np.save(os.path.join(out, 'strings.npy'), np.array(['ab', 'cd']))
# Per-crop files as XD-Violence feature releases name them: <video>__<k>.npy, each [T, D].
os.makedirs(os.path.join(out, 'crops'), exist_ok=True)
for k in range(5):
    np.save(os.path.join(out, 'crops', 'vid.A__#1_label_A__%d.npy' % k), tkd(6, 5, 4, np.float32)[:, k, :])
# A video with a gap in its crops (0, 1, 3): an error case.
for k in (0, 1, 3):
    np.save(os.path.join(out, 'crops', 'gappy__%d.npy' % k), td(2, 4, np.float32))

# An HDF5 feature store as the MIST authors use it: one dataset per video, key '<video>.npy'.
with h5py.File(os.path.join(out, 'mist_store.h5'), 'w') as h:
    h.create_dataset('01_0014.npy', data=td(6, 8, np.float32))
    h.create_dataset('01_002.npy', data=tkd(4, 10, 3, np.float32), compression='gzip', chunks=True)
    h.create_dataset('Normal_Videos_006_x264.npy', data=td(3, 5, np.float64))
    h.create_dataset('labels.npy', data=np.arange(4, dtype=np.int32))
print('wrote fixtures to', os.path.normpath(out))
