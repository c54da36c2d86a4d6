#!/usr/bin/env python3
"""csv2c.py - compile carve's board and vGPU type tables (data/*.csv) into C.

Usage: csv2c.py --out-c catalog_data.c --out-h catalog_data.h FILE.csv...

Each CSV is recognised by its header, so adding a data file is one line in
src/model/meson.build:
  - boards     (gpu-boards.csv):          has a `vgpu_mechanism` column
  - NVIDIA     (nvidia-*-types.csv):      has `frl_config` and `mig_slices`
  - AMD MxGPU  (amd-mxgpu-types.csv):     has `vf_num`
  - Intel GVT  (intel-gvt-types.csv):     has `low_gm_mib`

The data is checked here rather than at run time: every type must name a
known board (by short name), type ids must be unique per board and model
names unique overall (carve_catalog_type_by_name relies on it), numbers must
fit their C fields.  Any problem stops the build with `file:line: message`.
Python 3 standard library only; output is deterministic (input order).
"""

import argparse
import csv
import os
import re
import sys

UINT8, UINT16, UINT32 = 0xFF, 0xFFFF, 0xFFFFFFFF


class DataError(Exception):
    pass


def fail(where, msg):
    raise DataError(f"{where}: {msg}")


def c_str(s):
    """A C string literal; anything outside printable ASCII is octal-escaped."""
    if s is None:
        return "NULL"
    out = []
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= ch < 0x7F and c != "?":  # '?' escaped: no trigraph surprises
            out.append(c)
        else:
            out.append(f"\\{ch:03o}")
    return '"' + "".join(out) + '"'


def num(where, field, text, maximum, empty=None):
    text = (text or "").strip()
    if text == "":
        if empty is None:
            fail(where, f"missing value for {field}")
        return empty
    if not re.fullmatch(r"[0-9]+", text):
        fail(where, f"bad number {text!r} for {field}")
    v = int(text)
    if v > maximum:
        fail(where, f"{field} {v} out of range (max {maximum})")
    return v


def hex16(where, field, text, empty=None):
    text = (text or "").strip().lower()
    if text == "":
        if empty is None:
            fail(where, f"missing value for {field}")
        return empty
    if not re.fullmatch(r"(0x)?[0-9a-f]{1,4}", text):
        fail(where, f"bad PCI id {text!r} for {field}")
    return int(text, 16)


def boolean(where, field, text):
    t = (text or "").strip().lower()
    if t in ("true", "yes", "1"):
        return True
    if t in ("false", "no", "0", ""):
        return False
    fail(where, f"bad boolean {text!r} for {field}")


def resolution(where, text):
    m = re.fullmatch(r"([0-9]{1,5})x([0-9]{1,5})", (text or "").strip())
    if not m:
        fail(where, f"bad max_resolution {text!r}")
    return int(m.group(1)), int(m.group(2))


def series(where, text):
    t = (text or "").strip()
    if t not in ("", "A", "B", "C", "Q"):
        fail(where, f"bad series {text!r} (A, B, C, Q or empty)")
    return t


# --- boards ---------------------------------------------------------------

# Free-text mechanism -> (impl, sriov, mixed_size).  First matching prefix wins.
# K1/K2 ("xen-only") were XenServer-era boards; carve models them as mdev so
# fixtures can exercise them.  NVIDIA's SR-IOV boards (both the mdev-on-VF and
# the vendor-VFIO flavour) and GVT-g can run different sizes side by side
# (NVIDIA's "mixed-size mode"); the rest are homogeneous per physical GPU.
MECHANISMS = [
    ("nvidia-mdev", "CARVE_IMPL_NVIDIA_MDEV", False, False),
    ("xen-only", "CARVE_IMPL_NVIDIA_MDEV", False, False),
    ("sriov-mdev", "CARVE_IMPL_NVIDIA_MDEV", True, True),
    ("sriov-vendor-vfio", "CARVE_IMPL_NVIDIA_SRIOV", True, True),
    ("amd-mxgpu", "CARVE_IMPL_AMD_MXGPU", True, False),
    ("intel-gvt-g", "CARVE_IMPL_GVT_G", False, True),
    ("none", "CARVE_IMPL_PASSTHROUGH", False, False),
]

