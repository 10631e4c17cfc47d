#!/usr/bin/python3
"""The Python peer of our encode worker, for benchmarks: same job, same model weights, same topics.

Debian's python3-confluent-kafka (librdkafka) consumes ImageEvents (read_committed), decodes them with
confluent_kafka.avro, decodes the image with PIL, centres it on the model's canvas as ours does, encodes
micro-batches and publishes FP16 TokenRecords in one Kafka transaction per batch with the consumed
offsets, exactly like ours. ENGINE: torch = the independent torch reference encoder
(reference/softvq_reference.py); onnxruntime = the model's encoder.onnx on onnxruntime (run it from the
venv that has it); none = no inference, zero outputs of the right shape (the pipeline's ceiling).

usage: python_encode_worker.py BOOTSTRAP REGISTRY IN_TOPIC OUT_TOPIC MODEL_DIR REFERENCE_DIR TOKEN_SCHEMA
                               GROUP TRANSACTIONAL_ID BATCH WAIT_MS THREADS ENGINE
Prints "ready" once the model is loaded; runs until SIGTERM.
"""
import hashlib
import io
import json
import signal
import sys
import time

import numpy as np
from PIL import Image
from confluent_kafka import Consumer, Producer
from confluent_kafka.avro import CachedSchemaRegistryClient, loads
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer


def main(a):
    (bootstrap, registry, in_topic, out_topic, model_dir, ref_dir, schema_file, group, tx_id,
     batch, wait_ms, threads, engine) = a
    batch, wait_ms, threads = int(batch), int(wait_ms), int(threads)
    with open(model_dir + "/model.json") as f:
        cfg = json.load(f)["config"]
    size, n, d, channels = cfg["image_size"], cfg["tokens"], cfg["code_dim"], cfg["channels"]
    encode = encoder(engine, model_dir, cfg, ref_dir, threads)
    serde = MessageSerializer(CachedSchemaRegistryClient({"url": registry}))
    token_schema = loads(open(schema_file).read())
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": tx_id, "linger.ms": 5})
    producer.init_transactions()
    consumer.subscribe([in_topic])
    encode(np.zeros((2, channels, size, size), dtype=np.float32))  # warm up
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    print("ready", flush=True)
    while running[0]:
        msgs = [m for m in consumer.consume(num_messages=batch, timeout=wait_ms / 1000.0) if not m.error()]
        if not msgs:
            continue
        events, pixels = [], []
        for m in msgs:
            e = serde.decode_message(m.value())
            img = Image.open(io.BytesIO(e["image_bytes"])).convert("L" if channels == 1 else "RGB")
            canvas = np.zeros((size, size, channels), dtype=np.float32)
            x0, y0 = (size - img.width) // 2, (size - img.height) // 2
            canvas[y0:y0 + img.height, x0:x0 + img.width] = np.asarray(img, dtype=np.float32).reshape(
                img.height, img.width, channels)
            pixels.append(canvas.transpose(2, 0, 1) / 127.5 - 1.0)
            events.append((m, e))
        t0 = time.perf_counter()
        tokens, codes = encode(np.stack(pixels))
        micros = int((time.perf_counter() - t0) * 1e6)
        tokens = tokens.astype("<f2")
        producer.begin_transaction()
        for i, (m, e) in enumerate(events):
            rec = {"image_id": e["id"], "model_name": "python-reference", "model_version": 1, "token_count": n,
                   "token_dim": d, "dtype": "FP16", "tokens": tokens[i].tobytes(),
                   "code_indices": [int(c) for c in codes[i]], "encode_latency_micros": micros,
                   "source_topic": m.topic(), "source_partition": m.partition(), "source_offset": m.offset(),
                   "event_time": e["event_time"], "content_sha256": hashlib.sha256(e["image_bytes"]).hexdigest(),
                   "cache_hit": False, "worker_id": tx_id}
            producer.produce(out_topic, key=m.key(), value=serde.encode_record_with_schema(out_topic, token_schema, rec))
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                             consumer.consumer_group_metadata())
        producer.commit_transaction()
    consumer.close()


def encoder(engine, model_dir, cfg, ref_dir, threads):
    """A function from [B, C, H, W] float32 pixels to (tokens [B, N, d] float32, codes [B, N] ints)."""
    n, d = cfg["tokens"], cfg["code_dim"]
    if engine == "none":
        return lambda x: (np.zeros((len(x), n, d), dtype=np.float32), np.zeros((len(x), n), dtype=np.int64))
    if engine == "onnxruntime":
        import onnxruntime as ort
        o = ort.SessionOptions()
        o.intra_op_num_threads, o.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(model_dir + "/encoder.onnx", o, providers=["CPUExecutionProvider"])
        return lambda x: tuple(session.run(["tokens", "codes"], {"images": x}))
    # Only the torch peer imports torch (and the reference): the others' memory stays their own.
    import torch
    sys.path.insert(0, ref_dir)
    import softvq_reference as ref
    torch.set_num_threads(threads)
    w = ref.load_weights(model_dir + "/encoder.onnx")

    def run(x):
        with torch.no_grad():
            tokens, codes = ref.encode(torch.from_numpy(x), w, cfg)
        return tokens.numpy(), codes.numpy()
    return run


if __name__ == "__main__":
    main(sys.argv[1:])
