#!/usr/bin/env python3
"""Gives the wasm's imports short names, and its JavaScript glue the same (make frontend).

wasm-bindgen names every import the wasm takes from its glue after the Rust item and a hash
(`__wbg_location_7320782274fc691b`), and writes each name twice: in the wasm's import section
and as a key of the glue's import object. Random hex compresses poorly, and the two copies are
in two files that gzip cannot share, so the names cost the download about 3.6 KB of its 80,000
(measured: 2.0 KB in the wasm, 1.6 KB in the glue). Binaryen's `minify-imports` only renames
imports of the `env` module, and wasm-bindgen's glue has its own, so this does the same for
the glue's module: each `__wbg_*` import whose key occurs exactly once in the glue (as `name:`,
which esbuild writes unquoted) gets a short name (`a`, `b`, ... `Z`, `aa`, ...), in the wasm and
in the glue. Nothing else changes: the imports keep their order, so no index moves. Anything
unexpected in the import section stops the build.

Usage: short-imports.py APP_bg.wasm APP.js   (both rewritten in place; prints how many)
"""
import sys


def read_leb(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def leb(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def short_name(n):
    """The n-th short name: a ... Z, aa, ab, ... (keys of an object literal, where even a keyword
    would do)."""
    name = ""
    n += 1
    while n:
        n -= 1
        name = LETTERS[n % len(LETTERS)] + name
        n //= len(LETTERS)
    return name


def skip_limits(data, at):
    flags, at = read_leb(data, at)
    _, at = read_leb(data, at)
    if flags & 1:
        _, at = read_leb(data, at)
    if flags & ~0x7:
        sys.exit(f"short-imports: limits flags {flags:#x} not understood")
    return at


def main():
    wasm_path, js_path = sys.argv[1], sys.argv[2]
    data = open(wasm_path, "rb").read()
    glue = open(js_path, encoding="utf-8").read()
    if data[:8] != b"\0asm\x01\0\0\0":
        sys.exit(f"short-imports: {wasm_path} is not a wasm module")
    out = bytearray(data[:8])
    renames = {}
    names = (short_name(n) for n in range(10**6))
    at = 8
    while at < len(data):
        section = data[at]
        size, start = read_leb(data, at + 1)
        end = start + size
        if section != 2:
            out += data[at:end]
            at = end
            continue
        count, k = read_leb(data, start)
        body = bytearray(leb(count))
        for _ in range(count):
            module_len, k = read_leb(data, k)
            module = data[k : k + module_len]
            k += module_len
            field_len, k = read_leb(data, k)
            field = data[k : k + field_len].decode("utf-8")
            k += field_len
            desc_start = k
            kind = data[k]
            k += 1
            if kind == 0:  # a function: its type index
                _, k = read_leb(data, k)
            elif kind == 1:  # a table: its element type, then limits
                k = skip_limits(data, k + 1)
            elif kind == 2:  # a memory: limits
                k = skip_limits(data, k)
            elif kind == 3:  # a global: value type, mutability
                k += 2
            else:
                sys.exit(f"short-imports: import kind {kind} of {field} not understood")
            name = field
            if field.startswith("__wbg_") and glue.count(field + ":") == 1:
                name = next(names)
                renames[field] = name
            encoded = name.encode("utf-8")
            body += leb(module_len) + module + leb(len(encoded)) + encoded + data[desc_start:k]
        if k != end:
            sys.exit("short-imports: the import section has bytes after its imports")
        out += bytes([2]) + leb(len(body)) + body
        at = end
    for field, name in renames.items():
        glue = glue.replace(field + ":", name + ":")
    open(wasm_path, "wb").write(out)
    open(js_path, "w", encoding="utf-8").write(glue)
    print(f"short-imports: {len(renames)} imports renamed")


main()
