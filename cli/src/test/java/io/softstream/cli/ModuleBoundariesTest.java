package io.softstream.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module structure the README states, checked on the compiled main classes of every module (the
 * cli sees them all): dependencies point one way, and no module reaches into another's {@code
 * internals}.
 */
class ModuleBoundariesTest {
  /** Every module and the root package its main classes live in. */
  static final List<String> MODULES =
      List.of(
          "schemas",
          "registry",
          "topology",
          "embedded",
          "model",
          "worker",
          "trainer",
          "bench",
          "cli");

  static JavaClasses classes;

  @BeforeAll
  static void importMainClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            // The worker's test-jar (shared fixtures) is on this classpath too: it is test code.
            .withImportOption(location -> !location.contains("-tests.jar"))
            .importPackages("io.softstream");
  }

  @Test
  void everyModuleHasMainClasses() {
    for (String module : MODULES) {
      org.assertj.core.api.Assertions.assertThat(
              classes.stream()
                  .filter(c -> c.getPackageName().startsWith("io.softstream." + module))
                  .count())
          .as("main classes of module %s on the classpath", module)
          .isPositive();
    }
  }

  @Test
  void dependenciesPointOneWay() {
    layeredArchitecture()
        .consideringOnlyDependenciesInLayers()
        .layer("schemas")
        .definedBy("io.softstream.schemas..")
        .layer("registry")
        .definedBy("io.softstream.registry..")
        .layer("topology")
        .definedBy("io.softstream.topology..")
        .layer("embedded")
        .definedBy("io.softstream.embedded..")
        .layer("model")
        .definedBy("io.softstream.model..")
        .layer("worker")
        .definedBy("io.softstream.worker..")
        .layer("trainer")
        .definedBy("io.softstream.trainer..")
        .layer("bench")
        .definedBy("io.softstream.bench..")
        .layer("cli")
        .definedBy("io.softstream.cli..")
        .whereLayer("cli")
        .mayNotBeAccessedByAnyLayer()
        .whereLayer("bench")
        .mayOnlyBeAccessedByLayers("cli")
        .whereLayer("trainer")
        .mayOnlyBeAccessedByLayers("cli")
        .whereLayer("worker")
        .mayOnlyBeAccessedByLayers("bench", "cli")
        .whereLayer("embedded")
        .mayOnlyBeAccessedByLayers("bench", "cli")
        .whereLayer("registry")
        .mayOnlyBeAccessedByLayers("embedded", "bench", "cli")
        .whereLayer("model")
        .mayOnlyBeAccessedByLayers("worker", "trainer", "bench", "cli")
        .whereLayer("topology")
        .mayOnlyBeAccessedByLayers("embedded", "worker", "trainer", "bench", "cli")
        .check(classes);
  }

  @Test
  void noModuleImportsAnotherModulesInternals() {
    for (String module : MODULES) {
      noClasses()
          .that()
          .resideOutsideOfPackage("io.softstream." + module + "..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("io.softstream." + module + "..internals..")
          .as("no class outside module " + module + " uses its internals")
          .allowEmptyShould(true)
          .check(classes);
    }
  }
}
