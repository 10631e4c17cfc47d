package io.softstream.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds one ONNX graph (nodes, initializers, inputs, outputs) and serialises it as a ModelProto.
 * Field numbers are those of the public {@code onnx.proto} (proto2; repeated scalars are written
 * unpacked, which every protobuf parser accepts).
 */
final class OnnxGraph {
  static final int FLOAT = 1;
  static final int INT64 = 7;

  // AttributeProto.AttributeType
  private static final int ATTR_FLOAT = 1;
  private static final int ATTR_INT = 2;
  private static final int ATTR_TENSOR = 4;
  private static final int ATTR_INTS = 7;

  private final String name;
  private final List<Proto> nodes = new ArrayList<>();
  private final List<Proto> initializers = new ArrayList<>();
  private final List<Proto> inputs = new ArrayList<>();
  private final List<Proto> outputs = new ArrayList<>();
  private final Map<String, String> constants = new HashMap<>();
  private final Map<String, Integer> counters = new HashMap<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  OnnxGraph(String name) {
    this.name = name;
  }

  /** An attribute of a node. */
  record Attr(String name, int type, Object value) {
    static Attr i(String name, long v) {
      return new Attr(name, ATTR_INT, v);
    }

    static Attr f(String name, float v) {
      return new Attr(name, ATTR_FLOAT, v);
    }

    static Attr ints(String name, long... v) {
      return new Attr(name, ATTR_INTS, v);
    }

    static Attr tensor(String name, Proto t) {
      return new Attr(name, ATTR_TENSOR, t);
    }
  }

  /**
   * Declares a graph input; a {@code String} dim is symbolic (e.g. "batch"), a {@code Number}
   * fixed.
   */
  void input(String valueName, int elemType, Object... dims) {
    inputs.add(valueInfo(valueName, elemType, dims));
  }

  void output(String valueName, int elemType, Object... dims) {
    outputs.add(valueInfo(valueName, elemType, dims));
  }

  void metadata(String key, String value) {
    metadata.put(key, value);
  }

  /** Adds a float initializer and returns its name. */
  String initializer(String valueName, float[] data, long... dims) {
    ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(data);
    initializers.add(tensor(valueName, FLOAT, b.array(), dims));
    return valueName;
  }

  /** Adds an int64 initializer and returns its name. */
  String initializer(String valueName, long[] data, long... dims) {
    initializers.add(tensor(valueName, INT64, longBytes(data), dims));
    return valueName;
  }

  /** A shared 1-D int64 constant (shapes, axes, indices); equal values share one initializer. */
  String ints(long... values) {
    return constants.computeIfAbsent(
        "i64" + Arrays.toString(values),
        k -> initializer(fresh("const_i64"), values, values.length));
  }

  /** A shared int64 scalar (0-D), used as a Gather index so the axis is dropped. */
  String intScalar(long value) {
    return constants.computeIfAbsent(
        "i64s" + value, k -> initializer(fresh("const_i64s"), new long[] {value}));
  }

  /** A shared float scalar (0-D). */
  String floatScalar(float value) {
    return constants.computeIfAbsent(
        "f32s" + Float.floatToIntBits(value),
        k -> initializer(fresh("const_f32"), new float[] {value}));
  }

  /** Adds a single-output node with a generated output name and returns that name. */
  String node(String opType, List<String> in, Attr... attrs) {
    return nodeNamed(fresh(opType.toLowerCase()), opType, in, attrs);
  }

  /** Adds a single-output node whose output is {@code outName} (e.g. a graph output). */
  String nodeNamed(String outName, String opType, List<String> in, Attr... attrs) {
    Proto n = new Proto();
    for (String s : in) {
      n.string(1, s);
    }
    n.string(2, outName);
    n.string(3, "n_" + outName);
    n.string(4, opType);
    for (Attr a : attrs) {
      n.message(5, attribute(a));
    }
    nodes.add(n);
    return outName;
  }

  String fresh(String base) {
    int i = counters.merge(base, 1, Integer::sum);
    return base + "_" + i;
  }

  /** The ModelProto bytes. */
  byte[] toModel(long irVersion, int opset, String producer, String producerVersion, String doc) {
    Proto g = new Proto();
    for (Proto n : nodes) {
      g.message(1, n);
    }
    g.string(2, name);
    for (Proto t : initializers) {
      g.message(5, t);
    }
    for (Proto v : inputs) {
      g.message(11, v);
    }
    for (Proto v : outputs) {
      g.message(12, v);
    }
    Proto m = new Proto();
    m.int64(1, irVersion);
    m.string(2, producer);
    m.string(3, producerVersion);
    m.string(4, "io.softstream");
    m.int64(5, 1);
    m.string(6, doc);
    m.message(7, g);
    m.message(8, new Proto().string(1, "").int64(2, opset));
    metadata.forEach((k, v) -> m.message(14, new Proto().string(1, k).string(2, v)));
    return m.toByteArray();
  }

  static Proto tensor(String valueName, int dataType, byte[] raw, long... dims) {
    Proto t = new Proto();
    for (long d : dims) {
      t.int64(1, d);
    }
    t.int32(2, dataType);
    if (valueName != null) {
      t.string(8, valueName);
    }
    t.bytes(9, raw);
    return t;
  }

  static byte[] longBytes(long[] data) {
    ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(data);
    return b.array();
  }

  private static Proto valueInfo(String valueName, int elemType, Object... dims) {
    Proto shape = new Proto();
    for (Object d : dims) {
      Proto dim = new Proto();
      if (d instanceof Number n) {
        dim.int64(1, n.longValue());
      } else {
        dim.string(2, d.toString());
      }
      shape.message(1, dim);
    }
    Proto tensorType = new Proto().int32(1, elemType).message(2, shape);
    return new Proto().string(1, valueName).message(2, new Proto().message(1, tensorType));
  }

  private static Proto attribute(Attr a) {
    Proto p = new Proto().string(1, a.name());
    switch (a.type()) {
      case ATTR_FLOAT -> p.float32(2, (Float) a.value());
      case ATTR_INT -> p.int64(3, (Long) a.value());
      case ATTR_TENSOR -> p.message(5, (Proto) a.value());
      case ATTR_INTS -> {
        for (long v : (long[]) a.value()) {
          p.int64(8, v);
        }
      }
      default -> throw new IllegalArgumentException("attribute type " + a.type());
    }
    p.int32(20, a.type());
    return p;
  }
}
