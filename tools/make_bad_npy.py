#!/usr/bin/env python3
"""Writes one good and one bad .npy per failure class that melon's strict reader
(src/mel/npy.cpp) must reject, for manual checks:

    /usr/bin/python3 tools/make_bad_npy.py /tmp/bad_npy
    for f in /tmp/bad_npy/*.npy; do melon ... $f; done

Each file name says what is wrong with it; good_*.npy must load.
"""
import os
import struct
import sys

import numpy as np
import numpy.lib.format as fmt


def raw(dict_text, payload, major=1, minor=0, header_len=None):
    """An .npy laid out as numpy does, with a hand-written header dict."""
    pre = 10 if major == 1 else 12
    total = pre + len(dict_text) + 1
    header = dict_text + " " * ((total + 63) // 64 * 64 - total) + "\n"
    n = len(header) if header_len is None else header_len
    length = struct.pack("<H", n) if major == 1 else struct.pack("<I", n)
    return b"\x93NUMPY" + bytes([major, minor]) + length + header.encode("latin1") + payload


def d(descr="<f4", shape="(48, 10)", fortran="False"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bad_npy"
    os.makedirs(out, exist_ok=True)
    x = (np.random.RandomState(0).randn(48, 10) * 20 - 40).astype("<f4")
    x[0, 0], x[0, 1] = -np.inf, np.nan
    p = lambda name: os.path.join(out, name)

    np.save(p("good_f4.npy"), x)
    np.save(p("good_f2.npy"), x.astype("<f2"))
    for v in [(2, 0), (3, 0)]:
        with open(p("good_v%d.npy" % v[0]), "wb") as f:
            fmt.write_array(f, x, version=v)

    np.save(p("bad_dtype_f8.npy"), x.astype("<f8"))
    np.save(p("bad_dtype_be_f4.npy"), x.astype(">f4"))
    np.save(p("bad_dtype_i4.npy"), np.arange(480, dtype="<i4").reshape(48, 10))
    np.save(p("bad_fortran_order.npy"), np.asfortranarray(x))
    np.save(p("bad_shape_rank1.npy"), x.ravel())
    np.save(p("bad_shape_rank3.npy"), x.reshape(48, 5, 2))
    np.save(p("bad_shape_47_bands.npy"), x[:47])
    np.save(p("bad_shape_0_frames.npy"), x[:, :0])

    payload = x.tobytes()
    files = {
        "bad_magic.npy": b"\x93NUMPX" + raw(d(), payload)[6:],
        "bad_empty.npy": b"",
        "bad_version_4.npy": raw(d(), payload, major=4),
        "bad_version_1_1.npy": raw(d(), payload, minor=1),
        "bad_header_not_a_dict.npy": raw("[1, 2, 3]", payload),
        "bad_header_extra_key.npy": raw(d()[:-1] + "'x': 1}", payload),
        "bad_header_missing_key.npy": raw("{'descr': '<f4', 'shape': (48, 10)}", payload),
        "bad_header_unterminated.npy": raw("{'descr': '<f4", payload),
        "bad_truncated_payload.npy": raw(d(), payload[:-3]),
        "bad_trailing_bytes.npy": raw(d(), payload + b"x"),
        "bad_header_len_ffffffff_v2.npy": raw(d(), payload, major=2, header_len=0xFFFFFFFF),
        "bad_header_len_past_eof.npy": raw(d(), b"", header_len=0xFFF0),
        "bad_absurd_frames.npy": raw(d(shape="(48, 1000000000000)"), payload),
    }
    for name, data in files.items():
        with open(p(name), "wb") as f:
            f.write(data)

    for name in sorted(os.listdir(out)):
        try:
            a = np.load(p(name))
            what = "numpy loads %s %s" % (a.dtype.str, a.shape)
        except Exception as e:  # noqa: BLE001 - report whatever numpy says
            what = "numpy: %s" % str(e).splitlines()[0][:70]
        print("%-34s %s" % (name, what))


if __name__ == "__main__":
    main()
