package io.softstream.model.onnx;

import com.google.protobuf.CodedInputStream;
import io.softstream.model.TokenizerConfig;
import io.softstream.schemas.tokens.Codebook;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The soft quantizer's raw codebook {@code [G, K, d]} (not normalised), read from the initializer
 * {@code quantizer.codebook} of a tokenizer's {@code encoder.onnx}: what the compact token payloads
 * ({@code topk:K}, {@code codes}) index into. Read from the exported graph, so the ONNX files as
 * shipped serve it and no engine is needed.
 */
public final class OnnxCodebook {
  static final String INITIALIZER = "quantizer.codebook";

  private OnnxCodebook() {}

  /** {@link #read} as the token codec indexes it: unit codewords per codebook. */
  public static Codebook normalised(Path modelDir, TokenizerConfig c) {
    return Codebook.normalise(c.numCodebooks(), c.codebookSize(), c.codeDim(), read(modelDir, c));
  }

  /** The codebook of the tokenizer in {@code modelDir}, checked against its shape {@code c}. */
  public static float[] read(Path modelDir, TokenizerConfig c) {
    Path onnx = modelDir.resolve("encoder.onnx");
    if (c.quantizer().equals("none")) {
      throw new IllegalArgumentException(
          modelDir + " is a plain autoencoder (quantizer none): it has no codebook to index");
    }
    if (!Files.isRegularFile(onnx)) {
      throw new IllegalArgumentException(
          modelDir
              + " has no encoder.onnx, which holds the codebook: softstream export --model "
              + modelDir);
    }
    float[] v = floats(onnx, INITIALIZER);
    int want = c.numCodebooks() * c.codebookSize() * c.codeDim();
    if (v.length != want) {
      throw new IllegalArgumentException(
          onnx
              + ": "
              + INITIALIZER
              + " has "
              + v.length
              + " values, the card's shape needs "
              + want);
    }
    return v;
  }

  /** The float initializer {@code name} of an ONNX model file. */
  static float[] floats(Path onnx, String name) {
    try (InputStream in = Files.newInputStream(onnx)) {
      CodedInputStream model = CodedInputStream.newInstance(in);
      model.setSizeLimit(Integer.MAX_VALUE);
      for (int tag; (tag = model.readTag()) != 0; ) {
        if (tag == ((7 << 3) | 2)) { // ModelProto.graph
          CodedInputStream graph = CodedInputStream.newInstance(model.readByteBuffer());
          for (int g; (g = graph.readTag()) != 0; ) {
            if (g == ((5 << 3) | 2)) { // GraphProto.initializer
              float[] v = tensor(graph.readByteBuffer(), name);
              if (v != null) {
                return v;
              }
            } else {
              graph.skipField(g);
            }
          }
        } else {
          model.skipField(tag);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + onnx, e);
    }
    throw new IllegalArgumentException(onnx + " has no initializer " + name);
  }

  /** A TensorProto's floats if it is named {@code name}, else null. */
  private static float[] tensor(ByteBuffer b, String name) throws IOException {
    CodedInputStream t = CodedInputStream.newInstance(b);
    String n = null;
    ByteBuffer raw = null;
    List<Float> floats = new ArrayList<>();
    for (int tag; (tag = t.readTag()) != 0; ) {
      switch (tag) {
        case (8 << 3) | 2 -> n = t.readStringRequireUtf8(); // name
        case (9 << 3) | 2 -> raw = t.readByteBuffer(); // raw_data, little-endian
        case (4 << 3) | 5 -> floats.add(t.readFloat()); // float_data, unpacked
        case (4 << 3) | 2 -> { // float_data, packed
          int end = t.pushLimit(t.readRawVarint32());
          while (t.getBytesUntilLimit() > 0) {
            floats.add(t.readFloat());
          }
          t.popLimit(end);
        }
        default -> t.skipField(tag);
      }
    }
    if (!name.equals(n)) {
      return null;
    }
    if (raw != null) {
      float[] v = new float[raw.remaining() / 4];
      raw.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
      return v;
    }
    float[] v = new float[floats.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = floats.get(i);
    }
    return v;
  }
}
