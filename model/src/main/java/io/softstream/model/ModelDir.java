package io.softstream.model;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.util.Pair;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads and writes model directories.
 *
 * <p>A tokenizer directory holds {@code model.json} ({@link ModelCard}), {@code encoder.params}
 * (the {@link TokenEncoder}, quantizer included) and {@code decoder.params} (the {@link
 * TokenDecoder}), both in DJL's block parameter format, so an encode worker and a decode worker
 * each load only their half. A teacher directory holds {@code model.json} and {@code
 * teacher.params}.
 */
public final class ModelDir {
  /** Card file name. */
  public static final String CARD = "model.json";

  /** Encoder parameter file name. */
  public static final String ENCODER = "encoder.params";

  /** Decoder parameter file name. */
  public static final String DECODER = "decoder.params";

  /** Teacher parameter file name. */
  public static final String TEACHER = "teacher.params";

  private ModelDir() {}

  /** A freshly initialised encoder (uses the engine's random seed). */
  public static TokenEncoder newEncoder(TokenizerConfig cfg, NDManager manager) {
    TokenEncoder enc = new TokenEncoder(cfg);
    init(enc, manager, new Shape(1, cfg.channels(), cfg.imageSize(), cfg.imageSize()));
    return enc;
  }

  /** A freshly initialised decoder (uses the engine's random seed). */
  public static TokenDecoder newDecoder(TokenizerConfig cfg, NDManager manager) {
    TokenDecoder dec = new TokenDecoder(cfg);
    init(dec, manager, new Shape(1, cfg.tokens(), cfg.codeDim()));
    return dec;
  }

  /** A freshly initialised teacher for {@code channels x size x size} images. */
  public static TeacherClassifier newTeacher(
      int width, int classes, int channels, int size, NDManager manager) {
    return newTeacher(width, classes, 3, channels, size, manager);
  }

  /**
   * A freshly initialised teacher with {@code depth} conv layers (see {@link TeacherClassifier}).
   */
  public static TeacherClassifier newTeacher(
      int width, int classes, int depth, int channels, int size, NDManager manager) {
    TeacherClassifier t = new TeacherClassifier(width, classes, depth);
    init(t, manager, new Shape(1, channels, size, size));
    return t;
  }

  private static void init(Block block, NDManager manager, Shape input) {
    block.setInitializer(new XavierInitializer(), Parameter.Type.WEIGHT);
    block.initialize(manager, DataType.FLOAT32, input);
  }

  /**
   * Writes {@code model.json}, {@code encoder.params} and {@code decoder.params} into {@code dir}.
   */
  public static void saveTokenizer(Path dir, ModelCard card, TokenEncoder enc, TokenDecoder dec)
      throws IOException {
    Files.createDirectories(dir);
    writeCard(dir, card);
    saveParams(enc, dir.resolve(ENCODER));
    saveParams(dec, dir.resolve(DECODER));
  }

  /** Writes {@code model.json} and {@code teacher.params} into {@code dir}. */
  public static void saveTeacher(Path dir, ModelCard card, TeacherClassifier teacher)
      throws IOException {
    Files.createDirectories(dir);
    writeCard(dir, card);
    saveParams(teacher, dir.resolve(TEACHER));
  }

  /** Writes the card alone (e.g. to add metrics after evaluation). */
  public static void writeCard(Path dir, ModelCard card) throws IOException {
    ModelCard.JSON.writeValue(dir.resolve(CARD).toFile(), card);
  }

  /**
   * Reads and checks {@code model.json}.
   *
   * @throws MalformedModelException if the file is missing, unreadable, or of an unknown
   *     format_version
   */
  public static ModelCard readCard(Path dir) throws MalformedModelException {
    Path f = dir.resolve(CARD);
    if (!Files.isRegularFile(f)) {
      throw new MalformedModelException(
          "No "
              + CARD
              + " in model directory "
              + dir
              + ": not a Softstream model directory; point at the folder that holds model.json");
    }
    Map<?, ?> raw;
    try {
      raw = ModelCard.JSON.readValue(f.toFile(), Map.class);
    } catch (IOException e) {
      throw new MalformedModelException("Cannot parse " + f + ": " + e.getMessage(), e);
    }
    Object v = raw.get("format_version");
    if (!(v instanceof Number n) || n.intValue() != ModelCard.FORMAT_VERSION) {
      throw new MalformedModelException(
          "Unsupported format_version "
              + v
              + " in "
              + f
              + ": this build reads format_version "
              + ModelCard.FORMAT_VERSION
              + "; use a matching softstream-model version or re-export the model");
    }
    try {
      return ModelCard.JSON.convertValue(raw, ModelCard.class);
    } catch (IllegalArgumentException e) {
      throw new MalformedModelException("Invalid " + f + ": " + e.getMessage(), e);
    }
  }

