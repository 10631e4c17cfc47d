package io.softstream.topology.streams.generation;

import io.softstream.schemas.avro.CompletionStatus;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationCompletion;
import io.softstream.schemas.avro.GenerationRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requests in → unit jobs out (fan-out); images in → one completion per request out (fan-in). See
 * {@link GenerationApp} for the guarantees. State per request id lives in {@link
 * GenerationApp#STORE}; timeouts and expiry run on a wall-clock punctuator.
 */
final class FanOutFanIn implements Processor<String, SpecificRecord, String, SpecificRecord> {
  private static final Logger log = LoggerFactory.getLogger(FanOutFanIn.class);
  private final GenerationApp.Settings settings;
  private ProcessorContext<String, SpecificRecord> context;
  private KeyValueStore<String, FanInState> store;

  FanOutFanIn(GenerationApp.Settings settings) {
    this.settings = settings;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
    this.store = context.getStateStore(GenerationApp.STORE);
    context.schedule(settings.punctuateInterval(), PunctuationType.WALL_CLOCK_TIME, this::expire);
  }

  @Override
  public void process(Record<String, SpecificRecord> record) {
    if (record.value() instanceof GenerationRequest req) {
      onRequest(record, req);
    } else if (record.value() instanceof GeneratedImage img) {
      onImage(record, img);
    }
    // A null value (a tombstone or a record the deserialization handler let through) carries
    // nothing to fan out or join.
  }

  private void onRequest(Record<String, SpecificRecord> record, GenerationRequest req) {
    String id = req.getRequestId().toString();
    int count = req.getCount();
    if (count < 1 || count > settings.maxCount()) {
      // Not ours to reject: the worker dead-letters it with the same reason as when it reads
      // requests directly.
      context.forward(record.withKey(id).withValue(req), GenerationApp.JOBS_SINK);
      return;
    }
    FanInState state = store.get(id);
    if (state != null && state.expected >= 0) {
      log.warn(
          "Generation request {} seen again while its earlier copy is {}: not fanned out again",
          id,
          state.done ? "completed" : "in progress");
      return;
    }
    int unit = settings.unitSize();
    int jobs = (count + unit - 1) / unit;
    for (int first = 0; first < count; first += unit) {
      String key = GenerationApp.jobKey(id, first);
      GenerationRequest job =
          GenerationRequest.newBuilder(req)
              .setRequestId(key)
              .setCount(Math.min(unit, count - first))
              .setParentRequestId(id)
              .setFirstIndex(first)
              .setParentCount(count)
              .build();
      context.forward(record.withKey(key).withValue(job), GenerationApp.JOBS_SINK);
    }
    long now = context.currentSystemTimeMs();
    if (state == null) {
      state = new FanInState();
    } else {
      // Images that arrived before their request: keep them, drop those out of range.
      state.received.clear(count, Math.max(count, state.received.length()));
    }
    state.expected = count;
    state.jobs = jobs;
    state.requestedMs = record.timestamp();
    state.deadlineMs = now + settings.timeout().toMillis();
    completeIfAll(id, state, record.timestamp());
    store.put(id, state);
  }

  private void onImage(Record<String, SpecificRecord> record, GeneratedImage img) {
    String id = img.getRequestId().toString();
    int index = img.getIndex();
    FanInState state = store.get(id);
    if (state == null) {
      // Its request has not been seen (yet): keep the image until the request or the timeout.
      state = FanInState.orphan(context.currentSystemTimeMs() + settings.timeout().toMillis());
    }
    if (state.done) {
      state.late++;
      log.debug("Image {} of request {} arrived after its completion: ignored", index, id);
    } else if (index < 0 || (state.expected >= 0 && index >= state.expected)) {
      log.warn(
          "Image index {} of request {} is outside 0..{}: ignored", index, id, state.expected - 1);
    } else if (state.received.get(index)) {
      state.duplicates++;
    } else {
      state.received.set(index);
      long ts = record.timestamp();
      state.firstImageMs = state.firstImageMs < 0 ? ts : Math.min(state.firstImageMs, ts);
      state.lastImageMs = Math.max(state.lastImageMs, ts);
      completeIfAll(id, state, state.lastImageMs);
    }
    store.put(id, state);
  }

  private void completeIfAll(String id, FanInState state, long time) {
    if (state.complete()) {
      emit(id, state, CompletionStatus.COMPLETE, time);
    }
  }

  /** Writes the completion and marks the state done (kept for doneRetention, for late images). */
  private void emit(String id, FanInState state, CompletionStatus status, long time) {
    List<Integer> received = new ArrayList<>();
    List<Integer> missing = new ArrayList<>();
    for (int i = 0; i < state.expected; i++) {
      (state.received.get(i) ? received : missing).add(i);
    }
    GenerationCompletion c =
        GenerationCompletion.newBuilder()
            .setRequestId(id)
            .setStatus(status)
            .setCountExpected(state.expected)
            .setIndicesReceived(received)
            .setMissingIndices(missing)
            .setDuplicates(state.duplicates)
            .setJobs(state.jobs)
            .setRequestedTime(Instant.ofEpochMilli(state.requestedMs))
            .setFirstImageTime(
                state.firstImageMs < 0 ? null : Instant.ofEpochMilli(state.firstImageMs))
            .setLastImageTime(
                state.lastImageMs < 0 ? null : Instant.ofEpochMilli(state.lastImageMs))
            .setCompletedTime(Instant.ofEpochMilli(time))
            .build();
    context.forward(new Record<>(id, c, time), GenerationApp.COMPLETIONS_SINK);
    state.done = true;
    state.doneMs = context.currentSystemTimeMs();
  }

  /** Wall-clock punctuation: PARTIAL completions for requests past their timeout; expiry. */
  private void expire(long now) {
    List<KeyValue<String, FanInState>> due = new ArrayList<>();
    try (KeyValueIterator<String, FanInState> it = store.all()) {
      while (it.hasNext()) {
        KeyValue<String, FanInState> kv = it.next();
        FanInState s = kv.value;
        boolean expired = s.done && now >= s.doneMs + settings.doneRetention().toMillis();
        if (expired || (!s.done && now >= s.deadlineMs)) {
          due.add(kv);
        }
      }
    }
    // Changed after the scan: a store must not be written while iterated.
    for (KeyValue<String, FanInState> kv : due) {
      FanInState s = kv.value;
      if (s.done) {
        store.delete(kv.key);
      } else if (s.expected < 0) {
        log.warn(
            "{} image(s) for request {} arrived but the request never did (is generation-requests"
                + " keyed by request id, with as many partitions as generated-images?): dropped",
            s.received.cardinality(),
            kv.key);
        store.delete(kv.key);
      } else {
        emit(kv.key, s, CompletionStatus.PARTIAL, now);
        store.put(kv.key, s);
      }
    }
  }
}
