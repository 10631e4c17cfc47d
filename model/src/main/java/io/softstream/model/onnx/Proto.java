package io.softstream.model.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One protobuf message being written, field by field, with {@link CodedOutputStream}. Nested
 * messages are written to their own buffer first because a length-delimited field needs its size up
 * front.
 */
final class Proto {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final CodedOutputStream out = CodedOutputStream.newInstance(bytes);

  Proto int64(int field, long v) {
    try {
      out.writeInt64(field, v);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  Proto int32(int field, int v) {
    try {
      out.writeInt32(field, v);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  Proto float32(int field, float v) {
    try {
      out.writeFloat(field, v);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  Proto string(int field, String v) {
    try {
      out.writeString(field, v);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  Proto bytes(int field, byte[] v) {
    try {
      out.writeBytes(field, ByteString.copyFrom(v));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  Proto message(int field, Proto nested) {
    return bytes(field, nested.toByteArray());
  }

  byte[] toByteArray() {
    try {
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
