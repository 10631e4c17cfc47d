package io.softstream.schemas.serde;

import org.apache.kafka.common.errors.SerializationException;

/**
 * The bytes do not start with a Confluent magic byte: not written by a Confluent-compatible
 * serializer.
 */
public class UnknownMagicByteException extends SerializationException {
  private static final long serialVersionUID = 1L;
  private final byte magic;

  public UnknownMagicByteException(byte magic, String where) {
    super(
        String.format(
            "Unknown magic byte 0x%02x in the %s: expected 0x00 (Confluent schema id) or 0x01 "
                + "(schema GUID). The producer did not use a Confluent-compatible Avro serializer, or this "
                + "topic carries another format.",
            magic, where));
    this.magic = magic;
  }

  public byte magic() {
    return magic;
  }
}
