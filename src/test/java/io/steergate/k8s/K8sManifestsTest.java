package io.steergate.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every file under k8s/ parses: built-in kinds into fabric8's model classes with no field the Kubernetes API lacks,
 * the operators' kinds against their CRDs' schemas ({@link CrdSchemas}); every file is rendered by an overlay or is a
 * Secret template; the templates hold no secret.
 */
class K8sManifestsTest {

    static final CrdSchemas CRDS = CrdSchemas.load();

    @Test
    void everyManifestIsAKindItsApiServes() {
        List<String> checked = new ArrayList<>();
        for (Path file : Manifests.yamlFiles()) {
            if (file.getFileName().toString().equals("kustomization.yaml")) {
                continue;
            }
            int i = 0;
            for (JsonNode doc : Manifests.readYaml(file)) {
                String where = file + " document " + ++i;
                if (doc.has("$patch")) {
                    continue;
                }
                checkDocument(doc, where);
                checked.add(where);
            }
        }
        assertTrue(checked.size() > 30, "k8s/ holds the manifests: " + checked);
    }

    static void checkDocument(JsonNode doc, String where) {
        String kind = doc.path("kind").asText("");
        assertFalse(kind.isEmpty(), where + " has no kind");
        assertFalse(Manifests.name(doc).isEmpty(), where + " has no metadata.name");
        assertTrue(Manifests.name(doc).matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?"), where + ": not a DNS-1123 name: " + Manifests.name(doc));
        if (CRDS.knowsKind(kind)) {
            assertEquals(List.of(), CRDS.check(doc), where + ": what the " + doc.path("apiVersion").asText() + " " + kind + " schema refuses");
        } else {
            Manifests.typed(doc, where);
        }
    }

    @Test
    void unknownFieldsOfBuiltInKindsAreRefused() {
        JsonNode typo = Manifests.readYamlString("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  selector: {matchLabels: {a: b}}
                  template:
                    metadata: {labels: {a: b}}
                    spec:
                      containers:
                        - name: c
                          image: i
                          readinesProbe: {httpGet: {path: /q/health/ready, port: 9000}}
                """);
        AssertionError error = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> Manifests.typed(typo, "typo"));
        assertTrue(error.getMessage().contains("readinesProbe"), error.getMessage());
    }

    @Test
    void customResourcesAreCheckedAgainstTheirSchemas() {
        JsonNode topic = Manifests.readYamlString("""
                apiVersion: kafka.strimzi.io/v1
                kind: KafkaTopic
                metadata: {name: t}
                spec:
                  partition: 4
                  replicas: "3"
                """);
        assertEquals(List.of("spec.partition: unknown field", "spec.replicas: an integer, not STRING"), CRDS.check(topic));
        JsonNode oldVersion = Manifests.readYamlString("""
                apiVersion: kafka.strimzi.io/v1alpha1
                kind: KafkaTopic
                metadata: {name: t}
                spec: {partitions: 4}
                """);
        assertEquals(List.of("no schema for kafka.strimzi.io/v1alpha1 KafkaTopic"), CRDS.check(oldVersion));
    }

    @Test
    void everyFileIsRenderedByAnOverlayOrIsASecretTemplate() {
        Set<Path> used = new TreeSet<>();
        for (String overlay : Manifests.OVERLAYS) {
            used.addAll(Kustomization.render(Manifests.overlay(overlay)).filesRead());
        }
        List<Path> orphans = new ArrayList<>();
        for (Path file : Manifests.yamlFiles()) {
            Path absolute = file.toAbsolutePath().normalize();
            if (!used.contains(absolute) && !file.startsWith(Manifests.SECRET_TEMPLATES)) {
                orphans.add(file);
            }
        }
        assertEquals(List.of(), orphans, "files no overlay renders (add them to a kustomization or remove them)");
    }

    @Test
    void secretTemplatesAreSecretsThatHoldOnlyPlaceholders() {
        List<Path> templates = Manifests.yamlFiles().stream().filter(f -> f.startsWith(Manifests.SECRET_TEMPLATES)).toList();
        assertFalse(templates.isEmpty());
        for (Path file : templates) {
            for (JsonNode doc : Manifests.readYaml(file)) {
                checkDocument(doc, file.toString());
                assertEquals("Secret", doc.path("kind").asText(), file + " holds a Secret template");
                assertFalse(doc.has("data"), file + ": stringData only, so a placeholder is visible");
                doc.path("stringData").fields().forEachRemaining(e -> {
                    if (!e.getKey().equals("username")) {
                        assertTrue(e.getValue().asText().contains("REPLACE-WITH-"), file + ": " + e.getKey() + " is not a placeholder");
                    }
                });
            }
        }
    }
}
