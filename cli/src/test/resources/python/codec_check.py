"""Decodes Java-encoded payloads with softstream_tokens' numpy codec; prints one JSON object:
{encoding: max |python - java|} plus "codebook": max |python codebook - java codebook|.
stdin: {"model_dir", "n", "d", "codebook": [floats], "cases": [{"encoding", "payload", "expected"}]}."""
import base64
import json
import sys

import numpy as np

from softstream_tokens.codec import read_codebook
from softstream_tokens.reader import unpack_tokens

job = json.load(sys.stdin)
cb = read_codebook(job["model_dir"])
out = {"codebook": float(np.abs(cb.reshape(-1) - np.asarray(job["codebook"], np.float32)).max())}
for c in job["cases"]:
    record = {"image_id": "x", "dtype": c["dtype"], "encoding": c["encoding"], "token_count": job["n"],
              "token_dim": job["d"], "tokens": base64.b64decode(c["payload"])}
    got = unpack_tokens(record, cb).astype(np.float32).reshape(-1)
    out[c["encoding"] or "null"] = float(np.abs(got - np.asarray(c["expected"], np.float32)).max())
try:
    unpack_tokens({"image_id": "cut", "dtype": "FP32", "encoding": "topk:2", "token_count": job["n"],
                   "token_dim": job["d"], "tokens": b"\0" * 3}, cb)
except ValueError as e:
    out["error"] = str(e)
print(json.dumps(out))
