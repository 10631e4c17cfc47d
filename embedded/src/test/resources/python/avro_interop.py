"""Interop peer: Debian's python3-confluent-kafka (legacy confluent_kafka.avro) against our broker and registry.

consume BOOTSTRAP REGISTRY TOPIC N   read N values, decode them with confluent_kafka.avro's
                                     MessageSerializer (schema fetched by id from the registry),
                                     print one JSON object per record
produce BOOTSTRAP REGISTRY TOPIC N   write N GenerationRequests with AvroProducer (registers the schema)
"""
import base64
import datetime
import json
import sys
import time

from confluent_kafka import Consumer
from confluent_kafka.avro import AvroProducer, CachedSchemaRegistryClient, loads
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer


def plain(v):
    if isinstance(v, bytes):
        return {"b64": base64.b64encode(v).decode()}
    if isinstance(v, datetime.datetime):
        return int(v.timestamp() * 1000)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def consume(bootstrap, registry, topic, n):
    serializer = MessageSerializer(CachedSchemaRegistryClient({"url": registry}))
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-" + topic, "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed", "enable.auto.commit": False})
    c.subscribe([topic])
    got, deadline = 0, time.time() + 60
    while got < n and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            print("error: %s" % m.error(), file=sys.stderr)
            sys.exit(1)
        value = serializer.decode_message(m.value(), is_key=False)
        print(json.dumps({"key": m.key().decode(), "partition": m.partition(), "offset": m.offset(),
                          "value": plain(value)}))
        got += 1
    c.close()
    if got < n:
        print("only %d of %d records within 60 s" % (got, n), file=sys.stderr)
        sys.exit(1)


def produce(bootstrap, registry, topic, n, schema_file):
    schema = loads(open(schema_file).read())
    p = AvroProducer({"bootstrap.servers": bootstrap, "schema.registry.url": registry},
                     default_value_schema=schema)
    # Python's avro writer does not fill in schema defaults: a producer sets every field, so fields a later
    # schema version adds take their declared default here.
    defaults = {f.name: f.default for f in schema.fields if f.has_default}
    for i in range(n):
        value = dict(defaults)
        value.update({"request_id": "py-%d" % i, "label": i % 10, "prompt": None, "count": i + 1,
                      "seed": 1000 + i, "guidance_scale": 2.5, "sampling_steps": 25})
        p.produce(topic=topic, value=value)
    p.flush(30)


if __name__ == "__main__":
    cmd, bootstrap, registry, topic, n = sys.argv[1:6]
    if cmd == "consume":
        consume(bootstrap, registry, topic, int(n))
    else:
        produce(bootstrap, registry, topic, int(n), sys.argv[6])
