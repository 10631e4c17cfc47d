package io.softstream.bench;

import io.softstream.model.TokenizerConfig;

/**
 * Multiply-adds of the encoder forward pass, counted from its config (2 FLOPs per multiply-add).
 */
final class ModelFlops {
  private ModelFlops() {}

  /** FLOPs to encode one image: patch embedding, transformer blocks, projection and quantizer. */
  static double encoderFlopsPerImage(TokenizerConfig c) {
    double p = c.numPatches();
    double n = c.tokens();
    double s = p + n;
    double dm = c.encDim();
    double flops = 2 * p * c.patchDim() * dm; // patch embedding
    double perBlock =
        2 * s * dm * 3 * dm // qkv
            + 2 * 2 * s * s * dm // scores and weighted sum
            + 2 * s * dm * dm // output projection
            + 2 * 2 * s * dm * dm * c.mlpRatio(); // MLP
    flops += c.encDepth() * perBlock;
    flops += 2 * n * dm * c.codeDim(); // to_code
    if (!c.quantizer().equals("none")) {
      flops +=
          2
              * 2
              * n
              * c.codeDim()
              * (double) c.codebookSize()
              / c.numCodebooks(); // logits + weighted sum
    }
    return flops;
  }
}
