package io.softstream.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntime.Encoded;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.model.runtime.TokenizerRuntimes.Part;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Second opinions from Python: Debian's python3-onnx checks the exported files, and the independent
 * torch re-implementation in reference/softvq_reference.py (weights read from the ONNX
 * initializers, graph not executed) must reproduce the DJL blocks' tokens, codes and pixels.
 */
class OnnxReferenceTest {
  static final float TOL = 1e-4f;

  @TempDir Path tmp;

  @Test
  void exportedFilesPassOnnxCheckerWithTensorRtOpsAndDynamicBatch() throws Exception {
    Python.assumeModules("onnx");
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "-c",
                String.join(
                    "\n",
                    "import sys, onnx",
                    "TENSORRT_OPS = {'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Max', 'Reshape', 'Transpose', 'Gather', 'Slice',",
                    "    'Concat', 'Shape', 'Expand', 'Softmax', 'LayerNormalization', 'Erf', 'ReduceL2', 'ArgMax', 'Clip',",
                    "    'Identity', 'ConstantOfShape'}",
                    "for f in sys.argv[1:]:",
                    "    m = onnx.load(f)",
                    "    onnx.checker.check_model(m, full_check=True)",
                    "    assert m.ir_version == 8 and m.opset_import[0].version == 17, f",
                    "    ops = {n.op_type for n in m.graph.node}",
                    "    assert ops <= TENSORRT_OPS, (f, ops - TENSORRT_OPS)",
                    "    for v in list(m.graph.input) + list(m.graph.output):",
                    "        assert v.type.tensor_type.shape.dim[0].dim_param == 'batch', (f, v.name)",
                    "    print('OK', f, [n.op_type for n in m.graph.node][:3], len(m.graph.initializer))")));
    for (String q : new String[] {"softvq", "hardvq", "none"}) {
      Path dir = tmp.resolve(q);
      OnnxExport.Result r = TestModels.create(dir, TokenizerConfig.tiny(q), 3);
      assertThat(r.opset()).isEqualTo(17);
      assertThat(r.files()).allSatisfy(f -> assertThat(Files.size(f.path())).isEqualTo(f.bytes()));
      args.add(r.encoder().path().toString());
      args.add(r.decoder().path().toString());
    }
    Python.Result res = Python.run(args);
    assertThat(res.exitCode()).as(res.output()).isZero();
    assertThat(res.output()).contains("OK");
  }

  @Test
  void torchReferenceMatchesDjlBlocks() throws Exception {
    Python.assumeModules("torch", "onnx", "numpy");
    Path script = Python.referenceDir().resolve("softvq_reference.py");
    int batch = 5;
    for (String q : new String[] {"softvq", "hardvq", "none"}) {
      TokenizerConfig cfg = TokenizerConfig.tiny(q);
      Path dir = tmp.resolve(q);
      TestModels.create(dir, cfg, 21);
      float[] pixels = TestModels.randomPixels(cfg, batch, 77);
      Encoded djl;
      float[] djlPixels;
      try (TokenizerRuntime pt = TokenizerRuntimes.open(dir, EngineKind.PYTORCH, Part.BOTH)) {
        djl = pt.encode(pixels, batch);
        djlPixels = pt.decode(djl.values(), batch);
      }
      Path in = writeFloats(tmp.resolve(q + "-pixels.f32"), pixels);
      Path tok = writeFloats(tmp.resolve(q + "-tokens.f32"), djl.values());
      Path out = tmp.resolve(q + "-out");
      Python.Result res =
          Python.run(
              List.of(
                  script.toString(),
                  "run",
                  "--model",
                  dir.toString(),
                  "--images",
                  in.toString(),
                  "--batch",
                  Integer.toString(batch),
                  "--out",
                  out.toString(),
                  "--decode-tokens",
                  tok.toString()));
      assertThat(res.exitCode()).as(res.output()).isZero();
      float[] refTokens = readFloats(out.resolve("tokens.f32"));
      long[] refCodes = readLongs(out.resolve("codes.i64"));
      float[] refPixels = readFloats(out.resolve("images.f32"));
      float tokDiff = TestModels.maxAbsDiff(djl.values(), refTokens);
      float pixDiff = TestModels.maxAbsDiff(djlPixels, refPixels);
      System.out.printf(
          "REFERENCE %s b%d: tokens max|diff| %.3g, pixels max|diff| %.3g%n",
          q, batch, tokDiff, pixDiff);
      assertThat(tokDiff).as(q + " tokens").isLessThanOrEqualTo(TOL);
      assertThat(pixDiff).as(q + " pixels").isLessThanOrEqualTo(TOL);
      long[] djlCodes = new long[djl.codes().length];
      for (int i = 0; i < djlCodes.length; i++) {
        djlCodes[i] = djl.codes()[i];
      }
      assertThat(refCodes).as(q + " codes").containsExactly(djlCodes);
    }
  }

  static Path writeFloats(Path f, float[] v) throws java.io.IOException {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return Files.write(f, b.array());
  }

  static float[] readFloats(Path f) throws java.io.IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[b.remaining() / 4];
    b.asFloatBuffer().get(v);
    return v;
  }

  static long[] readLongs(Path f) throws java.io.IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
    long[] v = new long[b.remaining() / 8];
    b.asLongBuffer().get(v);
    return v;
  }
}