# Marketing prefixes dropped to get the short name that type CSVs use.
VENDOR_WORDS = {"GRID", "Tesla", "NVIDIA", "AMD", "FirePro", "Intel", "Matrox", "ASPEED"}
SHORT_NAME_OVERRIDES = {"Intel HD Graphics 630": "HD630", "Tesla V100 SXM2 16GB": "V100X"}


def mechanism(where, text):
    t = (text or "").strip().lower()
    for prefix, impl, sriov, mixed in MECHANISMS:
        if t.startswith(prefix):
            return impl, sriov, mixed
    fail(where, f"unknown vgpu_mechanism {text!r}")


def short_name(name):
    """"Tesla P40" -> "P40", "NVIDIA A100 PCIe 40GB" -> "A100",
    "ASPEED AST2500 (BMC)" -> "AST2500", "Intel HD Graphics 630" -> "HD630"."""
    if name in SHORT_NAME_OVERRIDES:
        return SHORT_NAME_OVERRIDES[name]
    words = [w for w in re.sub(r"\(.*?\)", " ", name).split() if w not in VENDOR_WORDS]
    return words[0] if words else name


def read_boards(path, rows):
    boards = []
    for where, r in rows:
        name = (r.get("board") or "").strip()
        if not name:
            fail(where, "empty board name")
        impl, sriov, mixed = mechanism(where, r.get("vgpu_mechanism"))
        fb_gib = num(where, "fb_gib_per_gpu", r.get("fb_gib_per_gpu"), UINT32 // 1024, empty=0)
        boards.append({
            "where": where,
            "name": name,
            "short": short_name(name),
            "vendor": hex16(where, "vendor_id", r.get("vendor_id")),
            "device": hex16(where, "device_id", r.get("device_id")),
            "vf_device": hex16(where, "vf_device_id", r.get("vf_device_id"), empty=0),
            "gpus": num(where, "gpus_per_board", r.get("gpus_per_board"), UINT8),
            "fb_mib": fb_gib * 1024,
            "arch": (r.get("architecture") or "").strip() or None,
            "impl": impl,
            "sriov": sriov,
            "mixed": mixed,
        })
    seen = {}
    for b in boards:
        for key in (b["name"].lower(), b["short"].lower()):
            if key in seen and seen[key] is not b:
                fail(b["where"], f"board name {key!r} also used at {seen[key]['where']}")
            seen[key] = b
    ids = {}
    for b in boards:
        k = (b["vendor"], b["device"])
        if k in ids:
            fail(b["where"], f"PCI id {k[0]:04x}:{k[1]:04x} also used at {ids[k]['where']}")
        ids[k] = b
    return boards


# --- types ----------------------------------------------------------------

def blank_type(where, r):
    type_id = (r.get("type_id") or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", type_id):
        fail(where, f"bad type_id {type_id!r}")
    name = (r.get("name") or "").strip()
    if not name or len(name) > 127:
        fail(where, f"bad name {name!r}")
    return {
        "where": where, "type_id": type_id, "name": name, "board": (r.get("board") or "").strip(),
        "fb": 0, "heads": 0, "rx": 0, "ry": 0, "frl": 0, "max": 0, "cuda": False, "multi": False,
        "series": "", "mig": 0, "low_gm": 0, "high_gm": 0, "fence": 0, "weight": 0,
    }


def read_nvidia(where, r):
    t = blank_type(where, r)
    t["fb"] = num(where, "framebuffer_mib", r.get("framebuffer_mib"), UINT32)
    t["heads"] = num(where, "num_heads", r.get("num_heads"), UINT32)
    t["rx"], t["ry"] = resolution(where, r.get("max_resolution"))
    t["frl"] = num(where, "frl_config", r.get("frl_config"), UINT32)
    t["cuda"] = boolean(where, "cuda", r.get("cuda"))
    t["multi"] = boolean(where, "multi_vgpu", r.get("multi_vgpu"))
    t["max"] = num(where, "max_instance", r.get("max_instance"), UINT32)
    t["series"] = series(where, r.get("series"))
    t["mig"] = num(where, "mig_slices", r.get("mig_slices"), UINT8, empty=0)
    return t


def read_amd(where, r):
    # One type per gim vf_num setting: every VF gets an equal framebuffer share.
    t = blank_type(where, r)
    t["fb"] = num(where, "framebuffer_mib", r.get("framebuffer_mib"), UINT32)
    t["heads"] = num(where, "num_heads", r.get("num_heads"), UINT32)
    t["rx"], t["ry"] = resolution(where, r.get("max_resolution"))
    t["max"] = num(where, "vf_num", r.get("vf_num"), UINT32)
    return t


def read_gvt(where, r):
    # The guest-visible framebuffer of a GVT-g vGPU is its aperture (low GM).
    t = blank_type(where, r)
    t["low_gm"] = num(where, "low_gm_mib", r.get("low_gm_mib"), UINT32)
    t["high_gm"] = num(where, "high_gm_mib", r.get("high_gm_mib"), UINT32)
    t["fence"] = num(where, "fence", r.get("fence"), UINT32)
    t["weight"] = num(where, "weight", r.get("weight"), UINT32)
    t["fb"] = t["low_gm"]
    t["heads"] = 1
    t["rx"], t["ry"] = resolution(where, r.get("max_resolution"))
    t["max"] = num(where, "max_instance", r.get("max_instance"), UINT32)
    return t


def kind_of(path, header):
    cols = set(header)
    if "vgpu_mechanism" in cols:
        return "boards"
    if "low_gm_mib" in cols:
        return read_gvt
    if "vf_num" in cols:
        return read_amd
    if "frl_config" in cols and "mig_slices" in cols:
        return read_nvidia
    fail(path, f"unrecognised CSV header {header}")


def load(path):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            fail(path, "empty file")
        kind = kind_of(path, reader.fieldnames)
        rows = []
        for r in reader:
            if None in r:
                fail(f"{os.path.basename(path)}:{reader.line_num}", "too many columns")
            if not any((v or "").strip() for v in r.values()):
                continue
            rows.append((f"{os.path.basename(path)}:{reader.line_num}", r))
        return kind, rows


def check_types(boards, types):
    by_short = {b["short"]: b for b in boards}
    ids, names = {}, {}
    for t in types:
        if t["board"] not in by_short:
            fail(t["where"], f"unknown board {t['board']!r} (short names: {', '.join(sorted(by_short))})")
        if t["max"] == 0:
            fail(t["where"], "max_instance must be at least 1")
        k = (t["board"], t["type_id"])
        if k in ids:
            fail(t["where"], f"type {t['type_id']} repeated for board {t['board']} (first at {ids[k]['where']})")
        ids[k] = t
        n = t["name"].lower()
        if n in names:
            fail(t["where"], f"type name {t['name']!r} also used at {names[n]['where']}")
        names[n] = t


# --- output ---------------------------------------------------------------

HEADER = """/* Generated by scripts/csv2c.py from the CSV files in data/ - do not edit. */
#pragma once

#include <stddef.h>

#include "model/catalog.h"

/* The types of boards[i], in CSV order (n == 0 when the board has none). */
struct carve_catalog_board_types {
	const struct carve_type_entry *const *types;
	size_t n;
};

extern const struct carve_board carve_catalog_boards[];
extern const struct carve_catalog_board_types carve_catalog_board_types[];
extern const size_t carve_catalog_nboards;
extern const struct carve_type_entry carve_catalog_type_table[];
extern const size_t carve_catalog_ntypes;
"""


def b2c(v):
    return "true" if v else "false"


def emit_c(boards, types, header_name):
    out = [f"/* Generated by scripts/csv2c.py from the CSV files in data/ - do not edit. */",
           f'#include "{header_name}"', "", "#include <stdbool.h>", ""]
    out.append("const struct carve_board carve_catalog_boards[] = {")
    for b in boards:
        out.append(
            f"\t{{.name = {c_str(b['name'])}, .short_name = {c_str(b['short'])}, "
            f".vendor_id = 0x{b['vendor']:04x}, .device_id = 0x{b['device']:04x}, "
            f".vf_device_id = 0x{b['vf_device']:04x}, .gpus_per_board = {b['gpus']}, "
            f".fb_mib_per_gpu = {b['fb_mib']}, .architecture = {c_str(b['arch'])}, "
            f".mechanism = {b['impl']}, .sriov = {b2c(b['sriov'])}, .mixed_size = {b2c(b['mixed'])}}},")
    out += ["};", f"const size_t carve_catalog_nboards = {len(boards)};", ""]

    out.append("const struct carve_type_entry carve_catalog_type_table[] = {")
    for t in types:
        series_c = f"'{t['series']}'" if t["series"] else "0"
        out.append(
            f"\t{{.type_id = {c_str(t['type_id'])}, .name = {c_str(t['name'])}, .board = {c_str(t['board'])}, "
            f".framebuffer_mib = {t['fb']}, .num_heads = {t['heads']}, .max_res_x = {t['rx']}, "
            f".max_res_y = {t['ry']}, .frl_config = {t['frl']}, .max_instance = {t['max']}, "
            f".cuda = {b2c(t['cuda'])}, .multi_vgpu = {b2c(t['multi'])}, .series = {series_c}, "
            f".mig_slices = {t['mig']}, .low_gm_mib = {t['low_gm']}, .high_gm_mib = {t['high_gm']}, "
            f".fence = {t['fence']}, .weight = {t['weight']}}},")
    if not types:
        out.append("\t{0},")
    out += ["};", f"const size_t carve_catalog_ntypes = {len(types)};", ""]

    index = {id(t): i for i, t in enumerate(types)}
    for bi, b in enumerate(boards):
        mine = [t for t in types if t["board"] == b["short"]]
        if mine:
            out.append(f"static const struct carve_type_entry *const board_{bi}_types[] = {{")
            out += [f"\t&carve_catalog_type_table[{index[id(t)]}], /* {t['name']} */" for t in mine]
            out.append("};")
    out.append("")
    out.append("const struct carve_catalog_board_types carve_catalog_board_types[] = {")
    for bi, b in enumerate(boards):
        n = sum(1 for t in types if t["board"] == b["short"])
        arr = f"board_{bi}_types" if n else "NULL"
        out.append(f"\t{{{arr}, {n}}}, /* {b['short']} */")
    out += ["};", ""]
    return "\n".join(out)


def write(path, text):
    # Write then rename, so an interrupted build never leaves half a table.
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-c", required=True)
    ap.add_argument("--out-h", required=True)
    ap.add_argument("csv", nargs="+")
    args = ap.parse_args(argv)
    try:
        boards, types = None, []
        for path in args.csv:
            kind, rows = load(path)
            if kind == "boards":
                if boards is not None:
                    fail(path, "a second boards file")
                boards = read_boards(path, rows)
            else:
                types += [kind(where, r) for where, r in rows]
        if boards is None:
            fail("csv2c", "no boards file (gpu-boards.csv) given")
        check_types(boards, types)
    except (DataError, OSError, csv.Error) as e:
        print(f"csv2c: {e}", file=sys.stderr)
        return 1
    write(args.out_h, HEADER)
    write(args.out_c, emit_c(boards, types, os.path.basename(args.out_h)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
