package io.softstream.trainer;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.softstream.model.ModelCard;
import io.softstream.model.TokenizerConfig;

/** Renders a model directory's README.md from its card. */
final class ModelCardText {
  private ModelCardText() {}

  static String render(ModelCard card) {
    TokenizerConfig c = card.tokenizerConfig();
    StringBuilder sb = new StringBuilder();
    sb.append("# ").append(card.name()).append("\n\n");
    sb.append("Image tokenizer (`")
        .append(c.quantizer())
        .append("`): ")
        .append(c.channels())
        .append("x")
        .append(c.imageSize())
        .append("x")
        .append(c.imageSize())
        .append(" images in [-1, 1] -> ")
        .append(c.tokens())
        .append(" latent tokens of ")
        .append(c.codeDim())
        .append(" floats");
    if (!c.quantizer().equals("none")) {
      sb.append(" (")
          .append(c.numCodebooks())
          .append(" codebook(s) x ")
          .append(c.codebookSize())
          .append(" codewords, tau ")
          .append(c.tau())
          .append(")");
    }
    sb.append(".\nEncoder ViT ")
        .append(c.encDim())
        .append("/")
        .append(c.encDepth())
        .append("/")
        .append(c.encHeads())
        .append(", decoder ViT ")
        .append(c.decDim())
        .append("/")
        .append(c.decDepth())
        .append("/")
        .append(c.decHeads())
        .append(" (width/depth/heads), patch ")
        .append(c.patchSize());
    if (c.decConvKernel() > 0) {
      sb.append(", a ")
          .append(c.decConvKernel())
          .append("x")
          .append(c.decConvKernel())
          .append(" convolution over the decoder's patch grid added to its pixel projection");
    }
    sb.append(".\n\nFiles: `model.json` (machine-readable card, format_version ")
        .append(card.formatVersion())
        .append(
            "), `encoder.params`, `decoder.params` (DJL block parameters; see model/README.md for names"
                + " and tensor layout), `reconstructions.png` (top: held-out originals, bottom: reconstructions).\n\n");
    try {
      sb.append("## Training\n\n```json\n")
          .append(ModelCard.JSON.writeValueAsString(card.training()))
          .append("\n```\n\n## Metrics (held-out = ")
          .append(
              "photos".equals(card.training().get("dataset"))
                  ? "crops of the held-out pictures"
                  : "Fashion-MNIST test set")
          .append(")\n\n```json\n")
          .append(ModelCard.JSON.writeValueAsString(card.metrics()))
          .append("\n```\n");
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    return sb.toString();
  }
}
