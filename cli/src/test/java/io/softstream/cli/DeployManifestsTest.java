package io.softstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.softstream.topology.TopicLayout;
import io.softstream.topology.TopicSpec;
import io.softstream.topology.access.AccessPolicy;
import io.softstream.topology.streams.StreamsSettings;
import io.softstream.worker.WorkerConfig;
import io.softstream.worker.generation.GenerationSettings;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * The deployment checked without a cluster: the generated Strimzi resources match the code, each
 * overlay renders with {@code kubectl kustomize} and every resource validates against the vendored
 * official schemas (deploy/schemas), and nothing a manifest passes to the application (flags,
 * environment variables, properties keys) is something the application does not read.
 */
class DeployManifestsTest {
  static final Path ROOT =
      Files.isDirectory(Path.of("deploy/k8s")) ? Path.of(".") : Path.of("..").normalize();
  static final Path DEPLOY = ROOT.resolve("deploy");
  static final Path KUBECTL = Path.of("/usr/bin/kubectl");
  static final TopicLayout LAYOUT = TopicLayout.defaults().withReplication(3);
  static final ObjectMapper YAML = new YAMLMapper();
  static final ObjectMapper JSON = new ObjectMapper();

  /** apiVersion/kind (e.g. {@code apps/v1/Deployment}) to its schema. */
  static Map<String, Schema> schemas;

