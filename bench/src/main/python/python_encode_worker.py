#!/usr/bin/python3
"""The Python peer of our encode worker, for benchmarks: same job, same model weights, same topics.

Debian's python3-confluent-kafka (librdkafka) consumes ImageEvents (read_committed), decodes them with
confluent_kafka.avro, decodes the PNG with PIL, centres it on the model's canvas as ours does, runs the
independent torch reference encoder (reference/softvq_reference.py) on micro-batches and publishes
FP16 TokenRecords in one Kafka transaction per batch with the consumed offsets, exactly like ours.

usage: python_encode_worker.py BOOTSTRAP REGISTRY IN_TOPIC OUT_TOPIC MODEL_DIR REFERENCE_DIR TOKEN_SCHEMA
                               GROUP TRANSACTIONAL_ID BATCH WAIT_MS THREADS
Prints "ready" once the model is loaded; runs until SIGTERM.
"""
import io
import signal
import sys
import time

import numpy as np
import torch
from PIL import Image
from confluent_kafka import Consumer, Producer
from confluent_kafka.avro import CachedSchemaRegistryClient, loads
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer


def main(a):
    (bootstrap, registry, in_topic, out_topic, model_dir, ref_dir, schema_file, group, tx_id,
     batch, wait_ms, threads) = a
    batch, wait_ms, threads = int(batch), int(wait_ms), int(threads)
    sys.path.insert(0, ref_dir)
    import softvq_reference as ref
    torch.set_num_threads(threads)
    cfg = ref.load_config(model_dir)
    w = ref.load_weights(model_dir + "/encoder.onnx")
    size, n, d = cfg["image_size"], cfg["tokens"], cfg["code_dim"]
    serde = MessageSerializer(CachedSchemaRegistryClient({"url": registry}))
    token_schema = loads(open(schema_file).read())
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": tx_id, "linger.ms": 5})
    producer.init_transactions()
    consumer.subscribe([in_topic])
    with torch.no_grad():
        ref.encode(torch.zeros(2, cfg["channels"], size, size), w, cfg)  # warm up
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
            img = Image.open(io.BytesIO(e["image_bytes"])).convert("L")
            canvas = np.zeros((size, size), dtype=np.float32)
            x0, y0 = (size - img.width) // 2, (size - img.height) // 2
            canvas[y0:y0 + img.height, x0:x0 + img.width] = np.asarray(img, dtype=np.float32)
            pixels.append(canvas / 127.5 - 1.0)
            events.append((m, e))
        t0 = time.perf_counter()
        with torch.no_grad():
            tokens, codes = ref.encode(torch.from_numpy(np.stack(pixels)[:, None]), w, cfg)
        micros = int((time.perf_counter() - t0) * 1e6)
        tokens = tokens.numpy().astype("<f2")
        codes = codes.numpy()
        producer.begin_transaction()
        for i, (m, e) in enumerate(events):
            rec = {"image_id": e["id"], "model_name": "python-reference", "model_version": 1, "token_count": n,
                   "token_dim": d, "dtype": "FP16", "tokens": tokens[i].tobytes(),
                   "code_indices": [int(c) for c in codes[i]], "encode_latency_micros": micros,
                   "source_topic": m.topic(), "source_partition": m.partition(), "source_offset": m.offset(),
                   "event_time": e["event_time"]}
            producer.produce(out_topic, key=m.key(), value=serde.encode_record_with_schema(out_topic, token_schema, rec))
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                             consumer.consumer_group_metadata())
        producer.commit_transaction()
    consumer.close()


if __name__ == "__main__":
    main(sys.argv[1:])
