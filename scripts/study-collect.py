#!/usr/bin/env python3
"""Gathers the tokenizer study (scripts/study.sh) into a model card.

    scripts/study-collect.py STUDY_DIR MODEL_DIR [NOTE]

Reads STUDY_DIR/<variant>/model/model.json, writes the "study" object into metrics.study of MODEL_DIR/model.json and
prints a Markdown table (for the model's README). Findings are computed from the measured values,
never typed in.
"""
import json
import re
import sys
from pathlib import Path

study_dir, model_dir = Path(sys.argv[1]), Path(sys.argv[2])
note = sys.argv[3] if len(sys.argv) > 3 else None  # how to read the study, kept with it in the card
ORDER = ["softvq-tau0.07", "hardvq", "autoencoder", "softvq-noalign", "softvq-tau0.01", "softvq-tau0.5",
         "softvq-tau2.0", "softvq-tokens8", "softvq-tokens16", "softvq-tokens64", "softvq-seed43"]
LOG_LINE = re.compile(r"^step (\d+)/\d+ .* rec ([0-9.]+) ")


def rec_curve(train_log):
    """Reconstruction MSE of the logged training windows at steps 500, 1000, ... (shows the photo plateau)."""
    if not train_log.exists():
        return None
    curve = {}
    for line in train_log.read_text().splitlines():
        m = LOG_LINE.match(line)
        if m and int(m.group(1)) % 500 == 0:
            curve[m.group(1)] = float(m.group(2))
    return curve or None


variants = {}
for card_file in sorted(study_dir.glob("*/model/model.json"),
                        key=lambda f: (ORDER + [f.parent.parent.name]).index(f.parent.parent.name)):
    card = json.loads(card_file.read_text())
    m, c, t = card["metrics"], card["config"], card["training"]
    name = card_file.parent.parent.name
    variants[name] = {
        "quantizer": c["quantizer"], "tau": c["tau"], "tokens": c["tokens"], "align": t["align"],
        "psnr": round(m["psnr"], 3), "ssim": round(m["ssim"], 4),
        "psnr_raw": m["psnr"], "psnr_fp16_raw": m["psnr_fp16_tokens"],
        "psnr_fp16_tokens": round(m["psnr_fp16_tokens"], 3),
        "linear_probe_accuracy": m.get("linear_probe_accuracy"),
        "token_bytes_fp16": m["token_bytes_per_image"]["fp16"],
        "jpeg_psnr_at_equal_bytes_fp16": round(m["jpeg_psnr_at_equal_bytes"]["fp16"], 2),
        "train_seconds": t["train_seconds_last_run"],
        "skipped_nonfinite_steps": t.get("skipped_nonfinite_steps_last_run"),
        "training_rec_mse_at_step": rec_curve(card_file.parent.parent / "train.log"),
    }
    if "psnr_by_detail" in m:
        variants[name]["mean_colour_psnr"] = round(m["mean_colour_psnr"], 3)
        variants[name]["psnr_by_detail"] = {
            k: round(b["psnr"], 3) for k, b in m["psnr_by_detail"].items()}
if not variants:
    sys.exit(f"no finished variants under {study_dir}")
any_card = json.loads(next(study_dir.glob("*/model/model.json")).read_text())["training"]
photos = any_card.get("dataset") == "photos"


def diff(a, b, key):
    if a in variants and b in variants and variants[a][key] is not None and variants[b][key] is not None:
        return round(variants[a][key] - variants[b][key], 4)
    return None


base = "softvq-tau0.07"
findings = {
    "softvq_minus_hardvq_psnr_db": diff(base, "hardvq", "psnr"),
    "softvq_minus_autoencoder_psnr_db": diff(base, "autoencoder", "psnr"),
    "align_on_minus_off_probe_accuracy": diff(base, "softvq-noalign", "linear_probe_accuracy"),
    "align_on_minus_off_psnr_db": diff(base, "softvq-noalign", "psnr"),
    "run_to_run_psnr_db": diff(base, "softvq-seed43", "psnr"),
    "fp16_cost_db_max": max(abs(v["psnr_raw"] - v["psnr_fp16_raw"]) for v in variants.values()),
}
for v in variants.values():
    v.pop("psnr_raw")
    v.pop("psnr_fp16_raw")
if photos:
    evaluated = "evaluated on the 1000 held-out crops (PyTorch engine, EMA weights)"
else:
    evaluated = "evaluated on the first 2000 held-out test images, probe fitted on 5000 training images"
study = {
    "budget": f"{any_card['steps']} steps x {any_card['batch_size']} images each, seed {any_card['seed']}, "
              f"same architecture as the shipped model, {any_card['optimizer']}, EMA {any_card['ema_decay']}, "
              f"one CPU thread each; {evaluated}",
    "command": f"scripts/study.sh {any_card.get('dataset', 'fashion-mnist')} OUT {any_card['steps']} 2 "
               f"{any_card['batch_size']} && scripts/study-collect.py OUT {model_dir}",
    "variants": variants,
    "findings": findings,
}
if note:
    study["note"] = note
card_path = model_dir / "model.json"
card = json.loads(card_path.read_text())
previous = card["metrics"].get("study")
if previous and previous.get("budget") != study["budget"]:
    # A study under another budget or optimiser is kept under a name that says which.
    lr = next((w for w in previous["budget"].split(", ") if w.startswith("AdamW")), "AdamW peak lr 3e-4 cosine to 3e-5, as the shipped model")
    card["metrics"]["study_previous"] = dict(previous, note=previous.get("note", "earlier study, kept for comparison: " + lr))
card["metrics"]["study"] = study
card_path.write_text(json.dumps(card, indent=2) + "\n")

if photos:
    print("| variant | quantizer | tau | tokens | align | PSNR dB | SSIM | detail < 12.75 | < 25.5 | >= 25.5 | training MSE at 1000 / end | token bytes (fp16) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, v in variants.items():
        d, r = v["psnr_by_detail"], v["training_rec_mse_at_step"] or {}
        end = r[max(r, key=int)] if r else float("nan")
        print(f"| {name} | {v['quantizer']} | {v['tau']} | {v['tokens']} | {'on' if v['align'] else 'off'} | "
              f"{v['psnr']:.2f} | {v['ssim']:.3f} | {d['std<12.75']:.2f} | {d['std<25.5']:.2f} | {d['std>=25.5']:.2f} | "
              f"{r.get('1000', float('nan')):.4f} / {end:.4f} | {v['token_bytes_fp16']} |")
else:
    print("| variant | quantizer | tau | tokens | align | PSNR dB | SSIM | PSNR fp16 tokens | linear probe | token bytes (fp16) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, v in variants.items():
        probe = "-" if v["linear_probe_accuracy"] is None else f"{v['linear_probe_accuracy']:.3f}"
        print(f"| {name} | {v['quantizer']} | {v['tau']} | {v['tokens']} | {'on' if v['align'] else 'off'} | "
              f"{v['psnr']:.2f} | {v['ssim']:.3f} | {v['psnr_fp16_tokens']:.2f} | {probe} | {v['token_bytes_fp16']} |")
print()
print(json.dumps(findings, indent=2))
