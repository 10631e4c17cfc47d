"""The Confluent wire format, decoded with python3-avro and the registry's REST API.

Layout of a value: byte 0 = 0x00 (magic), bytes 1-4 = schema id (big-endian), then Avro binary
written with that schema. The writer schema comes from ``GET /schemas/ids/{id}`` on any
Confluent-compatible registry (Softstream's own, Confluent's, Karapace, Apicurio's ccompat API) and
is cached per id.
"""
import base64
import io
import json
import struct
import threading
import urllib.error
import urllib.parse
import urllib.request

import avro.io
import avro.schema

MAGIC = 0


class WireFormatError(ValueError):
    """A value that is not in the Confluent wire format, or whose schema the registry does not have."""


def _parse_schema(text):
    parse = getattr(avro.schema, "parse", None) or getattr(avro.schema, "Parse")
    return parse(text)


class RegistryClient:
    """Fetches writer schemas by id over the registry's REST API; caches them.

    ``url`` may carry credentials (``http://user:secret@host:8081``): they are sent as HTTP basic auth.
    """

    def __init__(self, url, timeout=10.0):
        parts = urllib.parse.urlsplit(url.rstrip("/"))
        self._auth = None
        if parts.username is not None:
            user_info = "%s:%s" % (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
            self._auth = "Basic " + base64.b64encode(user_info.encode()).decode()
            netloc = parts.hostname + (":%d" % parts.port if parts.port else "")
            parts = parts._replace(netloc=netloc)
        self.url = urllib.parse.urlunsplit(parts)
        self.timeout = timeout
        self._schemas = {}
        self._lock = threading.Lock()

    def schema(self, schema_id):
        """The parsed Avro schema registered under ``schema_id``."""
        with self._lock:
            s = self._schemas.get(schema_id)
        if s is not None:
            return s
        req = urllib.request.Request("%s/schemas/ids/%d" % (self.url, schema_id),
                                     headers={"Accept": "application/vnd.schemaregistry.v1+json"})
        if self._auth:
            req.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            if e.code == 404:
                raise WireFormatError("schema id %d is not in the registry at %s: %s" % (schema_id, self.url, detail))
            raise RuntimeError("registry %s answered %d for schema id %d: %s" % (self.url, e.code, schema_id, detail))
        except urllib.error.URLError as e:
            raise RuntimeError("cannot reach the schema registry at %s: %s" % (self.url, e.reason))
        schema_type = body.get("schemaType", "AVRO")
        if schema_type != "AVRO":
            raise WireFormatError("schema id %d is %s, not AVRO" % (schema_id, schema_type))
        s = _parse_schema(body["schema"])
        with self._lock:
            self._schemas[schema_id] = s
        return s


def decode_value(data, registry):
    """Decodes one Confluent-framed Avro value to a dict (python3-avro's representation)."""
    if data is None:
        return None
    if len(data) < 5:
        raise WireFormatError("value of %d bytes is too short for the Confluent wire format (5-byte header)" % len(data))
    if data[0] != MAGIC:
        raise WireFormatError("value starts with byte 0x%02x, not the Confluent magic byte 0x00" % data[0])
    (schema_id,) = struct.unpack(">I", data[1:5])
    writer = registry.schema(schema_id)
    reader = avro.io.DatumReader(writer, writer)
    return reader.read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))
