#!/usr/bin/python3
"""Independent reference implementation of the Softstream tokenizer forward pass in plain torch.

It re-implements the encoder (ViT with appended latent tokens + soft/hard/no quantizer) and the
decoder (ViT over mask tokens + unpatchify) from the model's description in model/README.md. It
does NOT execute the ONNX graph: it only reads the weights, which are stored as initializers of
encoder.onnx / decoder.onnx under torch-style names (e.g. "block0.qkv.weight", Linear weights
[out, in]), and the architecture from model.json.

Usage:
  softvq_reference.py run   --model DIR --images px.f32 --batch B --out OUT [--decode-tokens tok.f32]
  softvq_reference.py bench --model DIR --batch 64 [--iters 20] [--threads 2]

Raw files are little-endian, row-major: images float32 [B, C, H, W], tokens float32 [B, N, d],
codes int64 [B, N]. "run" writes OUT/tokens.f32, OUT/codes.i64 and OUT/images.f32 (the decoder
applied to --decode-tokens when given, else to its own tokens), clamped to [-1, 1].
Needs Debian's python3-torch, python3-onnx and python3-numpy (call /usr/bin/python3).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

LN_EPS = 1e-6     # PreNormBlock LayerNorm epsilon
NORM_EPS = 1e-12  # F.normalize clamp, as Quantizer.l2normalize


def load_weights(path):
    model = onnx.load(path)
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}


def load_config(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        card = json.load(f)
    if card.get("format_version") != 1 or card.get("kind") != "tokenizer":
        raise SystemExit("%s: not a format_version 1 tokenizer directory" % model_dir)
    return card["config"]


def patchify(x, p):
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // p, p, w // p, p)
    x = torch.einsum("nchpwq->nhwpqc", x)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def unpatchify(y, p, c):
    b, n, _ = y.shape
    g = int(round(math.sqrt(n)))
    y = y.reshape(b, g, g, p, p, c)
    y = torch.einsum("nhwpqc->nchpwq", y)
    return y.reshape(b, c, g * p, g * p)


def block(x, w, pre, heads):
    b, t, d = x.shape
    hd = d // heads
    h = F.layer_norm(x, (d,), w[pre + "ln1.gamma"], w[pre + "ln1.beta"], LN_EPS)
    qkv = F.linear(h, w[pre + "qkv.weight"], w[pre + "qkv.bias"]).reshape(b, t, 3, heads, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd), dim=-1)
    o = (attn @ v).transpose(1, 2).reshape(b, t, d)
    x = x + F.linear(o, w[pre + "proj.weight"], w[pre + "proj.bias"])
    h = F.layer_norm(x, (d,), w[pre + "ln2.gamma"], w[pre + "ln2.beta"], LN_EPS)
    h = F.gelu(F.linear(h, w[pre + "fc1.weight"], w[pre + "fc1.bias"]))  # exact (erf) GELU
    return x + F.linear(h, w[pre + "fc2.weight"], w[pre + "fc2.bias"])


def quantize(z, w, cfg):
    """z [B, N, d] -> (zq [B, N, d], codes [B, N] int64)."""
    b, n, d = z.shape
    kind = cfg["quantizer"]
    if kind == "none":
        return z, torch.zeros(b, n, dtype=torch.int64)
    groups = cfg["num_codebooks"]
    per = n // groups
    zq = torch.empty_like(z)
    codes = torch.empty(b, n, dtype=torch.int64)
    for g in range(groups):
        # token group g (tokens g*per .. (g+1)*per-1) uses codebook g
        zg = F.normalize(z[:, g * per:(g + 1) * per, :], dim=-1, eps=NORM_EPS)
        cb = F.normalize(w["quantizer.codebook"][g], dim=-1, eps=NORM_EPS)  # [K, d]
        logits = zg @ cb.t()
        idx = logits.argmax(dim=-1)
        if kind == "softvq":
            zq[:, g * per:(g + 1) * per, :] = torch.softmax(logits / cfg["tau"], dim=-1) @ cb
        else:
            zq[:, g * per:(g + 1) * per, :] = cb[idx]
        codes[:, g * per:(g + 1) * per] = idx
    return zq, codes


def encode(images, w, cfg):
    p = cfg["patch_size"]
    npatch = (cfg["image_size"] // p) ** 2
    x = F.linear(patchify(images, p), w["patch_embed.weight"], w["patch_embed.bias"]) + w["pos_embed"]
    lat = (w["latent_tokens"] + w["latent_pos_embed"]).expand(images.shape[0], -1, -1)
    x = torch.cat([x, lat], dim=1)
    for i in range(cfg["enc_depth"]):
        x = block(x, w, "block%d." % i, cfg["enc_heads"])
    x = F.layer_norm(x, (x.shape[-1],), w["norm.gamma"], w["norm.beta"], LN_EPS)[:, npatch:, :]
    z = F.linear(x, w["to_code.weight"], w["to_code.bias"])
    return quantize(z, w, cfg)


def decode(tokens, w, cfg):
    p = cfg["patch_size"]
    npatch = (cfg["image_size"] // p) ** 2
    m = (w["mask_token"] + w["pos_embed"]).expand(tokens.shape[0], -1, -1)
    lat = F.linear(tokens, w["latent_proj.weight"], w["latent_proj.bias"]) + w["latent_pos_embed"]
    x = torch.cat([m, lat], dim=1)
    for i in range(cfg["dec_depth"]):
        x = block(x, w, "block%d." % i, cfg["dec_heads"])
    x = F.layer_norm(x, (x.shape[-1],), w["norm.gamma"], w["norm.beta"], LN_EPS)[:, :npatch, :]
    y = F.linear(x, w["to_pixel.weight"], w["to_pixel.bias"])
    return unpatchify(y, p, cfg["channels"]).clamp(-1.0, 1.0)


def read_raw(path, dtype, shape):
    a = np.fromfile(path, dtype=dtype)
    expected = int(np.prod(shape))
    if a.size != expected:
        raise SystemExit("%s holds %d values; expected %d for shape %s" % (path, a.size, expected, shape))
    return torch.from_numpy(a.reshape(shape))


def cmd_run(args):
    cfg = load_config(args.model)
    c, s, n, d = cfg["channels"], cfg["image_size"], cfg["tokens"], cfg["code_dim"]
    enc_w = load_weights(os.path.join(args.model, "encoder.onnx"))
    dec_w = load_weights(os.path.join(args.model, "decoder.onnx"))
    images = read_raw(args.images, "<f4", (args.batch, c, s, s))
    os.makedirs(args.out, exist_ok=True)
    with torch.no_grad():
        tokens, codes = encode(images, enc_w, cfg)
        src = read_raw(args.decode_tokens, "<f4", (args.batch, n, d)) if args.decode_tokens else tokens
        pixels = decode(src, dec_w, cfg)
    tokens.numpy().astype("<f4").tofile(os.path.join(args.out, "tokens.f32"))
    codes.numpy().astype("<i8").tofile(os.path.join(args.out, "codes.i64"))
    pixels.numpy().astype("<f4").tofile(os.path.join(args.out, "images.f32"))


def cmd_bench(args):
    torch.set_num_threads(args.threads)
    cfg = load_config(args.model)
    w = load_weights(os.path.join(args.model, "encoder.onnx"))
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch, cfg["channels"], cfg["image_size"], cfg["image_size"], generator=gen) * 2 - 1
    with torch.no_grad():
        for _ in range(args.warmup):
            encode(images, w, cfg)
        t0 = time.perf_counter()
        for _ in range(args.iters):
            encode(images, w, cfg)
        dt = time.perf_counter() - t0
    result = {"engine": "torch-reference", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "batch": args.batch, "iters": args.iters, "seconds": round(dt, 4),
              "images_per_s": round(args.batch * args.iters / dt, 2)}
    print(json.dumps(result))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="encode raw images (and decode) to raw files")
    r.add_argument("--model", required=True)
    r.add_argument("--images", required=True)
    r.add_argument("--batch", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--decode-tokens", help="decode these tokens instead of the encoder's own")
    b = sub.add_parser("bench", help="encoder images/s at one batch size")
    b.add_argument("--model", required=True)
    b.add_argument("--batch", type=int, default=64)
    b.add_argument("--iters", type=int, default=20)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--threads", type=int, default=2)
    # "--bench" as a flag is accepted too: softvq_reference.py --bench --model DIR --batch 64
    if argv and argv[0] == "--bench":
        argv = ["bench"] + argv[1:]
    args = ap.parse_args(argv)
    cmd_run(args) if args.cmd == "run" else cmd_bench(args)


if __name__ == "__main__":
    main(sys.argv[1:])
