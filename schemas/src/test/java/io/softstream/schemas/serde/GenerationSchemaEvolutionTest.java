package io.softstream.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.InMemorySchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

/**
 * The fan-out fields (parent_request_id, first_index, parent_count on GenerationRequest; job_id on
 * GeneratedImage) are a BACKWARD-compatible evolution: the registry accepts the new schemas after
 * the old ones, and records written with the old schemas still read with the new classes.
 */
class GenerationSchemaEvolutionTest {
  static Schema old(String name) throws IOException {
    try (InputStream in =
        GenerationSchemaEvolutionTest.class.getResourceAsStream(
            "/evolution/" + name + ".v1.avsc")) {
      return new Schema.Parser().parse(in);
    }
  }

  @Test
  void theRegistryAcceptsTheNewSchemasAfterTheOldOnesUnderBackward() throws IOException {
    SchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    for (var c :
        Map.of(
                "generation-requests-value",
                new Schema[] {old("GenerationRequest"), GenerationRequest.getClassSchema()},
                "generated-images-value",
                new Schema[] {old("GeneratedImage"), GeneratedImage.getClassSchema()})
            .entrySet()) {
      registry.setCompatibility(c.getKey(), CompatibilityLevel.BACKWARD);
      registry.register(c.getKey(), c.getValue()[0]);
      assertThat(registry.testCompatibility(c.getKey(), c.getValue()[1]).compatible())
          .as(c.getKey())
          .isTrue();
      assertThat(registry.register(c.getKey(), c.getValue()[1]).version()).isEqualTo(2);
    }
  }

  @Test
  void oldRecordsReadWithTheNewClasses() throws IOException {
    Map<String, Object> config = Map.of("schema.registry.url", "mock://evolution");
    SchemaRegistryClient registry = InMemorySchemaRegistryClient.forScope("evolution");

    GenericRecord oldRequest = new GenericData.Record(old("GenerationRequest"));
    oldRequest.put("request_id", "r1");
    oldRequest.put("label", 3);
    oldRequest.put("prompt", null);
    oldRequest.put("count", 12);
    oldRequest.put("seed", 7L);
    oldRequest.put("guidance_scale", 4f);
    oldRequest.put("sampling_steps", 10);
    byte[] bytes =
        new AvroSerializer<GenericRecord>(registry, config, false)
            .serialize("generation-requests", oldRequest);
    AvroDeserializer<GenerationRequest> requests =
        new AvroDeserializer<>(registry, GenerationRequest.class);
    requests.configure(config, false);
    GenerationRequest read = requests.deserialize("generation-requests", bytes);
    assertThat(read.getCount()).isEqualTo(12);
    assertThat(read.getParentRequestId()).isNull();
    assertThat(read.getFirstIndex()).isZero();
    assertThat(read.getParentCount()).isNull();

    GenericRecord oldImage = new GenericData.Record(old("GeneratedImage"));
    oldImage.put("request_id", "r1");
    oldImage.put("index", 2);
    oldImage.put("label", 3);
    oldImage.put("png", ByteBuffer.wrap(new byte[] {1}));
    oldImage.put("generator_model", "g:1");
    oldImage.put("decoder_model", "d:1");
    oldImage.put("tokens", null);
    byte[] imageBytes =
        new AvroSerializer<GenericRecord>(registry, config, false)
            .serialize("generated-images", oldImage);
    AvroDeserializer<GeneratedImage> images =
        new AvroDeserializer<>(registry, GeneratedImage.class);
    images.configure(config, false);
    GeneratedImage image = images.deserialize("generated-images", imageBytes);
    assertThat(image.getIndex()).isEqualTo(2);
    assertThat(image.getJobId()).isNull();
    InMemorySchemaRegistryClient.dropScope("evolution");
  }
}
