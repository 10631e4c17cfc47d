package io.softstream.schemas.serde;

import java.nio.ByteBuffer;
import java.util.UUID;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * The Confluent wire format, all three layouts.
 *
 * <ul>
 *   <li>V0 (classic, what we write): {@code 0x00}, 4-byte big-endian schema id, Avro binary.
 *   <li>V1: {@code 0x01}, 16-byte schema GUID (UUID most- then least-significant bits), Avro
 *       binary.
 *   <li>Header: the V1 bytes in record header {@code __key_schema_id}/{@code __value_schema_id};
 *       the payload is bare Avro binary.
 * </ul>
 *
 * <p>We write V0 because every Confluent-compatible tool (Karapace, Apicurio, Redpanda, Flink,
 * Spark) reads it; we read all three, as Confluent's DualSchemaIdDeserializer does.
 */
public final class WireFormat {
  public static final byte MAGIC_V0 = 0x0;
  public static final byte MAGIC_V1 = 0x1;
  public static final int V0_HEADER_SIZE = 5;
  public static final int V1_HEADER_SIZE = 17;
  public static final String KEY_SCHEMA_ID_HEADER = "__key_schema_id";
  public static final String VALUE_SCHEMA_ID_HEADER = "__value_schema_id";

  private WireFormat() {}

  /**
   * Where the schema is named and where the Avro payload starts.
   *
   * @param schemaId the 4-byte id (V0), or -1
   * @param guid the GUID (V1 prefix or header), or null
   * @param payloadOffset index of the first Avro byte in the value
   */
  public record SchemaRef(int schemaId, UUID guid, int payloadOffset) {
    public boolean hasId() {
      return guid == null;
    }

    @Override
    public String toString() {
      return guid == null ? "schema id " + schemaId : "schema guid " + guid;
    }
  }

  /** Writes the V0 layout: magic 0, big-endian id, payload. */
  public static byte[] encodeV0(int schemaId, byte[] avro) {
    return ByteBuffer.allocate(V0_HEADER_SIZE + avro.length)
        .put(MAGIC_V0)
        .putInt(schemaId)
        .put(avro)
        .array();
  }

  /** Writes the V1 layout: magic 1, 16-byte GUID, payload. */
  public static byte[] encodeV1(UUID guid, byte[] avro) {
    return ByteBuffer.allocate(V1_HEADER_SIZE + avro.length).put(guidBytes(guid)).put(avro).array();
  }

  /** The 17-byte V1 prefix (magic + GUID), also the value of a schema-id header. */
  public static byte[] guidBytes(UUID guid) {
    return ByteBuffer.allocate(V1_HEADER_SIZE)
        .put(MAGIC_V1)
        .putLong(guid.getMostSignificantBits())
        .putLong(guid.getLeastSignificantBits())
        .array();
  }

  /**
   * Finds the schema reference of a serialized key or value: the schema-id header first (if
   * present), else the prefix.
   *
   * @param where a description for error messages, e.g. "value of images-3@42"
   * @throws UnknownMagicByteException if the first byte (or the header's) is neither 0 nor 1
   * @throws TruncatedRecordException if the bytes are shorter than the layout needs
   */
  public static SchemaRef parse(byte[] data, Headers headers, boolean isKey, String where) {
    if (headers != null) {
      Header h = headers.lastHeader(isKey ? KEY_SCHEMA_ID_HEADER : VALUE_SCHEMA_ID_HEADER);
      if (h != null) {
        byte[] v = h.value();
        if (v == null || v.length == 0) {
          throw new TruncatedRecordException(
              "Empty schema-id header "
                  + h.key()
                  + " on the "
                  + where
                  + ": expected 17 bytes (magic 0x01 + 16-byte GUID) or 5 bytes (0x00 + 4-byte id).");
        }
        if (v[0] == MAGIC_V1 && v.length == V1_HEADER_SIZE) {
          ByteBuffer b = ByteBuffer.wrap(v, 1, 16);
          return new SchemaRef(-1, new UUID(b.getLong(), b.getLong()), 0);
        }
        if (v[0] == MAGIC_V0 && v.length == V0_HEADER_SIZE) {
          return new SchemaRef(ByteBuffer.wrap(v, 1, 4).getInt(), null, 0);
        }
        if (v[0] != MAGIC_V0 && v[0] != MAGIC_V1) {
          throw new UnknownMagicByteException(
              v[0], "schema-id header " + h.key() + " of the " + where);
        }
        throw new TruncatedRecordException(
            "Schema-id header "
                + h.key()
                + " on the "
                + where
                + " has "
                + v.length
                + " bytes; expected 17 (V1) or 5 (V0).");
      }
    }
    if (data == null || data.length == 0) {
      throw new TruncatedRecordException(
          "The "
              + where
              + " is empty: expected at least "
              + V0_HEADER_SIZE
              + " bytes (magic byte + 4-byte schema id) followed by Avro binary.");
    }
    byte magic = data[0];
    if (magic == MAGIC_V0) {
      if (data.length < V0_HEADER_SIZE) {
        throw new TruncatedRecordException(
            "The "
                + where
                + " has "
                + data.length
                + " bytes: a Confluent V0 record needs at least 5 (magic 0x00 + 4-byte schema id).");
      }
      return new SchemaRef(ByteBuffer.wrap(data, 1, 4).getInt(), null, V0_HEADER_SIZE);
    }
    if (magic == MAGIC_V1) {
      if (data.length < V1_HEADER_SIZE) {
        throw new TruncatedRecordException(
            "The "
                + where
                + " has "
                + data.length
                + " bytes: a Confluent V1 record needs at least 17 (magic 0x01 + 16-byte schema GUID).");
      }
      ByteBuffer b = ByteBuffer.wrap(data, 1, 16);
      return new SchemaRef(-1, new UUID(b.getLong(), b.getLong()), V1_HEADER_SIZE);
    }
    throw new UnknownMagicByteException(magic, where);
  }
}
