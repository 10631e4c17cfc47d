"""The payload encodings of TokenRecord.tokens, in numpy: the same decoding as Java's
``io.softstream.schemas.tokens.TokenCodec``.

* ``fp32`` / ``fp16``: dense little-endian values (also records without ``encoding``: as ``dtype`` says).
* ``int8``: per token an FP16 scale, then ``token_dim`` signed bytes; value = byte * scale.
* ``int8u``: one signed byte a value at the fixed scale 1/127 (value = byte / 127), for latents in [-1, 1]
  (soft/hard VQ): ``N * d`` bytes, half of fp16.
* ``topk:K``: per token K pairs (code index of ``ceil(log2 codebook_size)`` bits, 8-bit weight q, w = q/255),
  bit-packed LSB first; the token is ``sum w * codeword`` over the L2-normalised codewords of its codebook.
* ``codes``: the argmax code index per token, bit-packed; the token is that unit codeword.

``topk`` and ``codes`` need the model's codebook: :func:`read_codebook` reads it from the model folder's
``encoder.onnx`` (initializer ``quantizer.codebook``), with no onnx package needed.
"""
import json
import os
import struct

import numpy as np


def parse_encoding(record):
    """The encoding of a TokenRecord (dict): ('fp16'|'fp32'|'int8'|'int8u'|'codes', 0) or ('topk', K)."""
    e = record.get("encoding")
    if e is None:
        return ("fp16" if record["dtype"] == "FP16" else "fp32"), 0
    e = e.strip().lower()
    if e in ("fp16", "fp32", "int8", "int8u", "codes"):
        return e, 0
    if e.startswith("topk:") and e[5:].isdigit() and 1 <= int(e[5:]) <= 64:
        return "topk", int(e[5:])
    raise ValueError("TokenRecord %s has unknown encoding %r" % (record.get("image_id"), e))


def index_bits(size):
    return max(1, int(size - 1).bit_length())


def payload_bytes(kind, k, n, d, codebook=None):
    if kind == "fp32":
        return n * d * 4
    if kind == "fp16":
        return n * d * 2
    if kind == "int8":
        return n * (d + 2)
    if kind == "int8u":
        return n * d
    bits = index_bits(codebook.shape[1])
    return (n * k * (bits + 8) + 7) // 8 if kind == "topk" else (n * bits + 7) // 8


def _unpack_bits(raw, widths, count):
    """``count`` repetitions of fields of ``widths`` bits, LSB first: int array [count, len(widths)]."""
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
    per = sum(widths)
    bits = bits[:count * per].reshape(count, per).astype(np.int64)
    out, at = [], 0
    for w in widths:
        out.append((bits[:, at:at + w] << np.arange(w)).sum(axis=1))
        at += w
    return np.stack(out, axis=1)


def decode_payload(raw, n, d, kind, k=0, codebook=None):
    """A payload as float32 ``[n, d]`` (fp16 stays float16). ``codebook``: normalised [G, K, d]."""
    if kind in ("topk", "codes") and codebook is None:
        raise ValueError("encoding %s needs the model's codebook: read_codebook(model_dir)"
                         % (kind if kind == "codes" else "topk:%d" % k))
    expected = payload_bytes(kind, k, n, d, codebook)
    if len(raw) != expected:
        raise ValueError("payload of %d bytes; %d tokens x %d dims in %s need %d"
                         % (len(raw), n, d, kind if kind != "topk" else "topk:%d" % k, expected))
    if kind == "fp32":
        return np.frombuffer(raw, dtype="<f4").reshape(n, d).astype(np.float32)
    if kind == "fp16":
        return np.frombuffer(raw, dtype="<f2").reshape(n, d).astype(np.float16)
    if kind == "int8":
        a = np.frombuffer(raw, dtype=np.uint8).reshape(n, d + 2)
        scale = a[:, :2].copy().view("<f2").astype(np.float32)  # [n, 1]
        return a[:, 2:].view(np.int8).astype(np.float32) * scale
    if kind == "int8u":
        return np.frombuffer(raw, dtype=np.int8).reshape(n, d).astype(np.float32) / np.float32(127)
    g, size, dim = codebook.shape
    if dim != d or n % g:
        raise ValueError("%d tokens x %d dims do not fit a codebook of %s" % (n, d, codebook.shape))
    bits = index_bits(size)
    per = k if kind == "topk" else 1
    widths = [bits, 8] * per if kind == "topk" else [bits]
    f = _unpack_bits(raw, widths, n)
    codes = f[:, 0::2] if kind == "topk" else f  # [n, per]
    weights = f[:, 1::2] / np.float32(255) if kind == "topk" else np.ones((n, 1), np.float32)
    if (codes >= size).any():
        raise ValueError("code index outside a codebook of %d" % size)
    group = (np.arange(n) // (n // g))[:, None]
    return (codebook[group, codes] * weights[:, :, None].astype(np.float32)).sum(axis=1).astype(np.float32)


def _fields(buf):
    """(field number, wire type, value) of a protobuf message; length-delimited values as memoryview."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wt)
        yield num, wt, v


def _varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def read_codebook(model_dir):
    """The L2-normalised codebook ``[G, K, d]`` float32 of a tokenizer folder, from its encoder.onnx."""
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
        cfg = json.load(f)["config"]
    if cfg.get("quantizer") == "none":
        raise ValueError("%s is a plain autoencoder (quantizer none): it has no codebook" % model_dir)
    path = os.path.join(model_dir, "encoder.onnx")
    with open(path, "rb") as f:
        buf = memoryview(f.read())
    for num, _, graph in _fields(buf):
        if num != 7:  # ModelProto.graph
            continue
        for gnum, _, tensor in _fields(graph):
            if gnum != 5:  # GraphProto.initializer
                continue
            name, raw, floats = None, None, []
            for tnum, twt, v in _fields(tensor):
                if tnum == 8:
                    name = bytes(v).decode("utf-8")
                elif tnum == 9:
                    raw = bytes(v)
                elif tnum == 4:
                    floats.extend(struct.unpack("<%df" % (len(v) // 4), bytes(v)))
            if name != "quantizer.codebook":
                continue
            c = np.frombuffer(raw, dtype="<f4") if raw is not None else np.asarray(floats, np.float32)
            c = c.astype(np.float32).reshape(cfg["num_codebooks"], cfg["codebook_size"], cfg["code_dim"])
            return c / np.maximum(np.linalg.norm(c, axis=-1, keepdims=True), np.float32(1e-12))
    raise ValueError("%s has no initializer quantizer.codebook" % path)
