package io.softstream.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.softstream.model.ModelCard;
import io.softstream.model.TokenizerConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything one training run needs. Read from JSON (snake_case keys, unknown keys rejected) and
 * changed by {@code key=value} overrides, where nested model keys are written {@code
 * model.tokens=16}.
 *
 * @param name model name written to the card
 * @param model tokenizer architecture and quantizer
 * @param dataset "fashion-mnist" (labelled 1x32x32, held-out = official test set) or "photos"
 *     (unlabelled 3x{@code model.image_size} RGB crops of wallpaper pictures, see {@link
 *     PhotoCrops}; needs {@code align=false} or {@code align_target=hog}; no linear probe)
 * @param dataDir Fashion-MNIST IDX folder (files may be gzipped)
 * @param trainLimit use only the first n training images (0 = all 60 000); Fashion-MNIST only
 * @param photoDirs picture folders for "photos" (default: the gnome and mate backgrounds)
 * @param photoTrainCrops training crops for "photos", taken from the training pictures
 * @param photoHeldoutCrops held-out crops for "photos", taken from the held-out pictures
 * @param photoMaxSide largest crop side in source pixels for "photos" (crops are scaled to
 *     image_size)
 * @param photoHeldoutSourceDirs picture folders held out whole ("photos"): never trained on, scored
 *     separately as {@code heldout_source} (e.g. one Debian package, see scripts/photo-sources.py)
 * @param photoColourAugment "photos": half of the training crops get a random channel permutation
 *     and/or inversion (see {@link PhotoCrops#augment}), so colours outside the pictures' palette
 *     are reproduced too
 * @param photoSyntheticShare "photos": share of the training crops replaced by flat colours and
 *     smooth gradients drawn uniformly from the RGB cube (0 = none)
 * @param outputDir model directory to write (model.json, encoder.params, decoder.params, README.md)
 * @param checkpointDir checkpoint folder; a run resumes from it when it holds a checkpoint (null =
 *     none)
 * @param checkpointEvery steps between checkpoints (0 = only at the end)
 * @param stopAtStep stop after this step as if interrupted, keeping the schedule of {@code steps}
 *     (0 = off)
 * @param steps optimiser steps
 * @param batchSize images per step
 * @param lr peak learning rate
 * @param minLr final learning rate of the cosine schedule
 * @param warmupSteps linear warm-up steps
 * @param beta1 AdamW beta1
 * @param beta2 AdamW beta2
 * @param weightDecay decoupled weight decay (applied to weight matrices only)
 * @param gradClip global gradient-norm clip (0 = off)
 * @param emaDecay EMA decay of the weights written to the model dir (0 = no EMA)
 * @param seed seeds weight init and data order
 * @param align representation alignment on/off
 * @param alignWeight weight of the alignment loss (-cos)
 * @param alignHidden hidden width of the alignment MLP
 * @param alignTarget "teacher" (patch features of the trained classifier) or "hog" (HOG-style
 *     gradient-orientation histograms per patch, for photos without labels)
 * @param teacherDir teacher classifier directory; trained there first when missing
 * @param teacherSteps teacher training steps (batch 128, Adam 1e-3)
 * @param teacherWidth teacher base width
 * @param logEvery steps between progress lines
 * @param evalImages held-out images for the final evaluation (0 = skip Evaluation)
 * @param probeTrainImages training images for the linear probe
 * @param initFrom model directory whose encoder/decoder weights start the run (fine-tuning; its
 *     architecture must equal {@code model}, or be it without {@code dec_conv_kernel}); null =
 *     fresh initialisation
 * @param recLoss reconstruction loss: "mse" (the batch's mean squared error) or "log_mse" (the mean
 *     over images of log(mse_i + log_mse_eps): every image counts the same in dB, so a near-flat
 *     crop's small error is not drowned by a detailed crop's large one)
 * @param logMseEps the floor added to each image's MSE under "log_mse": it caps an image's weight
 *     where its PSNR passes 10 log10(4 / eps) (1e-5: ~56 dB; 1e-4: ~46 dB, more weight left for
 *     detailed crops)
 * @param photoSyntheticFields "photos": share of the synthetic crops that are smooth colour fields
 *     (three long cosine waves; two fifths of them in the std 12.75-25.5 bucket) instead of a flat
 *     colour or a gentle ramp, so wide smooth shading of medium contrast is learnt too (0 = none,
 *     as before)
 * @param photoSyntheticEdges "photos": share of those smooth colour fields split by one sharp,
 *     gently curved edge into two fields (ribbons and stripes with hard borders, which a held-out
 *     package is full of; 0 = none, as before)
 */
public record TrainConfig(
    String name,
    TokenizerConfig model,
    String dataset,
    String dataDir,
    int trainLimit,
    java.util.List<String> photoDirs,
    int photoTrainCrops,
    int photoHeldoutCrops,
    int photoMaxSide,
    java.util.List<String> photoHeldoutSourceDirs,
    boolean photoColourAugment,
    float photoSyntheticShare,
    String outputDir,
    String checkpointDir,
    int checkpointEvery,
    int stopAtStep,
    int steps,
    int batchSize,
    float lr,
    float minLr,
    int warmupSteps,
    float beta1,
    float beta2,
    float weightDecay,
    float gradClip,
    float emaDecay,
    long seed,
    boolean align,
    float alignWeight,
    int alignHidden,
    String alignTarget,
    String teacherDir,
    int teacherSteps,
    int teacherWidth,
    int logEvery,
    int evalImages,
    int probeTrainImages,
    String initFrom,
    String recLoss,
    float logMseEps,
    float photoSyntheticFields,
    float photoSyntheticEdges) {

  /** Checks ranges. */
  public TrainConfig {
    if (steps <= 0 || batchSize <= 0 || logEvery <= 0) {
      throw new IllegalArgumentException("steps, batch_size and log_every must be > 0");
    }
    if (!(lr > 0) || minLr < 0 || warmupSteps < 0) {
      throw new IllegalArgumentException("lr must be > 0, min_lr and warmup_steps >= 0");
    }
    if (emaDecay < 0 || emaDecay >= 1) {
      throw new IllegalArgumentException("ema_decay must be in [0, 1), got " + emaDecay);
    }
    if (!"fashion-mnist".equals(dataset) && !"photos".equals(dataset)) {
      throw new IllegalArgumentException("dataset must be fashion-mnist or photos, got " + dataset);
    }
    // (Fields are assigned after this compact constructor: test the parameters, not photos().)
    boolean photos = "photos".equals(dataset);
    if (photos && align && !"hog".equals(alignTarget)) {
      throw new IllegalArgumentException(
          "dataset=photos has no labels for a teacher: use align_target=hog or align=false");
    }
    if (photos
        && (photoTrainCrops <= 0
            || photoHeldoutCrops <= 0
            || photoDirs == null
            || photoDirs.isEmpty())) {
      throw new IllegalArgumentException(
          "dataset=photos needs photo_dirs and photo_train_crops, photo_heldout_crops > 0");
    }
    if (photoSyntheticShare < 0 || photoSyntheticShare > 1) {
      throw new IllegalArgumentException(
          "photo_synthetic_share must be in [0, 1], got " + photoSyntheticShare);
    }
    if (!"mse".equals(recLoss) && !"log_mse".equals(recLoss)) {
      throw new IllegalArgumentException("rec_loss must be mse or log_mse, got " + recLoss);
    }
    if (photoSyntheticFields < 0 || photoSyntheticFields > 1) {
      throw new IllegalArgumentException(
          "photo_synthetic_fields must be in [0, 1], got " + photoSyntheticFields);
    }
    if (photoSyntheticEdges < 0 || photoSyntheticEdges > 1) {
      throw new IllegalArgumentException(
          "photo_synthetic_edges must be in [0, 1], got " + photoSyntheticEdges);
    }
    if (!(logMseEps > 0)) {
      throw new IllegalArgumentException("log_mse_eps must be > 0, got " + logMseEps);
    }
    if (!"teacher".equals(alignTarget) && !"hog".equals(alignTarget)) {
      throw new IllegalArgumentException("align_target must be teacher or hog, got " + alignTarget);
    }
    if (align && "teacher".equals(alignTarget) && (teacherDir == null || teacherDir.isBlank())) {
      throw new IllegalArgumentException("align=true with align_target=teacher needs teacher_dir");
    }
  }

  /** True for the photo data set. */
  public boolean photos() {
    return "photos".equals(dataset);
  }

  /** Defaults for Fashion-MNIST SoftVQ with 32 tokens. */
  public static TrainConfig defaults() {
    return new TrainConfig(
        "softvq-fmnist-32",
        TokenizerConfig.fashionMnist(),
        "fashion-mnist",
        "/usr/share/datasets/fashion-mnist",
        0,
        PhotoCrops.DEFAULT_DIRS,
        10000,
        1000,
        512,
        java.util.List.of(),
        false,
        0f,
        "models/softvq-fmnist-32",
        null,
        500,
        0,
        3000,
        64,
        2e-3f,
        1e-4f,
        200,
        0.9f,
        0.95f,
        1e-4f,
        1.0f,
        0.999f,
        42L,
        true,
        0.1f,
        256,
        "teacher",
        "models/fmnist-teacher",
        400,
        32,
        25,
        10000,
        10000,
        null,
        "mse",
        1e-5f,
        0f,
        0f);
  }

  /** Reads a JSON file on top of {@link #defaults()}. */
  public static TrainConfig fromJson(Path file) throws IOException {
    ObjectNode base = ModelCard.JSON.valueToTree(defaults());
    JsonNode given = ModelCard.JSON.readTree(file.toFile());
    merge(base, given, "");
    return ModelCard.JSON.treeToValue(base, TrainConfig.class);
  }

  private static void merge(ObjectNode base, JsonNode given, String prefix) {
    given
        .fields()
        .forEachRemaining(
            e -> {
              JsonNode cur = base.get(e.getKey());
              if (cur == null) {
                throw new IllegalArgumentException("Unknown config key " + prefix + e.getKey());
              }
              if (cur.isObject() && e.getValue().isObject()) {
                merge((ObjectNode) cur, e.getValue(), prefix + e.getKey() + ".");
              } else {
                base.set(e.getKey(), e.getValue());
              }
            });
  }

  /** A copy with {@code key=value} overrides applied; values are parsed as JSON when they parse. */
  public TrainConfig withOverrides(Map<String, String> overrides) {
    ObjectNode root = ModelCard.JSON.valueToTree(this);
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      String[] path = e.getKey().split("\\.");
      ObjectNode node = root;
      for (int i = 0; i < path.length - 1; i++) {
        JsonNode child = node.get(path[i]);
        if (!(child instanceof ObjectNode)) {
          throw new IllegalArgumentException("Unknown config key " + e.getKey());
        }
        node = (ObjectNode) child;
      }
      String leaf = path[path.length - 1];
      if (!node.has(leaf)) {
        throw new IllegalArgumentException("Unknown config key " + e.getKey());
      }
      node.set(leaf, parse(e.getValue()));
    }
    try {
      return ModelCard.JSON.treeToValue(root, TrainConfig.class);
    } catch (IOException ex) {
      throw new IllegalArgumentException("Bad override: " + ex.getMessage(), ex);
    }
  }

  private static JsonNode parse(String v) {
    try {
      JsonNode n = ModelCard.JSON.readTree(v);
      return n == null || n.isMissingNode() ? TextNode.valueOf(v) : n;
    } catch (IOException e) {
      return TextNode.valueOf(v);
    }
  }

  /**
   * A copy that fine-tunes the model directory {@code dir}: its architecture (from its card) and
   * its weights as the start ({@code init_from}); every other setting is this config's.
   */
  public TrainConfig continuingFrom(Path dir) throws IOException, ai.djl.MalformedModelException {
    ObjectNode tree = ModelCard.JSON.valueToTree(this);
    tree.set(
        "model",
        ModelCard.JSON.valueToTree(io.softstream.model.ModelDir.readCard(dir).tokenizerConfig()));
    tree.put("init_from", dir.toString());
    return ModelCard.JSON.treeToValue(tree, TrainConfig.class);
  }

  /**
   * A copy with another model and all output paths under {@code dir} (used by tests and sweeps).
   */
  public TrainConfig withModel(TokenizerConfig m, Path dir) {
    return new TrainConfig(
        name,
        m,
        dataset,
        dataDir,
        trainLimit,
        photoDirs,
        photoTrainCrops,
        photoHeldoutCrops,
        photoMaxSide,
        photoHeldoutSourceDirs,
        photoColourAugment,
        photoSyntheticShare,
        dir.resolve("model").toString(),
        checkpointDir,
        checkpointEvery,
        stopAtStep,
        steps,
        batchSize,
        lr,
        minLr,
        warmupSteps,
        beta1,
        beta2,
        weightDecay,
        gradClip,
        emaDecay,
        seed,
        align,
        alignWeight,
        alignHidden,
        alignTarget,
        dir.resolve("teacher").toString(),
        teacherSteps,
        teacherWidth,
        logEvery,
        evalImages,
        probeTrainImages,
        initFrom,
        recLoss,
        logMseEps,
        photoSyntheticFields,
        photoSyntheticEdges);
  }
}
