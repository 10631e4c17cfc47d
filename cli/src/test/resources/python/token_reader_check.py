"""PythonReaderIT's peer: clients/python's softstream_tokens as a token consumer uses it.

token_reader_check.py BOOTSTRAP REGISTRY TOPIC N GROUP|- MODEL_DIR|-

Reads N TokenRecords (in consumer group GROUP, or "-": every partition without a group), prints one JSON
object per record (tokens as float values exactly as numpy holds them), then, if MODEL_DIR is not "-",
decodes all of them with MODEL_DIR/decoder.onnx and prints {"decoded": {image_id: pixels}}. The first line
says whether reading imported onnxruntime (it must not).
"""
import json
import sys

from softstream_tokens import TokenReader

bootstrap, registry, topic, n, group, model_dir = sys.argv[1:7]
n = int(n)
got = []
with TokenReader(bootstrap, registry, topic, group_id=None if group == "-" else group) as reader:
    got = list(reader.read(max_records=n, timeout=60))
print(json.dumps({"onnxruntime_imported": "onnxruntime" in sys.modules, "records": len(got)}))
for t in got:
    print(json.dumps({"key": t.key, "image_id": t.image_id, "model_name": t.model_name,
                      "model_version": t.model_version, "dtype": str(t.tokens.dtype),
                      "record_dtype": t.dtype, "shape": list(t.tokens.shape),
                      "tokens": [float(v) for v in t.tokens.ravel()],
                      "codes": None if t.code_indices is None else t.code_indices.tolist(),
                      "event_time_ms": t.event_time_ms, "event_time_iso": t.event_time.isoformat()}))
if len(got) < n:
    print("only %d of %d records within 60 s" % (len(got), n), file=sys.stderr)
    sys.exit(1)
if model_dir != "-":
    from softstream_tokens import TokenDecoder

    dec = TokenDecoder(model_dir)
    images = dec.decode(got)  # float16 tokens are widened to float32, as the Java decoder does
    print(json.dumps({"decoded": {t.image_id: [float(v) for v in images[i].ravel()] for i, t in enumerate(got)},
                      "shape": list(images.shape), "dtype": str(images.dtype),
                      "uint8_shape": list(dec.to_uint8(images).shape)}))
