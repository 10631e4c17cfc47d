/**
 * Trains and evaluates the tokenizer: {@link io.softstream.trainer.TrainerRun#run} is the one entry
 * point, {@link io.softstream.trainer.Evaluation} the held-out metrics, and the CLI's {@code
 * softstream train} the command line. Retraining on what is served reads recent images with {@link
 * io.softstream.trainer.TopicImages} and fetches and publishes versions through topology's model
 * registry with {@link io.softstream.trainer.PublishedModels}.
 */
package io.softstream.trainer;
