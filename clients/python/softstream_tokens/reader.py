"""TokenRecords from Kafka as numpy arrays.

Keys on Softstream's topics are plain UTF-8 strings (the image id), values are Avro in the Confluent
wire format. confluent-kafka's legacy ``AvroConsumer`` decodes keys as Avro too and fails on them
("message does not start with magic byte"), so this reader uses a plain ``Consumer``, decodes the key
as UTF-8 and the value with :func:`softstream_tokens.wire.decode_value`.
"""
import datetime
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING

from .codec import decode_payload, parse_encoding
from .wire import RegistryClient, decode_value

#: numpy dtype of each TokenRecord dtype: little-endian IEEE 754 half / single precision.
DTYPES = {"FP16": np.dtype("<f2"), "FP32": np.dtype("<f4")}


def needs_codebook(record):
    """True when the record's payload (topk:K, codes) indexes the model's codebook."""
    return parse_encoding(record)[0] in ("topk", "codes")


def unpack_tokens(record, codebook=None):
    """The ``tokens`` payload of a TokenRecord (dict) as a ``[token_count, token_dim]`` array.

    Dense payloads (``encoding`` fp16/fp32, or absent: as ``dtype`` says) give float16/float32 in native
    byte order; int8, int8u, topk:K and codes give float32 (:mod:`softstream_tokens.codec`). topk and codes need
    ``codebook`` (:func:`softstream_tokens.codec.read_codebook` of the model folder).
    """
    if record.get("encoding") is None and record["dtype"] not in DTYPES:
        raise ValueError("TokenRecord %s has unknown dtype %r" % (record.get("image_id"), record["dtype"]))
    kind, k = parse_encoding(record)
    try:
        return decode_payload(bytes(record["tokens"]), record["token_count"], record["token_dim"], kind, k,
                              codebook)
    except ValueError as e:
        raise ValueError("TokenRecord %s: %s" % (record.get("image_id"), e)) from None


def _millis(v):
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return int(round(v.timestamp() * 1000))
    return int(v)


@dataclass
class Tokens:
    """One TokenRecord, its tokens unpacked."""

    key: Optional[str]
    image_id: str
    model_name: str
    model_version: int
    tokens: Optional[np.ndarray]  # [token_count, token_dim]; None for topk/codes read without a codebook
    code_indices: Optional[np.ndarray]  # [token_count] int32, or None
    event_time: datetime.datetime  # UTC
    event_time_ms: int
    topic: str
    partition: int
    offset: int
    record: dict = field(repr=False)  # every field as python3-avro decoded it

    @property
    def dtype(self):
        """The record's dtype name, FP16 or FP32."""
        return self.record["dtype"]

    @property
    def encoding(self):
        """The payload encoding: fp16, fp32, int8, int8u, topk:K or codes."""
        kind, k = parse_encoding(self.record)
        return "topk:%d" % k if kind == "topk" else kind

    @classmethod
    def from_record(cls, record, key=None, topic=None, partition=-1, offset=-1, codebook=None):
        codes = record.get("code_indices")
        values = None if needs_codebook(record) and codebook is None else unpack_tokens(record, codebook)
        ms = _millis(record.get("event_time", 0))
        return cls(key=key, image_id=record["image_id"], model_name=record["model_name"],
                   model_version=record["model_version"], tokens=values,
                   code_indices=None if codes is None else np.asarray(codes, dtype=np.int32),
                   event_time=datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc),
                   event_time_ms=ms, topic=topic, partition=partition, offset=offset, record=record)


class TokenReader:
    """Reads TokenRecords from a topic through the schema registry.

    ``group_id`` given: joins that consumer group (offsets committed as records are returned, so a
    restart continues where it stopped). ``group_id`` None: reads every partition from
    ``from_beginning`` (earliest, else latest) without a group. Only committed records are read
    (``isolation.level=read_committed``: the encode workers write in transactions). ``config`` adds or
    overrides librdkafka settings (security, etc.).
    """

    def __init__(self, bootstrap_servers, schema_registry_url, topic="tokens", group_id=None,
                 from_beginning=True, config=None):
        self.topic = topic
        self.registry = RegistryClient(schema_registry_url)
        self._group = group_id
        conf = {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id or "softstream-tokens-" + uuid.uuid4().hex,
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "isolation.level": "read_committed",
            "enable.auto.commit": group_id is not None,
            "enable.partition.eof": False,
        }
        conf.update(config or {})
        self._consumer = Consumer(conf)
        if group_id is not None:
            self._consumer.subscribe([topic])
        else:
            md = self._consumer.list_topics(topic, timeout=30)
            tm = md.topics.get(topic)
            if tm is None or tm.error is not None or not tm.partitions:
                raise RuntimeError("topic %s not found on %s: %s" % (topic, bootstrap_servers, tm and tm.error))
            start = OFFSET_BEGINNING if from_beginning else -1  # -1 = OFFSET_END
            self._consumer.assign([TopicPartition(topic, p, start) for p in sorted(tm.partitions)])

    def poll(self, timeout=1.0):
        """The next record as :class:`Tokens`, or None if none came within ``timeout`` seconds."""
        while True:
            m = self._consumer.poll(timeout)
            if m is None:
                return None
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError("Kafka error on %s: %s" % (self.topic, m.error()))
            key = m.key().decode("utf-8") if m.key() is not None else None
            value = decode_value(m.value(), self.registry)
            if value is None:  # tombstone
                continue
            return Tokens.from_record(value, key=key, topic=m.topic(), partition=m.partition(), offset=m.offset())

    def read(self, max_records=None, timeout=30.0):
        """Yields records until ``max_records`` are read or none arrived for ``timeout`` seconds."""
        got, idle_since = 0, time.monotonic()
        while max_records is None or got < max_records:
            t = self.poll(min(1.0, timeout))
            if t is None:
                if time.monotonic() - idle_since >= timeout:
                    return
                continue
            idle_since = time.monotonic()
            got += 1
            yield t

    def close(self):
        self._consumer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
