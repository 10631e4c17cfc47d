package io.softstream.model.onnx;

import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes {@code encoder.onnx} and {@code decoder.onnx} next to the DJL parameters of a tokenizer
 * model directory.
 *
 * <p>Opset 17, IR version 8, batch axis symbolic ("batch"). Encoder: input {@code images [batch, C,
 * H, W]} float in [-1, 1]; outputs {@code tokens [batch, N, d]} (the quantized latent zq) and
 * {@code codes [batch, N]} int64 (argmax codeword; zeros for quantizer "none"). Decoder: input
 * {@code tokens [batch, N, d]}; output {@code images [batch, C, H, W]} clamped to [-1, 1]. Only ops
 * TensorRT's ONNX parser supports are used: Gemm, MatMul, Add, Sub, Mul, Div, Max, Reshape,
 * Transpose, Gather, Slice, Concat, Shape, Expand, Softmax, LayerNormalization, Erf, ReduceL2,
 * ArgMax, Clip, Identity and ConstantOfShape.
 *
 * <pre>{@code
 * OnnxExport.Result r = OnnxExport.export(Path.of("models/softvq-fmnist-32"));
 * r.files().forEach(f -> System.out.println(f.path() + " " + f.bytes() + " " + f.sha256()));
 * }</pre>
 */
public final class OnnxExport {
  /** ONNX operator set of the exported graphs. */
  public static final int OPSET = 17;

  /** ONNX IR version of the exported files (the one that goes with opset 17). */
  public static final long IR_VERSION = 8;

  /** Encoder file name inside the model directory. */
  public static final String ENCODER_FILE = "encoder.onnx";

  /** Decoder file name inside the model directory. */
  public static final String DECODER_FILE = "decoder.onnx";

  private OnnxExport() {}

  /**
   * One written file.
   *
   * @param path where it was written
   * @param bytes its size
   * @param sha256 hex SHA-256 of its content (TensorRT engine caches key on it)
   */
  public record ExportedFile(Path path, long bytes, String sha256) {}

  /**
   * What {@link #export} wrote.
   *
   * @param opset ONNX opset of both graphs
   * @param irVersion ONNX IR version of both files
   * @param files the encoder file, then the decoder file
   */
  public record Result(int opset, long irVersion, List<ExportedFile> files) {
    /** The encoder file. */
    public ExportedFile encoder() {
      return files.get(0);
    }

    /** The decoder file. */
    public ExportedFile decoder() {
      return files.get(1);
    }
  }

  /**
   * Exports the tokenizer in {@code modelDir} (loaded with {@link ModelDir}) to ONNX, replacing any
   * earlier export.
   *
   * @throws MalformedModelException if the directory is not a readable tokenizer model
   * @throws IOException if the parameters cannot be read or the files cannot be written
   */
  public static Result export(Path modelDir) throws IOException, MalformedModelException {
    ModelCard card = ModelDir.readCard(modelDir);
    try (NDManager manager =
        NDManager.newBaseManager(Engine.getEngine("PyTorch").getEngineName())) {
      TokenEncoder enc = ModelDir.loadEncoder(modelDir, manager);
      TokenDecoder dec = ModelDir.loadDecoder(modelDir, manager);
      ExportedFile e = write(modelDir.resolve(ENCODER_FILE), encoderModel(enc, card));
      ExportedFile d = write(modelDir.resolve(DECODER_FILE), decoderModel(dec, card));
      // Which weights these files were made from, so that new weights beside old ONNX files are
      // refused at open (TokenizerRuntimes) instead of silently serving the old model.
      Map<String, Object> training = new LinkedHashMap<>(card.training());
      training.put(WEIGHTS_SHA256, weightsSha256(modelDir));
      ModelDir.writeCard(modelDir, card.withTraining(training));
      return new Result(OPSET, IR_VERSION, List.of(e, d));
    }
  }

  /** The encoder as ONNX ModelProto bytes. */
  public static byte[] encoderModel(TokenEncoder enc, ModelCard card) {
    return serialise(
        TokenizerGraphs.encoder(enc),
        card,
        "Softstream tokenizer encoder: images -> tokens, codes");
  }

  /** The decoder as ONNX ModelProto bytes. */
  public static byte[] decoderModel(TokenDecoder dec, ModelCard card) {
    return serialise(
        TokenizerGraphs.decoder(dec), card, "Softstream tokenizer decoder: tokens -> images");
  }

  private static byte[] serialise(OnnxGraph g, ModelCard card, String doc) {
    g.metadata("softstream.model_name", card.name());
    g.metadata("softstream.format_version", Integer.toString(card.formatVersion()));
    try {
      g.metadata(
          "softstream.config",
          ModelCard.JSON
              .writer()
              .without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
              .writeValueAsString(card.config()));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("model card config is not serialisable", e);
    }
    return g.toModel(IR_VERSION, OPSET, "softstream", "1", doc);
  }

  private static ExportedFile write(Path file, byte[] bytes) throws IOException {
    // Write then rename, so a reader never sees half a model.
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, bytes);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return new ExportedFile(file, bytes.length, sha256(bytes));
  }

  /**
   * Key in {@code model.json}'s {@code training} of the SHA-256 of each weights file the ONNX files
   * were exported from.
   */
  public static final String WEIGHTS_SHA256 = "onnx_weights_sha256";

  /**
   * SHA-256 of the weights files ({@code encoder.params}, {@code decoder.params}) now in {@code
   * dir}.
   */
  public static Map<String, String> weightsSha256(Path dir) throws IOException {
    Map<String, String> m = new LinkedHashMap<>();
    for (String f : List.of(ModelDir.ENCODER, ModelDir.DECODER)) {
      if (Files.isRegularFile(dir.resolve(f))) {
        m.put(f, sha256(Files.readAllBytes(dir.resolve(f))));
      }
    }
    return m;
  }

  /**
   * Null if the ONNX files of {@code dir} were exported from its current weights; otherwise why
   * not, and the fix.
   */
  public static String staleExport(Path dir) throws IOException, MalformedModelException {
    Object recorded = ModelDir.readCard(dir).training().get(WEIGHTS_SHA256);
    Map<String, String> now = weightsSha256(dir);
    if (now.equals(recorded)) {
      return null;
    }
    return "The ONNX files in "
        + dir
        + (recorded == null
            ? " carry no record of the weights they were exported from (model.json has no training."
                + WEIGHTS_SHA256
                + ")"
            : " were exported from other weights than the "
                + String.join(" and ", now.keySet())
                + " now there (the model was retrained after its export)")
        + ", so ONNX would serve another model than the weights. Re-export it: softstream export --model "
        + dir
        + " (or use --engine pytorch).";
  }

  /** Lower-case hex SHA-256 of {@code bytes}. */
  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }
}
