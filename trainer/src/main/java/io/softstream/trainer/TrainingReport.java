package io.softstream.trainer;

import java.util.List;
import java.util.Map;

/**
 * Result of {@link TrainerRun#run(TrainConfig)}.
 *
 * @param name model name
 * @param quantizer softvq, hardvq or none
 * @param startStep step the run started from (non-zero after a resume)
 * @param steps step reached
 * @param finished whether {@code steps} of the config were reached (false when stopped early)
 * @param seconds wall time of the training loop in this run
 * @param imagesPerSecond training throughput of this run
 * @param firstLoss mean total loss of the first logged window of this run
 * @param finalLoss mean total loss of the last logged window
 * @param lossHistory mean total loss per logged window
 * @param heldoutPsnr PSNR (dB) on the first 256 held-out images with the saved weights
 * @param teacherAccuracy held-out accuracy of the alignment teacher (NaN when alignment is off)
 * @param modelDir model directory written (null when the run stopped early)
 * @param evaluation {@link Evaluation} result (empty when skipped)
 */
public record TrainingReport(
    String name,
    String quantizer,
    int startStep,
    int steps,
    boolean finished,
    double seconds,
    double imagesPerSecond,
    double firstLoss,
    double finalLoss,
    List<Double> lossHistory,
    double heldoutPsnr,
    double teacherAccuracy,
    String modelDir,
    Map<String, Object> evaluation) {}