  /** Builds the encoder described by {@code dir/model.json} and loads {@code encoder.params}. */
  public static TokenEncoder loadEncoder(Path dir, NDManager manager)
      throws IOException, MalformedModelException {
    TokenEncoder enc = new TokenEncoder(tokenizerCard(dir).tokenizerConfig());
    loadParams(enc, dir.resolve(ENCODER), manager);
    return enc;
  }

  /** Builds the decoder described by {@code dir/model.json} and loads {@code decoder.params}. */
  public static TokenDecoder loadDecoder(Path dir, NDManager manager)
      throws IOException, MalformedModelException {
    TokenDecoder dec = new TokenDecoder(tokenizerCard(dir).tokenizerConfig());
    loadParams(dec, dir.resolve(DECODER), manager);
    return dec;
  }

  /**
   * The card config of a teacher-style classifier: what {@link #loadTeacher} reads to rebuild it
   * ({@code width}, {@code depth}, {@code classes}) and what its features mean ({@code channels} x
   * {@code image_size} input, {@code feature_dim} per cell of a {@code feature_grid} = size / 4
   * square grid).
   */
  public static Map<String, Object> teacherConfig(
      TeacherClassifier t, int classes, int channels, int size) {
    Map<String, Object> config = new java.util.LinkedHashMap<>();
    config.put("width", t.width());
    config.put("depth", t.depth());
    config.put("classes", classes);
    config.put("channels", channels);
    config.put("image_size", size);
    config.put("feature_dim", t.featureDim());
    config.put("feature_grid", size / 4);
    return config;
  }

  /** Builds the teacher described by {@code dir/model.json} and loads {@code teacher.params}. */
  public static TeacherClassifier loadTeacher(Path dir, NDManager manager)
      throws IOException, MalformedModelException {
    ModelCard card = readCard(dir);
    if (!ModelCard.KIND_TEACHER.equals(card.kind())) {
      throw new MalformedModelException(
          dir + " holds a " + card.kind() + ", not a " + ModelCard.KIND_TEACHER);
    }
    Object depth = card.config().get("depth");
    TeacherClassifier t =
        new TeacherClassifier(
            ((Number) card.config().get("width")).intValue(),
            ((Number) card.config().get("classes")).intValue(),
            depth instanceof Number d ? d.intValue() : 3);
    loadParams(t, dir.resolve(TEACHER), manager);
    return t;
  }

  private static ModelCard tokenizerCard(Path dir) throws MalformedModelException {
    ModelCard card = readCard(dir);
    if (!ModelCard.KIND_TOKENIZER.equals(card.kind())) {
      throw new MalformedModelException(
          dir + " holds a " + card.kind() + ", not a " + ModelCard.KIND_TOKENIZER);
    }
    return card;
  }

  /** Saves a block's parameters in DJL's format. */
  public static void saveParams(Block block, Path file) throws IOException {
    try (OutputStream os = Files.newOutputStream(file);
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(os))) {
      block.saveParameters(out);
    }
  }

  /**
   * Copies every parameter of {@code from} into the parameter of the same name in {@code to} (which
   * may have more); a missing name or another shape is an error.
   */
  public static void copyParams(Block from, Block to) {
    Map<String, Parameter> target = new HashMap<>();
    for (Pair<String, Parameter> p : to.getParameters()) {
      target.put(p.getKey(), p.getValue());
    }
    for (Pair<String, Parameter> p : from.getParameters()) {
      Parameter t = target.get(p.getKey());
      NDArray src = p.getValue().getArray();
      if (t == null || !t.getArray().getShape().equals(src.getShape())) {
        throw new IllegalArgumentException(
            "parameter "
                + p.getKey()
                + " "
                + src.getShape()
                + (t == null ? " has no counterpart" : " does not fit " + t.getArray().getShape()));
      }
      src.copyTo(t.getArray());
    }
  }

  /** Loads a block's parameters saved by {@link #saveParams}. */
  public static void loadParams(Block block, Path file, NDManager manager)
      throws IOException, MalformedModelException {
    try (InputStream is = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(new BufferedInputStream(is))) {
      block.loadParameters(manager, in);
    }
  }
}
