package io.softstream.cli;

import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.onnx.OnnxExport;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.trainer.Dataset;
import io.softstream.trainer.TrainConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Writes encoder.onnx and decoder.onnx next to a model's DJL weights, checks parity and records it
 * in the card.
 */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description =
        "Export a tokenizer's encoder and decoder to ONNX (opset 17, dynamic batch) in its model directory, "
            + "so ONNX Runtime and TensorRT can run it; then compare ONNX Runtime with the PyTorch blocks on real "
            + "(Fashion-MNIST for 1x32x32 models, held-out wallpaper crops for RGB models) or random images and record "
            + "opset and parity in model.json.")
public final class ExportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      required = true,
      paramLabel = "DIR",
      description = "Model directory (model.json + weights).")
  Path model;

  @Option(
      names = "--parity-images",
      defaultValue = "256",
      description = "Images for the parity check (default: ${DEFAULT-VALUE}).")
  int parityImages;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    out.printf("exporting %s to ONNX (encoder, decoder)...%n", model);
    out.flush();
    OnnxExport.Result r = OnnxExport.export(model);
    for (OnnxExport.ExportedFile f : r.files()) {
      out.printf("%s  %,d bytes  sha256 %s%n", f.path(), f.bytes(), f.sha256());
    }
    ModelCard card = ModelDir.readCard(model);
    TokenizerConfig c = card.tokenizerConfig();
    int n = parityImages;
    float[] px;
    String inputs;
    if (c.imageSize() == 32 && c.channels() == 1) {
      Dataset test = Dataset.fashionMnist(Path.of(TrainConfig.defaults().dataDir()), false, n);
      px = Arrays.copyOf(test.pixels(), n * 32 * 32);
      inputs = n + " Fashion-MNIST test images";
    } else if (c.channels() == 3
        && io.softstream.trainer.PhotoCrops.available(TrainConfig.defaults().photoDirs())) {
      TrainConfig d = TrainConfig.defaults();
      Dataset test =
          io.softstream.trainer.PhotoCrops.load(
              d.photoDirs(),
              true,
              n,
              c.imageSize(),
              d.photoMaxSide(),
              io.softstream.trainer.TrainerRun.HELDOUT_PHOTO_SEED,
              null);
      px = test.pixels();
      inputs = n + " held-out photo crops";
    } else {
      Random rnd = new Random(1);
      px = new float[n * c.channels() * c.imageSize() * c.imageSize()];
      for (int i = 0; i < px.length; i++) {
        px[i] = rnd.nextFloat() * 2 - 1;
      }
      inputs = n + " uniform random images";
    }
    out.printf("parity check: ONNX Runtime against PyTorch on %s...%n", inputs);
    out.flush();
    double tokDiff = 0;
    double pixDiff = 0;
    long codesSame = 0;
    try (TokenizerRuntime pt =
            TokenizerRuntimes.open(model, EngineKind.PYTORCH, TokenizerRuntimes.Part.BOTH);
        TokenizerRuntime ort =
            TokenizerRuntimes.open(model, EngineKind.ONNXRUNTIME, TokenizerRuntimes.Part.BOTH)) {
      TokenizerRuntime.Encoded a = pt.encode(px, n);
      TokenizerRuntime.Encoded b = ort.encode(px, n);
      for (int i = 0; i < a.values().length; i++) {
        tokDiff = Math.max(tokDiff, Math.abs(a.values()[i] - b.values()[i]));
      }
      for (int i = 0; i < a.codes().length; i++) {
        codesSame += a.codes()[i] == b.codes()[i] ? 1 : 0;
      }
      float[] ya = pt.decode(a.values(), n);
      float[] yb = ort.decode(a.values(), n);
      for (int i = 0; i < ya.length; i++) {
        pixDiff = Math.max(pixDiff, Math.abs(ya[i] - yb[i]));
      }
      Map<String, Object> metrics = new LinkedHashMap<>(card.metrics());
      metrics.put("onnx_opset", r.opset());
      metrics.put("onnx_parity_tokens_max_abs", tokDiff);
      metrics.put("onnx_parity_pixels_max_abs", pixDiff);
      metrics.put("onnx_parity_codes_equal", (double) codesSame / a.codes().length);
      ModelDir.writeCard(model, card.withMetrics(metrics));
    }
    out.printf(
        "opset %d, ir_version %d; ONNX Runtime vs PyTorch on %s: tokens max |diff| %.2e, pixels max |diff| %.2e, "
            + "codes equal %.4f (recorded in model.json)%n",
        r.opset(), r.irVersion(), inputs, tokDiff, pixDiff, (double) codesSame / (n * c.tokens()));
    return tokDiff <= 1e-4 && pixDiff <= 1e-4 ? 0 : 1;
  }
}
