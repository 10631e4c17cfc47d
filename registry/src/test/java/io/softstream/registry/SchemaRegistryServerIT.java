package io.softstream.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.softstream.schemas.registry.CompatibilityLevel;
import io.softstream.schemas.registry.CompatibilityResult;
import io.softstream.schemas.registry.RegisteredSchema;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.registry.SchemaRegistryException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The server on a real in-process KRaft broker: the REST client end to end, restart from the topic,
 * raw JSON shapes, and interop with Python's confluent_kafka.avro client.
 */
@Tag("integration")
class SchemaRegistryServerIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String CT = "application/vnd.schemaregistry.v1+json";
  static final Schema V1 =
      new Schema.Parser()
          .parse(
              "{\"type\":\"record\",\"name\":\"Image\",\"namespace\":\"it\",\"fields\":["
                  + "{\"name\":\"id\",\"type\":\"string\"}]}");
  static final Schema V2 =
      new Schema.Parser()
          .parse(
              "{\"type\":\"record\",\"name\":\"Image\",\"namespace\":\"it\",\"fields\":["
                  + "{\"name\":\"id\",\"type\":\"string\"},"
                  + "{\"name\":\"width\",\"type\":\"int\",\"default\":0}]}");
  static final Schema V3_BAD =
      new Schema.Parser()
          .parse(
              "{\"type\":\"record\",\"name\":\"Image\",\"namespace\":\"it\",\"fields\":["
                  + "{\"name\":\"id\",\"type\":\"string\"},"
                  + "{\"name\":\"width\",\"type\":\"int\",\"default\":0},"
                  + "{\"name\":\"height\",\"type\":\"int\"}]}");

  static KafkaClusterTestKit cluster;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void startKafka() throws Exception {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(Level.WARN);
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.softstream")).setLevel(Level.INFO);
    cluster =
        new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .build())
            .build();
    cluster.format();
    cluster.startup();
    cluster.waitForReadyBrokers();
  }

  @AfterAll
  static void stopKafka() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  static SchemaRegistryServer start(String topic) throws Exception {
    return SchemaRegistryServer.builder()
        .setBootstrapServers(cluster.bootstrapServers())
        .optTopic(topic)
        .optPort(0)
        .build()
        .start();
  }

  static SchemaRegistryClient client(SchemaRegistryServer server) {
    return SchemaRegistryClients.create(
        Map.of(
            SchemaRegistryClients.SCHEMA_REGISTRY_URL,
            server.url(),
            SchemaRegistryClients.RETRIES,
            0));
  }

  static int code(Runnable r) {
    try {
      r.run();
    } catch (SchemaRegistryException e) {
      return e.errorCode();
    }
    throw new AssertionError("expected a SchemaRegistryException");
  }

  @Test
  void restClientEndToEndAndEverythingSurvivesARestart() throws Exception {
    String topic = "_schemas_e2e";
    RegisteredSchema r1;
    RegisteredSchema r2;
    RegisteredSchema other;
    try (SchemaRegistryServer server = start(topic)) {
      SchemaRegistryClient c = client(server);
      r1 = c.register("images-value", V1);
      assertThat(r1.id()).isEqualTo(1);
      assertThat(r1.version()).isEqualTo(1);
      assertThat(c.register("images-value", V1)).isEqualTo(r1);
      r2 = c.register("images-value", V2);
      assertThat(r2.id()).isEqualTo(2);
      assertThat(r2.version()).isEqualTo(2);
      other = c.register("other-value", V1);
      assertThat(other.id()).isEqualTo(1);

      assertThat(c.lookup("images-value", V1).version()).isEqualTo(1);
      assertThat(c.schemaById(2)).isEqualTo(V2);
      assertThat(c.versions("images-value")).containsExactly(1, 2);
      assertThat(c.version("images-value", SchemaRegistryClient.LATEST_VERSION)).isEqualTo(r2);
      assertThat(c.subjects()).containsExactly("images-value", "other-value");

      // compatibility refusal: HTTP 409 with the reason
      CompatibilityResult test = c.testCompatibility("images-value", V3_BAD);
      assertThat(test.compatible()).isFalse();
      assertThat(test.messages()).singleElement().asString().contains("'height' has no default");
      assertThatThrownBy(() -> c.register("images-value", V3_BAD))
          .isInstanceOfSatisfying(
              SchemaRegistryException.class,
              e -> {
                assertThat(e.httpStatus()).isEqualTo(409);
                assertThat(e.errorCode()).isEqualTo(409);
              })
          .hasMessageContaining("incompatible")
          .hasMessageContaining("height");

      // per-subject config lets the change through, and only for that subject
      c.setCompatibility("images-value", CompatibilityLevel.FORWARD);
      assertThat(c.compatibility("images-value")).isEqualTo(CompatibilityLevel.FORWARD);
      assertThat(c.compatibility("other-value")).isEqualTo(CompatibilityLevel.BACKWARD);
      assertThat(c.register("images-value", V3_BAD).version()).isEqualTo(3);
      c.setCompatibility(null, CompatibilityLevel.FULL);

      assertThat(code(() -> c.versions("missing"))).isEqualTo(40401);
      assertThat(code(() -> c.schemaById(999))).isEqualTo(40403);
      assertThat(code(() -> c.lookup("other-value", V2))).isEqualTo(40403);
      assertThat(code(() -> c.version("images-value", 9))).isEqualTo(40402);

      c.register("doomed-value", V1);
      assertThat(c.deleteSubject("doomed-value")).containsExactly(1);
    }

    try (SchemaRegistryServer restarted = start(topic)) {
      SchemaRegistryClient c = client(restarted);
      assertThat(c.subjects()).containsExactly("images-value", "other-value");
      assertThat(c.versions("images-value")).containsExactly(1, 2, 3);
      assertThat(c.version("images-value", 1)).isEqualTo(r1);
      assertThat(c.version("images-value", 2)).isEqualTo(r2);
      assertThat(c.version("other-value", 1)).isEqualTo(other);
      assertThat(c.version("images-value", -1).id()).isEqualTo(3);
      assertThat(c.compatibility("images-value")).isEqualTo(CompatibilityLevel.FORWARD);
      assertThat(c.compatibility(null)).isEqualTo(CompatibilityLevel.FULL);
      assertThat(code(() -> c.versions("doomed-value"))).isEqualTo(40401);
      // ids continue after the highest one stored
      Schema fresh = new Schema.Parser().parse("{\"type\":\"string\"}");
      assertThat(c.register("fresh-value", fresh).id()).isEqualTo(4);
    }

    try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers()))) {
      TopicDescription d =
          admin.describeTopics(Set.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
      assertThat(d.partitions()).hasSize(1);
      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      String policy =
          admin
              .describeConfigs(Set.of(res))
              .all()
              .get(30, TimeUnit.SECONDS)
              .get(res)
              .get(TopicConfig.CLEANUP_POLICY_CONFIG)
              .value();
      assertThat(policy).isEqualTo("compact");
    }
  }

  @Test
  void rawHttpJsonShapes() throws Exception {
    try (SchemaRegistryServer server = start("_schemas_raw")) {
      String u = server.url();
      String schema =
          "{\"type\": \"record\", \"name\": \"Raw\", \"fields\": [{\"name\": \"a\", \"type\": \"long\"}]}";
      String body = JSON.createObjectNode().put("schema", schema).toString();

      JsonNode reg = json(send("POST", u + "/subjects/raw%2Dvalue/versions", body, CT), 200);
      assertThat(reg.get("id").asInt()).isEqualTo(1);
      assertThat(reg.get("version").asInt()).isEqualTo(1);
      assertThat(reg.get("guid").asText()).matches("[0-9a-f-]{36}");
      // the same schema without whitespace is the same schema
      JsonNode again =
          json(
              send(
                  "POST",
                  u + "/subjects/raw-value/versions",
                  JSON.createObjectNode().put("schema", schema.replace(" ", "")).toString(),
                  "application/json"),
              200);
      assertThat(again.get("id").asInt()).isEqualTo(1);

      HttpResponse<String> byId = send("GET", u + "/schemas/ids/1", null, null);
      assertThat(byId.headers().firstValue("Content-Type")).contains(CT);
      JsonNode byIdJson = json(byId, 200);
      assertThat(byIdJson.fieldNames()).toIterable().containsExactly("schema");
      assertThat(new Schema.Parser().parse(byIdJson.get("schema").asText()).getName())
          .isEqualTo("Raw");

      assertThat(send("GET", u + "/schemas/ids/1/schema", null, null).body())
          .isEqualTo(
              "{\"type\":\"record\",\"name\":\"Raw\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}");
      assertThat(json(send("GET", u + "/schemas/ids/1/versions", null, null), 200).toString())
          .isEqualTo("[{\"subject\":\"raw-value\",\"version\":1}]");
      assertThat(
              json(send("GET", u + "/schemas/guids/" + reg.get("guid").asText(), null, null), 200)
                  .get("schema")
                  .asText())
          .contains("Raw");
      assertThat(json(send("GET", u + "/schemas/types", null, null), 200).toString())
          .isEqualTo("[\"AVRO\"]");
      assertThat(json(send("GET", u + "/subjects", null, null), 200).toString())
          .isEqualTo("[\"raw-value\"]");
      assertThat(json(send("GET", u + "/subjects/raw-value/versions", null, null), 200).toString())
          .isEqualTo("[1]");
      JsonNode latest =
          json(send("GET", u + "/subjects/raw-value/versions/latest", null, null), 200);
      assertThat(latest.get("subject").asText()).isEqualTo("raw-value");
      assertThat(latest.get("id").asInt()).isEqualTo(1);
      assertThat(latest.get("version").asInt()).isEqualTo(1);
      assertThat(latest.has("schemaType")).isFalse();
      assertThat(json(send("GET", u + "/subjects/raw-value/versions/-1", null, null), 200))
          .isEqualTo(latest);
      assertThat(
              json(send("POST", u + "/subjects/raw-value", body, CT), 200).get("version").asInt())
          .isEqualTo(1);
      assertThat(json(send("GET", u + "/", null, null), 200).toString()).isEqualTo("{}");
      assertThat(json(send("GET", u + "/mode", null, null), 200).toString())
          .isEqualTo("{\"mode\":\"READWRITE\"}");

      // config
      assertThat(json(send("GET", u + "/config", null, null), 200).toString())
          .isEqualTo("{\"compatibilityLevel\":\"BACKWARD\"}");
      assertError(send("GET", u + "/config/raw-value", null, null), 404, 40408);
      assertThat(
              json(send("GET", u + "/config/raw-value?defaultToGlobal=true", null, null), 200)
                  .get("compatibilityLevel")
                  .asText())
          .isEqualTo("BACKWARD");
      assertThat(
              json(send("PUT", u + "/config/raw-value", "{\"compatibility\":\"full\"}", CT), 200)
                  .toString())
          .isEqualTo("{\"compatibility\":\"FULL\"}");
      assertThat(json(send("GET", u + "/config/raw-value", null, null), 200).toString())
          .isEqualTo("{\"compatibilityLevel\":\"FULL\"}");
      assertError(send("PUT", u + "/config", "{\"compatibility\":\"SIDEWAYS\"}", CT), 422, 42203);

      // compatibility endpoints
      String bad =
          JSON.createObjectNode()
              .put(
                  "schema",
                  "{\"type\":\"record\",\"name\":\"Raw\",\"fields\":[{\"name\":\"b\",\"type\":\"long\"}]}")
              .toString();
      JsonNode verbose =
          json(
              send(
                  "POST",
                  u + "/compatibility/subjects/raw-value/versions/latest?verbose=true",
                  bad,
                  CT),
              200);
      assertThat(verbose.get("is_compatible").asBoolean()).isFalse();
      assertThat(verbose.get("messages")).isNotEmpty();
      JsonNode terse =
          json(send("POST", u + "/compatibility/subjects/raw-value/versions", bad, CT), 200);
      assertThat(terse.toString()).isEqualTo("{\"is_compatible\":false}");
      JsonNode incompatible =
          assertError(send("POST", u + "/subjects/raw-value/versions", bad, CT), 409, 409);
      assertThat(incompatible.get("message").asText()).contains("raw-value").contains("FULL");

      // errors
      assertError(send("GET", u + "/subjects/nope/versions", null, null), 404, 40401);
      assertError(send("GET", u + "/subjects/raw-value/versions/7", null, null), 404, 40402);
      assertError(send("GET", u + "/subjects/raw-value/versions/abc", null, null), 422, 42202);
      assertError(send("GET", u + "/schemas/ids/77", null, null), 404, 40403);
      assertError(
          send("POST", u + "/subjects/raw-value/versions", "{\"schema\":\"{nope\"}", CT),
          422,
          42201);
      assertError(send("POST", u + "/subjects/raw-value/versions", body, "text/plain"), 415, 415);

      // delete
      assertThat(json(send("DELETE", u + "/subjects/raw-value", null, null), 200).toString())
          .isEqualTo("[1]");
      assertThat(json(send("GET", u + "/subjects", null, null), 200).toString()).isEqualTo("[]");
      assertThat(json(send("GET", u + "/subjects?deleted=true", null, null), 200).toString())
          .isEqualTo("[\"raw-value\"]");
      assertError(send("DELETE", u + "/subjects/raw-value", null, null), 404, 40404);
    }
  }

  @Test
  void pythonConfluentKafkaClientInterop(@TempDir Path dir) throws Exception {
    Path python = Path.of("/usr/bin/python3");
    Assumptions.assumeTrue(Files.isExecutable(python), "requires /usr/bin/python3");
    Process probe =
        new ProcessBuilder(python.toString(), "-c", "import confluent_kafka.avro")
            .redirectErrorStream(true)
            .start();
    Assumptions.assumeTrue(
        probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0,
        "requires python3-confluent-kafka (confluent_kafka.avro) and python3-avro");

    Path script = dir.resolve("interop.py");
    Files.writeString(
        script,
        String.join(
            "\n",
            "import sys, json, warnings",
            "warnings.simplefilter('ignore')",
            "from confluent_kafka.avro import CachedSchemaRegistryClient",
            "import avro.schema",
            "url = sys.argv[1]",
            "schema = avro.schema.parse(json.dumps({'type': 'record', 'name': 'Py', 'namespace': 'interop',",
            "    'fields': [{'name': 'x', 'type': 'int'}, {'name': 'y', 'type': ['null', 'string'], 'default': None}]}))",
            "client = CachedSchemaRegistryClient({'url': url})",
            "sid = client.register('py-value', schema)",
            "fetched = CachedSchemaRegistryClient({'url': url}).get_by_id(sid)",
            "print(json.dumps({'id': sid, 'name': fetched.fullname, 'fields': [f.name for f in fetched.fields]}))",
            ""));
    try (SchemaRegistryServer server = start("_schemas_python")) {
      Process p =
          new ProcessBuilder(python.toString(), script.toString(), server.url())
              .redirectErrorStream(true)
              .start();
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      assertThat(p.exitValue()).as(out).isZero();
      String last = out.lines().reduce((a, b) -> b).orElse("");
      JsonNode result = JSON.readTree(last);
      assertThat(result.get("id").asInt()).isEqualTo(1);
      assertThat(result.get("name").asText()).isEqualTo("interop.Py");
      assertThat(result.get("fields").toString()).isEqualTo("[\"x\",\"y\"]");

      // and the Java client sees what Python registered
      SchemaRegistryClient c = client(server);
      assertThat(c.subjects()).containsExactly("py-value");
      assertThat(c.schemaById(1).getField("y").defaultVal())
          .isEqualTo(org.apache.avro.JsonProperties.NULL_VALUE);
    }
  }

  static HttpResponse<String> send(String method, String url, String body, String contentType)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode json(HttpResponse<String> r, int status) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    return JSON.readTree(r.body());
  }

  static JsonNode assertError(HttpResponse<String> r, int status, int code) throws Exception {
    JsonNode n = json(r, status);
    assertThat(n.get("error_code").asInt()).as(r.body()).isEqualTo(code);
    assertThat(n.get("message").asText()).isNotBlank();
    assertThat(n.fieldNames()).toIterable().containsExactly("error_code", "message");
    return n;
  }
}
