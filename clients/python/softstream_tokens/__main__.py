"""python3 -m softstream_tokens: print TokenRecords from a topic, optionally decode them to image files.

    export BOOTSTRAP_SERVERS=localhost:9092 SCHEMA_REGISTRY_URL=http://localhost:8081
    python3 -m softstream_tokens --max 5                       # one line per record
    python3 -m softstream_tokens --max 5 --json                # one JSON object per record, tokens included
    python3 -m softstream_tokens --max 5 --decode models/softvq-fmnist-32-next --out out/py
"""
import argparse
import json
import os
import sys

import numpy as np

from .reader import TokenReader


def _save(path_base, img):
    """8-bit [H, W] or [H, W, C] image: PNG with Pillow, else binary PGM/PPM."""
    try:
        from PIL import Image
        path = path_base + ".png"
        Image.fromarray(img).save(path)
    except ImportError:
        grey = img.ndim == 2
        path = path_base + (".pgm" if grey else ".ppm")
        with open(path, "wb") as f:
            f.write(b"P5\n" if grey else b"P6\n")
            f.write(b"%d %d\n255\n" % (img.shape[1], img.shape[0]))
            f.write(np.ascontiguousarray(img).tobytes())
    return path


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m softstream_tokens", description=__doc__.split("\n")[0])
    p.add_argument("--bootstrap-servers", default=os.environ.get("BOOTSTRAP_SERVERS", "localhost:9092"))
    p.add_argument("--schema-registry-url", default=os.environ.get("SCHEMA_REGISTRY_URL", "http://localhost:8081"))
    p.add_argument("--topic", default="tokens")
    p.add_argument("--group", help="consumer group (commits offsets); default: none, read every partition")
    p.add_argument("--latest", action="store_true", help="start at the end instead of the beginning")
    p.add_argument("--max", type=int, help="stop after N records")
    p.add_argument("--timeout-s", type=float, default=30.0, help="stop when no record came for this long")
    p.add_argument("--json", action="store_true", help="one JSON object per record, tokens as nested lists")
    p.add_argument("--decode", metavar="MODEL_DIR", help="decode with MODEL_DIR/decoder.onnx (needs onnxruntime)")
    p.add_argument("--out", default="out/python", help="where --decode saves images (default out/python)")
    a = p.parse_args(argv)

    decoder = None
    if a.decode:
        from .decoder import TokenDecoder
        decoder = TokenDecoder(a.decode)
        os.makedirs(a.out, exist_ok=True)
    n = 0
    with TokenReader(a.bootstrap_servers, a.schema_registry_url, a.topic, group_id=a.group,
                     from_beginning=not a.latest) as reader:
        for t in reader.read(max_records=a.max, timeout=a.timeout_s):
            n += 1
            saved = None
            values = decoder.tokens_of(t) if decoder is not None else t.tokens
            if decoder is not None:
                img = TokenDecoder.to_uint8(decoder.decode(values))[0]
                saved = _save(os.path.join(a.out, t.image_id.replace("/", "_")), img)
            if a.json:
                print(json.dumps({"key": t.key, "image_id": t.image_id, "model_name": t.model_name,
                                  "model_version": t.model_version, "encoding": t.encoding,
                                  "dtype": None if values is None else str(values.dtype),
                                  "shape": [t.record["token_count"], t.record["token_dim"]], "event_time_ms": t.event_time_ms,
                                  "partition": t.partition, "offset": t.offset,
                                  "tokens": None if values is None else values.astype(float).tolist(),
                                  "saved": saved}), flush=True)
            else:
                print("%s %s:%d %dx%d %s %s p%d@%d%s" % (t.image_id, t.model_name, t.model_version,
                                                       t.record["token_count"], t.record["token_dim"], t.encoding,
                                                       t.event_time.isoformat(),
                                                       t.partition, t.offset, " -> " + saved if saved else ""),
                      flush=True)
    if a.max is not None and n < a.max:
        print("only %d of %d records within %.0f s" % (n, a.max, a.timeout_s), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
