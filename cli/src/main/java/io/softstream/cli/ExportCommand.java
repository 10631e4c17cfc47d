package io.softstream.cli;

import io.softstream.model.onnx.OnnxExport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Writes encoder.onnx and decoder.onnx next to a model's DJL weights. */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Export a tokenizer's encoder and decoder to ONNX (opset 17, dynamic batch) in its model directory, "
        + "so ONNX Runtime and TensorRT can run it.")
public final class ExportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (model.json + weights).")
  Path model;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    OnnxExport.Result r = OnnxExport.export(model);
    for (OnnxExport.ExportedFile f : r.files()) {
      out.printf("%s  %,d bytes  sha256 %s%n", f.path(), f.bytes(), f.sha256());
    }
    out.printf("opset %d, ir_version %d%n", r.opset(), r.irVersion());
    return 0;
  }
}
