package io.softstream.schemas.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;

/** Random values for any Avro schema, so every record type gets the same property tests. */
final class RandomRecords {
  private RandomRecords() {}

  static GenericRecord generic(Schema schema, Random r) {
    return (GenericRecord) value(schema, r, 0);
  }

  /**
   * Plain Avro binary of a generic record: the payload our wire format must carry, byte for byte.
   */
  static byte[] avroBinary(GenericRecord record) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
      new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, enc);
      enc.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The same values as the generated class, via Avro binary (so logical types convert as in
   * production).
   */
  static <T extends SpecificRecord> T specific(GenericRecord record, Class<T> type) {
    try {
      byte[] bytes = avroBinary(record);
      return new SpecificDatumReader<>(type)
          .read(null, DecoderFactory.get().binaryDecoder(bytes, null));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Object value(Schema s, Random r, int depth) {
    switch (s.getType()) {
      case RECORD:
        {
          GenericData.Record rec = new GenericData.Record(s);
          for (Schema.Field f : s.getFields()) {
            rec.put(f.pos(), value(f.schema(), r, depth + 1));
          }
          return rec;
        }
      case ENUM:
        return new GenericData.EnumSymbol(
            s, s.getEnumSymbols().get(r.nextInt(s.getEnumSymbols().size())));
      case ARRAY:
        {
          List<Object> l = new ArrayList<>();
          for (int i = r.nextInt(5); i > 0; i--) {
            l.add(value(s.getElementType(), r, depth + 1));
          }
          return new GenericData.Array<>(s, l);
        }
      case MAP:
        {
          Map<String, Object> m = new HashMap<>();
          for (int i = r.nextInt(4); i > 0; i--) {
            m.put(string(r), value(s.getValueType(), r, depth + 1));
          }
          return m;
        }
      case UNION:
        return value(s.getTypes().get(r.nextInt(s.getTypes().size())), r, depth + 1);
      case STRING:
        return string(r);
      case BYTES:
        {
          byte[] b = new byte[r.nextInt(64)];
          r.nextBytes(b);
          return ByteBuffer.wrap(b);
        }
      case INT:
        return r.nextBoolean() ? r.nextInt() : r.nextInt(100);
      case LONG:
        return "timestamp-millis".equals(s.getProp("logicalType")) || s.getLogicalType() != null
            ? Math.floorMod(r.nextLong(), 4_000_000_000_000L)
            : r.nextLong();
      case FLOAT:
        return r.nextFloat() * 100;
      case DOUBLE:
        return r.nextGaussian() * 1e6;
      case BOOLEAN:
        return r.nextBoolean();
      case NULL:
        return null;
      default:
        throw new IllegalArgumentException("unsupported " + s);
    }
  }

  private static String string(Random r) {
    StringBuilder sb = new StringBuilder();
    for (int i = r.nextInt(12); i > 0; i--) {
      // include non-ASCII to exercise UTF-8
      sb.append(r.nextInt(10) == 0 ? 'é' : (char) ('a' + r.nextInt(26)));
    }
    return sb.toString();
  }
}
