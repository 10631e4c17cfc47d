/**
 * Trains and evaluates the tokenizer: {@link io.softstream.trainer.TrainerRun#run} is the one entry
 * point, {@link io.softstream.trainer.Evaluation} the held-out metrics, {@link io.softstream.trainer.TrainMain}
 * the command line.
 */
package io.softstream.trainer;
