package io.steergate.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The renderer the cross-checks rely on does what kubectl kustomize does for the subset k8s/ uses, and refuses the rest. */
class KustomizationTest {

    @TempDir
    Path dir;

    private static final String DEPLOYMENT = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 1
              template:
                spec:
                  containers:
                    - {name: app, image: steergate/gateway}
                    - {name: side, image: "registry:5000/other/img:1.0"}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings}
            data: {a: "1"}
            """;

    private Path write(String relative, String content) throws IOException {
        Path file = dir.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        return file;
    }

    private void base() throws IOException {
        write("base/app.yaml", DEPLOYMENT);
        write("base/kustomization.yaml", """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources: [app.yaml]
                images:
                  - {name: steergate/gateway, newTag: "2.0"}
                """);
    }

    @Test
    void patchesImagesNamespaceAndDeletesApplyInAnOverlay() throws IOException {
        base();
        write("overlay/gone.yaml", """
                $patch: delete
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: settings}
                """);
        write("overlay/kustomization.yaml", """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                namespace: ns
                resources: [../base]
                patches:
                  - path: gone.yaml
                  - target: {kind: Deployment, name: web}
                    patch: |-
                      - {op: replace, path: /spec/replicas, value: 3}
                      - {op: add, path: /spec/template/spec/containers/-, value: {name: third, image: x}}
                      - {op: remove, path: /spec/template/spec/containers/1}
                      - {op: add, path: /metadata/labels, value: {a~1b: c}}
                """);
        Kustomization.Rendered r = Kustomization.render(dir.resolve("overlay"));
        assertEquals(1, r.resources().size(), "the ConfigMap is deleted");
        ObjectNode web = r.one("Deployment", "web");
        assertEquals(3, web.at("/spec/replicas").asInt());
        assertEquals("ns", web.at("/metadata/namespace").asText());
        assertEquals("steergate/gateway:2.0", web.at("/spec/template/spec/containers/0/image").asText());
        assertEquals("third", web.at("/spec/template/spec/containers/1/name").asText());
        assertEquals(2, web.at("/spec/template/spec/containers").size());
        assertEquals(4, r.filesRead().size(), "both kustomizations, the resource file and the patch file");
    }

    @Test
    void theImageTransformerKeepsATagItDoesNotSetAndReadsRegistryPorts() {
        assertEquals("registry:5000/other/img", Manifests.imageName("registry:5000/other/img:1.0"));
        assertEquals("steergate/gateway", Manifests.imageName("steergate/gateway@sha256:abc"));
        assertEquals("steergate/gateway", Manifests.imageName("steergate/gateway"));
    }

    @Test
    void whatTheSubsetCannotRenderIsRefusedNotIgnored() throws IOException {
        base();
        write("a/kustomization.yaml", """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources: [../base]
                commonLabels: {a: b}
                """);
        assertTrue(assertThrows(AssertionError.class, () -> Kustomization.render(dir.resolve("a"))).getMessage().contains("commonLabels"));
        write("b/kustomization.yaml", """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources: [../base]
                patches:
                  - target: {kind: Deployment, name: api}
                    patch: '[{op: replace, path: /spec/replicas, value: 2}]'
                """);
        assertTrue(assertThrows(AssertionError.class, () -> Kustomization.render(dir.resolve("b"))).getMessage().contains("matches no resource"));
        write("c/kustomization.yaml", """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources: [../base, missing.yaml]
                """);
        assertTrue(assertThrows(AssertionError.class, () -> Kustomization.render(dir.resolve("c"))).getMessage().contains("missing.yaml"));
        write("d/kustomization.yaml", """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources: [../base]
                patches:
                  - target: {kind: Deployment}
                    patch: '[{op: replace, path: /spec/paused, value: true}]'
                """);
        assertTrue(assertThrows(AssertionError.class, () -> Kustomization.render(dir.resolve("d"))).getMessage().contains("paused"));
        write("e/kustomization.yaml", """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources: [../base, ../base/app.yaml]
                """);
        assertTrue(assertThrows(AssertionError.class, () -> Kustomization.render(dir.resolve("e"))).getMessage().contains("twice"));
    }
}
