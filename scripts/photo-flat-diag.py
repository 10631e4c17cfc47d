#!/usr/bin/env python3
"""Where a photo tokenizer's error on near-flat crops comes from (issue 21; docs/photo-flat-regions.md).

    .cache/python-venv/bin/python scripts/photo-flat-diag.py MODEL_DIR PICTURE_DIR...

Needs the model's ONNX files (softstream export) and onnxruntime, numpy, PIL (the venv of install-deps.sh test).
Per picture folder: 600 random multi-scale 64x64 crops (PIL box filter, alpha over mid grey, as PhotoCrops), and
per detail bucket the MSE split into the crop's colour offset, 8x8 patch means (blockiness), and texture inside
patches (with the part repeated in every patch: a fixed pattern of the pixel projection). Then 729 flat colours
(9 levels per channel) through the model: is a colour reproduced when the pictures never had it?
"""
import glob, sys
import numpy as np, onnxruntime as ort
from PIL import Image

Image.MAX_IMAGE_PIXELS = None

model = sys.argv[1]; srcs = sys.argv[2:]
so = ort.SessionOptions(); so.intra_op_num_threads = 1
enc = ort.InferenceSession(model + '/encoder.onnx', so); dec = ort.InferenceSession(model + '/decoder.onnx', so)
def load(p):
    im = Image.open(p)
    if im.mode in ('RGBA', 'LA', 'P'):
        im = im.convert('RGBA'); bg = Image.new('RGBA', im.size, (128, 128, 128, 255)); im = Image.alpha_composite(bg, im)
    return im.convert('RGB')
def crops(files, n, seed):
    r = np.random.default_rng(seed); out = []
    per = max(1, n // len(files))
    for f in files:
        try: im = load(f)
        except Exception as e: continue
        w, h = im.size; hi = max(64, min(512, min(w, h)))
        for _ in range(per):
            s = int(round(64 * np.exp(r.random() * np.log(hi / 64)))); s = max(64, min(hi, s))
            x0 = r.integers(0, w - s + 1); y0 = r.integers(0, h - s + 1)
            c = im.crop((x0, y0, x0 + s, y0 + s)).resize((64, 64), Image.BOX)
            out.append(np.asarray(c, np.float32).transpose(2, 0, 1) / 127.5 - 1)
    return np.stack(out)
def psnr(mse): return 10 * np.log10(255**2 / max(mse, 1e-10))
for src in srcs:
    files = sorted(f for f in glob.glob(src + '/**/*', recursive=True) if f.lower().endswith(('.jpg', '.jpeg', '.png', '.webp')))
    x = crops(files, 600, 7)
    tok = enc.run(None, {'images': x})[0]; raw = dec.run(None, {'tokens': tok})[0]
    X = np.round((x + 1) * 127.5); Y = np.round((np.clip(raw, -1, 1) + 1) * 127.5); Yr = (raw + 1) * 127.5
    std = np.sqrt(((X - X.mean(axis=(2, 3), keepdims=True))**2).mean(axis=(1, 2, 3)))
    flat = std < 5.1
    print(f'== {src}: {len(x)} crops, {flat.sum()} near-flat (std<5.1)')
    for name, sel in [('std<2.55', std < 2.55), ('std<5.1', (std >= 2.55) & (std < 5.1)), ('std<12.75', (std >= 5.1) & (std < 12.75)),
                      ('std<25.5', (std >= 12.75) & (std < 25.5)), ('std>=25.5', std >= 25.5)]:
        if sel.sum() == 0: continue
        Xs, Ys, Yrs = X[sel], Y[sel], Yr[sel]
        mse = ((Xs - Ys)**2).mean(axis=(1, 2, 3))
        meanc = ((Xs - Xs.mean(axis=(2, 3), keepdims=True))**2).mean(axis=(1, 2, 3))
        off = (Ys.mean(axis=(2, 3), keepdims=True) - Xs.mean(axis=(2, 3), keepdims=True))
        e_off = (off**2).mean(axis=(1, 2, 3))                                   # global colour offset
        R = Ys - Xs - off                                                        # residual after offset
        P = R.reshape(len(R), 3, 8, 8, 8, 8).mean(axis=(3, 5))                  # per 8x8-patch mean
        e_patchmean = (P**2).mean(axis=(1, 2, 3))                               # blockiness between patches
        W = R.reshape(len(R), 3, 8, 8, 8, 8) - P[:, :, :, None, :, None]
        e_within = (W**2).mean(axis=(1, 2, 3, 4, 5))                            # texture inside patches
        fixed = W.mean(axis=(2, 4))                                             # pattern repeated in every patch
        e_fixed = (fixed**2).mean(axis=(1, 2, 3))
        clip = ((Yrs < -0.5) | (Yrs > 255.5)).mean()
        print(f'  {name:9s} n={sel.sum():3d} psnr={np.mean([psnr(m) for m in mse]):.2f} meancol={np.mean([psnr(m) for m in meanc]):.2f} '
              f'| MSE {mse.mean():.2f} = offset {e_off.mean():.2f} + patch-means {e_patchmean.mean():.2f} + within-patch {e_within.mean():.2f} '
              f'(of which same-in-every-patch {e_fixed.mean():.2f}) | out-of-range px {clip:.3f} | mean |offset| per ch {np.abs(off).mean():.2f}')

# Flat colours across the RGB cube.
lv = np.array([0, 32, 64, 96, 128, 160, 192, 224, 255], np.float32)
cols = np.array([[r, g, b] for r in lv for g in lv for b in lv], np.float32)
x = np.repeat(np.repeat((cols / 127.5 - 1)[:, :, None, None], 64, 2), 64, 3).astype(np.float32)
y = dec.run(None, {'tokens': enc.run(None, {'images': x})[0]})[0]
Y = (np.clip(y, -1, 1) + 1) * 127.5
m = Y.mean(axis=(2, 3)); err = m - cols
mse = ((Y - cols[:, :, None, None])**2).mean(axis=(1, 2, 3))
ps = 10 * np.log10(255**2 / np.maximum(mse, 1e-10))
print(f'{model}: {len(cols)} flat colours: PSNR median {np.median(ps):.1f} min {ps.min():.1f}; |mean colour error| median {np.median(np.abs(err)):.1f} max {np.abs(err).max():.1f}')
grey = np.all(cols == cols[:, :1], axis=1); sat = (cols.max(1) - cols.min(1)) >= 192
print(f'  greys: PSNR {ps[grey].mean():.1f}; saturated (max-min>=192): PSNR {ps[sat].mean():.1f}; others {ps[~grey & ~sat].mean():.1f}')
for i in np.argsort(ps)[:6]: print('  worst', cols[i].astype(int), '->', m[i].round(0).astype(int), f'{ps[i]:.1f} dB')