  @BeforeAll
  static void loadSchemas() throws IOException {
    schemas = new HashMap<>();
    SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_4);
    ObjectNode defs =
        (ObjectNode)
            JSON.readTree(DEPLOY.resolve("schemas/kubernetes/definitions.json").toFile())
                .get("definitions");
    defs.properties().forEach(e -> kubernetesSemantics(e.getKey(), (ObjectNode) e.getValue()));
    defs.properties()
        .forEach(
            e -> {
              JsonNode gvks = e.getValue().get("x-kubernetes-group-version-kind");
              if (gvks == null) {
                return;
              }
              for (JsonNode gvk : gvks) {
                String group = gvk.get("group").asText();
                String apiVersion =
                    (group.isEmpty() ? "" : group + "/") + gvk.get("version").asText();
                ObjectNode s = JSON.createObjectNode();
                s.put("$ref", "#/definitions/" + e.getKey());
                s.set("definitions", defs);
                schemas.put(apiVersion + "/" + gvk.get("kind").asText(), registry.getSchema(s));
              }
            });
    try (Stream<Path> crds = Files.walk(DEPLOY.resolve("schemas"))) {
      for (Path crd : crds.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        JsonNode spec = YAML.readTree(crd.toFile()).get("spec");
        String kind = spec.at("/names/kind").asText();
        for (JsonNode v : spec.get("versions")) {
          if (v.path("served").asBoolean()) {
            ObjectNode s = (ObjectNode) v.at("/schema/openAPIV3Schema").deepCopy();
            crdSemantics(s);
            String key = spec.get("group").asText() + "/" + v.get("name").asText() + "/" + kind;
            schemas.put(key, registry.getSchema(s));
          }
        }
      }
    }
  }

  @AfterEach
  void restoreEnvironment() {
    Settings.environment = System::getenv;
  }

  @Test
  void generatedStrimziResourcesAreWhatRenderWrites() throws IOException {
    Map<String, String> rendered = DeployManifests.render(LAYOUT, DeployManifests.CLUSTER);
    for (Map.Entry<String, String> f : rendered.entrySet()) {
      Path file = DEPLOY.resolve("k8s/base/generated").resolve(f.getKey());
      assertThat(Files.readString(file, StandardCharsets.UTF_8))
          .as("%s is stale: run ./softstream deploy render", file)
          .isEqualTo(f.getValue());
    }
    List<JsonNode> users = documents(rendered.get(DeployManifests.USERS_FILE));
    assertThat(users).hasSize(AccessPolicy.Role.values().length);
    JsonNode encode =
        users.stream()
            .filter(u -> u.at("/metadata/name").asText().equals("softstream-encode-worker"))
            .findFirst()
            .orElseThrow();
    // The worker's transactional ids (softstream-encode-<worker.id>) as a prefix rule.
    assertThat(encode.at("/spec/authorization/acls").toString())
        .contains(
            "{\"resource\":{\"type\":\"transactionalId\",\"name\":\"softstream-encode-\","
                + "\"patternType\":\"prefix\"},\"operations\":[\"Write\",\"Describe\"],\"host\":\"*\"}");
  }

  @Test
  void deployRenderCheckFindsStaleFiles(@org.junit.jupiter.api.io.TempDir Path dir) {
    CommandLine cl = Softstream.commandLine();
    cl.setOut(new java.io.PrintWriter(new java.io.StringWriter()));
    assertThat(cl.execute("deploy", "render", "--check", "--out", dir.toString())).isEqualTo(1);
    assertThat(cl.execute("deploy", "render", "--out", dir.toString())).isZero();
    assertThat(cl.execute("deploy", "render", "--check", "--out", dir.toString())).isZero();
    assertThat(dir.resolve(DeployManifests.TOPICS_FILE)).exists();
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "gpu"})
  void overlayRendersAndEveryResourceMatchesItsSchema(String overlay) throws Exception {
    List<JsonNode> docs = kustomize(overlay);
    Map<String, Integer> kinds = new java.util.TreeMap<>();
    List<String> errors = new ArrayList<>();
    for (JsonNode d : docs) {
      String key = d.get("apiVersion").asText() + "/" + d.get("kind").asText();
      kinds.merge(d.get("kind").asText(), 1, Integer::sum);
      Schema schema = schemas.get(key);
      assertThat(schema).as("a vendored schema for %s", key).isNotNull();
      schema
          .validate(d)
          .forEach(e -> errors.add(key + " " + d.at("/metadata/name").asText() + ": " + e));
    }
    assertThat(errors).isEmpty();
    assertThat(kinds)
        .containsEntry("KafkaTopic", LAYOUT.all().size())
        .containsEntry("KafkaUser", AccessPolicy.Role.values().length)
        .containsEntry("ScaledObject", 3)
        .containsEntry("StatefulSet", 2)
        .containsEntry("Deployment", 3)
        .containsEntry("CronJob", 1)
        .containsEntry("Kafka", 1)
        .containsEntry("KafkaNodePool", 1)
        .containsEntry("PrometheusRule", 1);
    if (overlay.equals("gpu")) {
      for (String w : List.of("encode-worker", "decode-worker", "generation-worker")) {
        assertThat(workload(docs, w).at("/spec/template/spec/containers/0/resources/limits"))
            .as("GPU limit of %s", w)
            .isEqualTo(JSON.readTree("{\"memory\":\"2Gi\",\"nvidia.com/gpu\":1}"));
      }
    }
    // A mistake the schemas must catch, so that a pass means something.
    ObjectNode broken = (ObjectNode) workload(docs, "encode-worker").deepCopy();
    ((ObjectNode) broken.at("/spec/template/spec")).put("replica", 2);
    assertThat(schemas.get("apps/v1/StatefulSet").validate(broken)).isNotEmpty();
  }

  @Test
  void everyTopicOfTheLayoutHasItsKafkaTopic() throws Exception {
    Map<String, JsonNode> topics = new LinkedHashMap<>();
    for (JsonNode d : kustomize("cpu")) {
      if (d.get("kind").asText().equals("KafkaTopic")) {
        JsonNode name = d.at("/spec/topicName");
        topics.put(name.isMissingNode() ? d.at("/metadata/name").asText() : name.asText(), d);
      }
    }
    assertThat(topics.keySet())
        .containsExactlyInAnyOrderElementsOf(LAYOUT.all().stream().map(TopicSpec::name).toList());
    for (TopicSpec t : LAYOUT.all()) {
      JsonNode k = topics.get(t.name());
      assertThat(k.at("/spec/partitions").asInt())
          .as("partitions of %s", t.name())
          .isEqualTo(t.partitions());
      assertThat(k.at("/spec/config/cleanup.policy").asText())
          .as("cleanup policy of %s", t.name())
          .isEqualTo(t.cleanupPolicy());
      assertThat(k.at("/spec/replicas").asInt()).isEqualTo(3);
      assertThat(k.at("/spec/config/min.insync.replicas").asText()).isEqualTo("2");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "gpu"})
  void everyScaledObjectStaysWithinItsTopicsPartitionsAndWatchesItsWorkersGroup(String overlay)
      throws Exception {
    List<JsonNode> docs = kustomize(overlay);
    int checked = 0;
    for (JsonNode so : docs) {
      if (!so.get("kind").asText().equals("ScaledObject")) {
        continue;
      }
      JsonNode target = workload(docs, so.at("/spec/scaleTargetRef/name").asText());
      assertThat(target.get("kind").asText())
          .isEqualTo(so.at("/spec/scaleTargetRef/kind").asText());
      JsonNode trigger = so.at("/spec/triggers/0/metadata");
      String topic = trigger.get("topic").asText();
      assertThat(so.at("/spec/maxReplicaCount").asInt())
          .as("maxReplicaCount of %s", so.at("/metadata/name").asText())
          .isLessThanOrEqualTo(LAYOUT.spec(topic).partitions());
      // The group and input topic the scaled worker really uses, from its own settings.
      Container c = container(docs, target, target.at("/spec/template/spec"));
      WorkerConfig wc = new WorkerConfig(c.workerSettings());
      String role = c.command().replace("-worker", "");
      assertThat(trigger.get("consumerGroup").asText()).isEqualTo(wc.groupId(role));
      String input =
          switch (role) {
            case "encode" -> LAYOUT.images();
            case "decode" -> LAYOUT.tokens();
            default ->
                GenerationSettings.from(c.workerSettings()).inputTopic(LAYOUT.generationRequests());
          };
      assertThat(topic).isEqualTo(input);
      checked++;
    }
    assertThat(checked).isEqualTo(3);
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "gpu"})
  void everySettingAManifestPassesIsOneTheApplicationReads(String overlay) throws Exception {
    List<JsonNode> docs = kustomize(overlay);
    int containers = 0;
    for (JsonNode d : docs) {
      JsonNode pod =
          switch (d.get("kind").asText()) {
            case "Deployment", "StatefulSet" -> d.at("/spec/template/spec");
            case "CronJob" -> d.at("/spec/jobTemplate/spec/template/spec");
            default -> null;
          };
      if (pod != null) {
        Container c = container(docs, d, pod);
        c.check();
        // Each pod authenticates as the KafkaUser of its own role, whose ACLs AccessPolicy
        // declares.
        String user = "";
        for (JsonNode e : pod.at("/containers/0/env")) {
          if (e.get("name").asText().equals("SASL_JAAS_CONFIG")) {
            user = e.at("/valueFrom/secretKeyRef/name").asText();
          }
        }
        assertThat(user)
            .as("%s's KafkaUser", c.command())
            .isEqualTo(ROLES.get(c.command()).principalName());
        String u = user;
        assertThat(docs)
            .anyMatch(
                k ->
                    k.get("kind").asText().equals("KafkaUser")
                        && k.at("/metadata/name").asText().equals(u));
        containers++;
      }
    }
    assertThat(containers).isEqualTo(6);
  }

  @Test
  void composeServicesPassOnlySettingsTheApplicationReads() throws IOException {
    Path compose = DEPLOY.resolve("compose/compose.yaml");
    JsonNode file = YAML.readTree(compose.toFile());
    ObjectNode composeSpec =
        (ObjectNode) JSON.readTree(DEPLOY.resolve("schemas/compose/compose-spec.json").toFile());
    // Its $id is relative ("compose_spec.json") with no base to resolve against; its $refs are
    // local.
    composeSpec.remove("$id");
    Schema spec =
        SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7).getSchema(composeSpec);
    assertThat(spec.validate(file)).isEmpty();
    ObjectNode misspelt = file.deepCopy();
    ((ObjectNode) misspelt.at("/services/registry")).put("restrat", "always");
    assertThat(spec.validate(misspelt)).isNotEmpty();
    JsonNode services = file.get("services");
    int checked = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = services.fields(); it.hasNext(); ) {
      JsonNode s = it.next().getValue();
      if (!s.path("image").asText().startsWith("softstream/softstream")) {
        continue;
      }
      List<String> args = new ArrayList<>();
      s.get("command").forEach(a -> args.add(a.asText()));
      Map<String, String> env = new LinkedHashMap<>();
      s.path("environment")
          .fields()
          .forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
      Map<String, Properties> files = new HashMap<>();
      for (JsonNode v : s.path("volumes")) {
        String[] parts = v.asText().split(":");
        Path local = compose.getParent().resolve(parts[0]);
        if (Files.isDirectory(local)) {
          try (Stream<Path> f = Files.list(local)) {
            for (Path p : f.filter(p -> p.toString().endsWith(".properties")).toList()) {
              files.put(parts[1] + "/" + p.getFileName(), properties(Files.readString(p)));
            }
          }
        }
      }
      new Container(args, env, Set.of(), files).check();
      checked++;
    }
    assertThat(checked).isGreaterThanOrEqualTo(5);
  }

  @Test
  void theSettingsCheckRejectsWhatTheApplicationDoesNotRead() {
    // So that a pass of the drift checks above means something.
    Container unreadEnv =
        new Container(
            List.of("encode-worker"), Map.of("SOFTSTREAM_MODLE", "m"), Set.of(), Map.of());
    assertThatThrownBy(unreadEnv::check).hasMessageContaining("env SOFTSTREAM_MODLE");
    Container unknownKey =
        new Container(
            List.of("encode-worker", "--kafka-property=batch.max.recrods=3"),
            Map.of(),
            Set.of(),
            Map.of());
    assertThatThrownBy(unknownKey::check).hasMessageContaining("batch.max.recrods");
    Container badValue =
        new Container(
            List.of("encode-worker"),
            Map.of("SOFTSTREAM_ENGINE", "tensorflow"),
            Set.of(),
            Map.of());
    assertThatThrownBy(badValue::check).hasMessageContaining("tensorflow");
    Container unknownFlag =
        new Container(List.of("decode-worker", "--batch-sise=4"), Map.of(), Set.of(), Map.of());
    assertThatThrownBy(unknownFlag::check).hasMessageContaining("--batch-sise");
  }

  // ---- helpers ----

  /** One container's command line, environment and mounted properties files. */
  record Container(
      List<String> args,
      Map<String, String> env,
      Set<String> kubernetesOnly,
      Map<String, Properties> files) {

    String command() {
      return args.get(0).equals("topology") ? "topology " + args.get(1) : args.get(0);
    }

    CommandLine.ParseResult parse() {
      // Kubernetes substitutes $(VAR) before the JVM sees the arguments.
      List<String> a = args.stream().map(x -> x.replaceAll("\\$\\((\\w+)\\)", "x")).toList();
      return Softstream.commandLine().parseArgs(a.toArray(String[]::new));
    }

    /** The --config file, --kafka-property / --set pairs: every key that reaches the app. */
    Map<String, String> passed() {
      Map<String, String> m = new LinkedHashMap<>();
      for (String a : args) {
        Matcher f = Pattern.compile("--config=(.+)").matcher(a);
        if (f.matches()) {
          Properties p = files.get(f.group(1));
          assertThat(p).as("the properties file %s is mounted", f.group(1)).isNotNull();
          p.forEach((k, v) -> m.put(k.toString(), v.toString()));
        }
        Matcher kv = Pattern.compile("--(?:kafka-property|set)=([^=]+)=(.*)").matcher(a);
        if (kv.matches()) {
          m.put(kv.group(1), kv.group(2));
        }
      }
      return m;
    }

    /** The settings a worker command builds (the manifest's flags and files, minimal addresses). */
    Map<String, Object> workerSettings() {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("bootstrap.servers", "kafka:9093");
      c.put("schema.registry.url", "http://registry:8081");
      c.putAll(passed());
      if (command().equals("generate-worker")) {
        // As generate-worker does: the image's shipped generator unless it follows model-versions.
        c.putIfAbsent(GenerationSettings.GENERATOR_DIR, "models/gen-fmnist-16");
      }
      // As the worker commands do: the image's shipped model unless the worker follows
      // model-versions.
      return WorkerOptions.orModel(c, () -> Path.of("models/softvq-fmnist-32-next"));
    }

    void check() {
      CommandLine.ParseResult parsed = parse();
      CommandLine.ParseResult leaf = parsed;
      while (leaf.hasSubcommand()) {
        leaf = leaf.subcommand();
      }
      Object cmd = leaf.commandSpec().userObject();
      Set<String> read = environmentRead(cmd, env, this);
      for (String e : env.keySet()) {
        assertThat(
                read.contains(e)
                    || kubernetesOnly.contains(e)
                    || JVM_ENV.contains(e)
                    || ENGINE_ENV.contains(e))
            .as("%s: env %s is read by the application (it reads %s)", command(), e, read)
            .isTrue();
      }
      Map<String, String> keys = passed();
      Set<String> known = new TreeSet<>(CLIENT_KEYS);
      switch (command()) {
        case "encode-worker", "decode-worker" -> {
          known.addAll(WorkerConfig.configDef().names());
          new WorkerConfig(workerSettings()); // values valid, too
        }
        case "generate-worker" -> {
          known.addAll(WorkerConfig.configDef().names());
          known.addAll(GenerationSettings.configDef().names());
          new WorkerConfig(workerSettings());
          GenerationSettings.from(workerSettings());
        }
        case "topology run" -> {
          known.addAll(StreamsSettings.configDef().names());
          known.addAll(StreamsConfig.configDef().names());
          new StreamsSettings(workerSettings()).streamsProperties("ingest");
        }
        default -> {}
      }
      for (String k : keys.keySet()) {
        assertThat(known).as("%s: setting %s is one it reads", command(), k).contains(k);
      }
    }
  }

  static final Map<String, AccessPolicy.Role> ROLES =
      Map.of(
          "encode-worker", AccessPolicy.Role.ENCODE_WORKER,
          "decode-worker", AccessPolicy.Role.DECODE_WORKER,
          "generate-worker", AccessPolicy.Role.GENERATION_WORKER,
          "topology run", AccessPolicy.Role.STREAMS_APPS,
          "registry", AccessPolicy.Role.REGISTRY,
          "train", AccessPolicy.Role.TRAINER);

  /** Read by the JVM itself, not by our code. */
  static final Set<String> JVM_ENV = Set.of("JAVA_TOOL_OPTIONS");

  /** Read by the engine when it opens a model, not by the command's options. */
  static final Set<String> ENGINE_ENV =
      Set.of(io.softstream.model.runtime.TensorRtSettings.CACHE_ENV);

  /** Kafka client keys every client passes through (security, SASL, SSL...). */
  static final Set<String> CLIENT_KEYS = new TreeSet<>();

  static {
    CLIENT_KEYS.addAll(ProducerConfig.configNames());
    CLIENT_KEYS.addAll(ConsumerConfig.configNames());
    CLIENT_KEYS.addAll(AdminClientConfig.configNames());
  }

  /** The environment variables the command's option blocks read, recorded as they read them. */
  static Set<String> environmentRead(Object cmd, Map<String, String> env, Container c) {
    Set<String> read = new TreeSet<>();
    Function<String, String> recording =
        name -> {
          read.add(name);
          return env.get(name);
        };
    Settings.environment = recording;
    try {
      if (cmd instanceof EncodeWorkerCommand w) {
        readWorker(w.options, c);
      } else if (cmd instanceof DecodeWorkerCommand w) {
        readWorker(w.options, c);
      } else if (cmd instanceof GenerateWorkerCommand w) {
        readWorker(w.options, c);
        try {
          w.generatorOptions.generatorDir();
        } catch (RuntimeException e) {
          // Only which variables it reads matters here.
        }
      } else if (cmd instanceof TopologyCommand.Run t) {
        t.options.config = null;
        t.options.settings();
      } else if (cmd instanceof RegistryCommand t) {
        t.kafka.clientProperties();
      } else if (cmd instanceof TrainCommand t) {
        t.kafka.clientProperties();
      } else if (cmd instanceof TopicsCommand t) {
        t.kafka.clientProperties();
      } else {
        throw new AssertionError("no check for command " + cmd.getClass());
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      Settings.environment = System::getenv;
    }
    return read;
  }

  /**
   * The worker's settings as its command layers them (the environment's values included), checked
   * by WorkerConfig: a bad value (an unknown engine, say) fails here as it would at start-up.
   */
  private static void readWorker(WorkerOptions o, Container c) throws IOException {
    o.configFile = null;
    Map<String, Object> layered = new LinkedHashMap<>(c.workerSettings());
    layered.putAll(o.toConfig());
    new WorkerConfig(WorkerOptions.orModel(layered, () -> Path.of("models/softvq-fmnist-32-next")));
  }

  static Container container(List<JsonNode> docs, JsonNode workload, JsonNode pod) {
    JsonNode c = pod.at("/containers/0");
    List<String> args = new ArrayList<>();
    c.path("args").forEach(a -> args.add(a.asText()));
    Map<String, String> env = new LinkedHashMap<>();
    Set<String> kubernetesOnly = new LinkedHashSet<>();
    String joined = String.join(" ", args);
    for (JsonNode e : c.path("env")) {
      String name = e.get("name").asText();
      // Used only by Kubernetes to build an argument: $(NAME).
      if (joined.contains("$(" + name + ")")) {
        kubernetesOnly.add(name);
      } else {
        // A value from the API (fieldRef, secretKeyRef) stands in as "x".
        env.put(name, e.has("value") ? e.get("value").asText() : "x");
      }
    }
    for (JsonNode from : c.path("envFrom")) {
      configMap(docs, from.at("/configMapRef/name").asText())
          .get("data")
          .fields()
          .forEachRemaining(f -> env.put(f.getKey(), f.getValue().asText()));
    }
    Map<String, Properties> files = new HashMap<>();
    for (JsonNode m : c.path("volumeMounts")) {
      JsonNode vol = null;
      for (JsonNode v : pod.path("volumes")) {
        if (v.get("name").asText().equals(m.get("name").asText())) {
          vol = v;
        }
      }
      if (vol != null && vol.has("configMap")) {
        JsonNode data = configMap(docs, vol.at("/configMap/name").asText()).get("data");
        data.fields()
            .forEachRemaining(
                f ->
                    files.put(
                        m.get("mountPath").asText() + "/" + f.getKey(),
                        properties(f.getValue().asText())));
      }
    }
    assertThat(workload).isNotNull();
    return new Container(args, env, kubernetesOnly, files);
  }

  static Properties properties(String text) {
    Properties p = new Properties();
    try {
      p.load(new StringReader(text));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return p;
  }

  static JsonNode configMap(List<JsonNode> docs, String name) {
    return docs.stream()
        .filter(d -> d.get("kind").asText().equals("ConfigMap"))
        .filter(d -> d.at("/metadata/name").asText().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no ConfigMap " + name));
  }

  static JsonNode workload(List<JsonNode> docs, String name) {
    return docs.stream()
        .filter(d -> Set.of("Deployment", "StatefulSet").contains(d.get("kind").asText()))
        .filter(d -> d.at("/metadata/name").asText().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no Deployment or StatefulSet " + name));
  }

  static final Map<String, List<JsonNode>> RENDERED = new HashMap<>();

  /** {@code kubectl kustomize} of an overlay (once per overlay), as documents. */
  static synchronized List<JsonNode> kustomize(String overlay) throws Exception {
    assumeTrue(
        Files.isExecutable(KUBECTL),
        "no "
            + KUBECTL
            + ": the machine image's kubectl package (v1.32, kustomize v5) renders the overlays; Debian"
            + " bookworm's kubernetes-client (1.20, kustomize v2) is too old for them");
    if (!RENDERED.containsKey(overlay)) {
      Process p =
          new ProcessBuilder(
                  KUBECTL.toString(),
                  "kustomize",
                  DEPLOY.resolve("k8s/overlays").resolve(overlay).toString())
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("kubectl kustomize %s: %s", overlay, out).isZero();
      RENDERED.put(overlay, documents(out));
    }
    return RENDERED.get(overlay);
  }

  static List<JsonNode> documents(String yaml) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml)) {
      while (it.hasNext()) {
        JsonNode d = it.next();
        if (d != null && !d.isNull() && !d.isMissingNode() && d.size() > 0) {
          docs.add(d);
        }
      }
    }
    return docs;
  }

  // ---- schema semantics of the API server that plain JSON Schema lacks ----

  /** int-or-string and quantities take a string or a number; declared objects are closed. */
  static void kubernetesSemantics(String name, ObjectNode def) {
    if (name.equals("io.k8s.apimachinery.pkg.util.intstr.IntOrString")
        || name.equals("io.k8s.apimachinery.pkg.api.resource.Quantity")) {
      def.remove("type");
      def.remove("format");
      def.set("type", stringOrNumber());
      return;
    }
    close(def, false);
  }

  /** The same for a CRD's structural schema, recursively. */
  static void crdSemantics(ObjectNode s) {
    if (s.path("x-kubernetes-int-or-string").asBoolean()) {
      s.remove("type");
      s.set("type", stringOrNumber());
    }
    if (s.path("nullable").asBoolean() && s.has("type") && s.get("type").isTextual()) {
      ArrayNode t = JsonNodeFactory.instance.arrayNode().add(s.get("type").asText()).add("null");
      s.set("type", t);
    }
    close(s, s.path("x-kubernetes-preserve-unknown-fields").asBoolean());
    for (String k : List.of("properties", "patternProperties")) {
      if (s.get(k) instanceof ObjectNode props) {
        props.properties().forEach(e -> crdSemantics((ObjectNode) e.getValue()));
      }
    }
    if (s.get("items") instanceof ObjectNode items) {
      crdSemantics(items);
    }
    if (s.get("additionalProperties") instanceof ObjectNode ap) {
      crdSemantics(ap);
    }
    for (String k : List.of("allOf", "anyOf", "oneOf")) {
      if (s.get(k) instanceof ArrayNode arr) {
        arr.forEach(n -> crdSemantics((ObjectNode) n));
      }
    }
  }

  private static void close(ObjectNode s, boolean preserveUnknown) {
    if (s.has("properties") && !s.has("additionalProperties") && !preserveUnknown) {
      s.put("additionalProperties", false);
    }
  }

  private static ArrayNode stringOrNumber() {
    return JsonNodeFactory.instance.arrayNode().add("string").add("integer").add("number");
  }
}
