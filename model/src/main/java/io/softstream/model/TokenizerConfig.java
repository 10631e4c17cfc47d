package io.softstream.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Architecture of a 1-D latent-token image tokenizer (SoftVQ-VAE and its baselines).
 *
 * <p>Images are {@code channels x imageSize x imageSize} in [-1, 1], cut into {@code patchSize}
 * square patches. The encoder emits {@code tokens} latent tokens of {@code codeDim} floats each.
 *
 * @param imageSize side of the square input image in pixels
 * @param channels image channels (1 = grayscale, 3 = RGB)
 * @param patchSize side of a square patch; must divide {@code imageSize}
 * @param tokens number of latent tokens N; must be divisible by {@code numCodebooks}
 * @param codeDim dimension of each latent token
 * @param codebookSize codewords per codebook K (ignored when {@code quantizer} is "none")
 * @param numCodebooks codebooks G; token group g (consecutive N/G tokens) uses codebook g
 * @param tau fixed softmax temperature of the soft quantizer
 * @param quantizer "softvq", "hardvq" (nearest codeword + straight-through) or "none" (plain AE)
 * @param entropyWeight weight of the soft quantizer's entropy regulariser
 * @param entropyTemperature temperature of the entropy regulariser's softmax (official code: 0.01)
 * @param commitmentWeight hard-VQ commitment-loss weight (beta)
 * @param encDim encoder width
 * @param encDepth encoder blocks
 * @param encHeads encoder attention heads
 * @param decDim decoder width
 * @param decDepth decoder blocks
 * @param decHeads decoder attention heads
 * @param mlpRatio MLP hidden width / model width
 * @param decConvKernel 0 (none), or the odd side k of a k x k convolution over the decoder's patch
 *     grid added to its pixel projection, so each patch's pixels also see its neighbours' features;
 *     zero-initialised (on the photo model it added 0.03-0.05 dB in the detailed buckets against a
 *     control without it: models/softvq-photo-64-next/README.md)
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record TokenizerConfig(
    int imageSize,
    int channels,
    int patchSize,
    int tokens,
    int codeDim,
    int codebookSize,
    int numCodebooks,
    float tau,
    String quantizer,
    float entropyWeight,
    float entropyTemperature,
    float commitmentWeight,
    int encDim,
    int encDepth,
    int encHeads,
    int decDim,
    int decDepth,
    int decHeads,
    int mlpRatio,
    int decConvKernel) {

  /** The configuration without a decoder convolution ({@code dec_conv_kernel} 0). */
  public TokenizerConfig(
      int imageSize,
      int channels,
      int patchSize,
      int tokens,
      int codeDim,
      int codebookSize,
      int numCodebooks,
      float tau,
      String quantizer,
      float entropyWeight,
      float entropyTemperature,
      float commitmentWeight,
      int encDim,
      int encDepth,
      int encHeads,
      int decDim,
      int decDepth,
      int decHeads,
      int mlpRatio) {
    this(
        imageSize,
        channels,
        patchSize,
        tokens,
        codeDim,
        codebookSize,
        numCodebooks,
        tau,
        quantizer,
        entropyWeight,
        entropyTemperature,
        commitmentWeight,
        encDim,
        encDepth,
        encHeads,
        decDim,
        decDepth,
        decHeads,
        mlpRatio,
        0);
  }

  /** Checks every field; a bad value names the field and the rule. */
  public TokenizerConfig {
    positive("image_size", imageSize);
    positive("channels", channels);
    positive("patch_size", patchSize);
    positive("tokens", tokens);
    positive("code_dim", codeDim);
    positive("codebook_size", codebookSize);
    positive("num_codebooks", numCodebooks);
    positive("enc_dim", encDim);
    positive("enc_depth", encDepth);
    positive("enc_heads", encHeads);
    positive("dec_dim", decDim);
    positive("dec_depth", decDepth);
    positive("dec_heads", decHeads);
    positive("mlp_ratio", mlpRatio);
    if (decConvKernel < 0 || (decConvKernel > 0 && decConvKernel % 2 == 0)) {
      throw new IllegalArgumentException(
          "dec_conv_kernel must be 0 (none) or odd (1, 3, 5, ...), got " + decConvKernel);
    }
    if (imageSize % patchSize != 0) {
      throw new IllegalArgumentException(
          "patch_size " + patchSize + " must divide image_size " + imageSize);
    }
    if (tokens % numCodebooks != 0) {
      throw new IllegalArgumentException(
          "tokens " + tokens + " must be divisible by num_codebooks " + numCodebooks);
    }
    if (encDim % encHeads != 0 || decDim % decHeads != 0) {
      throw new IllegalArgumentException(
          "enc_dim/dec_dim must be divisible by enc_heads/dec_heads");
    }
    if (!(tau > 0)) {
      throw new IllegalArgumentException("tau must be > 0, got " + tau);
    }
    if (quantizer == null
        || !(quantizer.equals("softvq")
            || quantizer.equals("hardvq")
            || quantizer.equals("none"))) {
      throw new IllegalArgumentException(
          "quantizer must be softvq, hardvq or none, got " + quantizer);
    }
  }

  private static void positive(String name, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(name + " must be > 0, got " + v);
    }
  }

  /**
   * True when {@code o} has the same parameters (shapes and quantizer kind): it may differ only in
   * the settings that hold no weights (tau, entropy and commitment weights), so a run can fine-tune
   * from it at another temperature.
   */
  public boolean sameArchitecture(TokenizerConfig o) {
    return new TokenizerConfig(
            imageSize,
            channels,
            patchSize,
            tokens,
            codeDim,
            codebookSize,
            numCodebooks,
            o.tau,
            quantizer,
            o.entropyWeight,
            o.entropyTemperature,
            o.commitmentWeight,
            encDim,
            encDepth,
            encHeads,
            decDim,
            decDepth,
            decHeads,
            mlpRatio,
            decConvKernel)
        .equals(o);
  }

  /**
   * True when this configuration is {@code o} plus a decoder convolution: a run may start from
   * {@code o}'s weights, the convolution starting at zero (the same decoder output at step 0).
   */
  public boolean addsDecoderConv(TokenizerConfig o) {
    return o.decConvKernel == 0
        && decConvKernel > 0
        && o.withDecConvKernel(decConvKernel).sameArchitecture(this);
  }

  /** This configuration with another {@code dec_conv_kernel}. */
  public TokenizerConfig withDecConvKernel(int k) {
    return new TokenizerConfig(
        imageSize,
        channels,
        patchSize,
        tokens,
        codeDim,
        codebookSize,
        numCodebooks,
        tau,
        quantizer,
        entropyWeight,
        entropyTemperature,
        commitmentWeight,
        encDim,
        encDepth,
        encHeads,
        decDim,
        decDepth,
        decHeads,
        mlpRatio,
        k);
  }

  /** Patches per side. */
  public int gridSize() {
    return imageSize / patchSize;
  }

  /** Number of image patches P. */
  public int numPatches() {
    return gridSize() * gridSize();
  }

  /** Floats per patch: patchSize * patchSize * channels. */
  public int patchDim() {
    return patchSize * patchSize * channels;
  }

  /** A tiny configuration for tests: 8x8 grayscale, patch 4, 4 tokens. */
  public static TokenizerConfig tiny(String quantizer) {
    return new TokenizerConfig(
        8, 1, 4, 4, 4, 8, 2, 0.07f, quantizer, 0.01f, 0.01f, 0.25f, 16, 1, 2, 16, 1, 2, 2);
  }

  /** The default Fashion-MNIST configuration (32x32 grayscale, 32 tokens of 16). */
  public static TokenizerConfig fashionMnist() {
    return new TokenizerConfig(
        32, 1, 4, 32, 16, 512, 2, 0.07f, "softvq", 0.01f, 0.01f, 0.25f, 128, 4, 4, 128, 4, 4, 4);
  }
}
