package io.steergate.k8s;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/** Reading k8s/: YAML documents, fabric8's typed model of built-in kinds, and the parts of pods the checks look at. */
final class Manifests {

    /** k8s/ at the repository root (tests run there). */
    static final Path ROOT = Path.of("k8s");
    static final Path SECRET_TEMPLATES = ROOT.resolve("secrets");
    static final List<String> OVERLAYS = List.of("dev", "prod");

    static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final KubernetesSerialization FABRIC8 = new KubernetesSerialization();

    private Manifests() {}

    static Path overlay(String name) {
        return ROOT.resolve("overlays").resolve(name);
    }

    /** Every YAML file under k8s/. */
    static List<Path> yamlFiles() {
        try (Stream<Path> files = Files.walk(ROOT)) {
            return files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The non-empty documents of a YAML file (a file may hold several, separated by ---). */
    static List<JsonNode> readYaml(Path file) {
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            List<JsonNode> out = new ArrayList<>();
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    out.add(doc);
                }
            }
            return out;
        } catch (IOException | RuntimeException e) {
            throw new AssertionError(file + " is not valid YAML: " + e.getMessage(), e);
        }
    }

    static JsonNode readYamlString(String yaml) {
        try {
            return YAML.readTree(yaml);
        } catch (IOException | RuntimeException e) {
            throw new AssertionError("not valid YAML: " + e.getMessage(), e);
        }
    }

    static String name(JsonNode resource) {
        return resource.path("metadata").path("name").asText();
    }

    /**
     * The document as fabric8's model class of its apiVersion and kind. Unknown fields do not fail Jackson there (the
     * model keeps them in additionalProperties), so any field kept that way is reported: a typo such as
     * {@code readinesProbe} would otherwise pass as an ignored extra.
     */
    static HasMetadata typed(JsonNode doc, String where) {
        KubernetesResource parsed;
        try {
            parsed = FABRIC8.unmarshal(JSON.writeValueAsString(doc));
        } catch (IOException | RuntimeException e) {
            throw new AssertionError(where + ": fabric8 cannot read it: " + e.getMessage(), e);
        }
        if (parsed instanceof GenericKubernetesResource) {
            throw new AssertionError(where + ": " + doc.path("apiVersion").asText() + " " + doc.path("kind").asText()
                    + " is no built-in kind fabric8 knows");
        }
        List<String> unknown = new ArrayList<>();
        unknownFields(parsed, doc.path("kind").asText(), unknown, new IdentityHashMap<>());
        if (!unknown.isEmpty()) {
            throw new AssertionError(where + ": fields the Kubernetes API does not have: " + unknown);
        }
        return (HasMetadata) parsed;
    }

    private static void unknownFields(Object node, String path, List<String> unknown, Map<Object, Boolean> seen) {
        if (node == null || seen.put(node, Boolean.TRUE) != null) {
            return;
        }
        if (node instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                unknownFields(item, path + "[" + i++ + "]", unknown, seen);
            }
            return;
        }
        if (node instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                unknownFields(e.getValue(), path + "." + e.getKey(), unknown, seen);
            }
            return;
        }
        if (!node.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method getter : node.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
                    || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class) {
                continue;
            }
            Object value;
            try {
                value = getter.invoke(node);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError("cannot read " + getter, e);
            }
            if (getter.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    extra.keySet().forEach(key -> unknown.add(path + "." + key));
                }
            } else {
                unknownFields(value, path + "." + decapitalize(getter.getName().substring(3)), unknown, seen);
            }
        }
    }

    private static String decapitalize(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }

    /** The pod template of a workload, or null. */
    static JsonNode podSpec(JsonNode resource) {
        JsonNode spec = resource.path("spec").path("template").path("spec");
        return spec.isMissingNode() ? null : spec;
    }

    /** Containers and init containers of a workload's pod template (none for other kinds). */
    static List<ObjectNode> containers(JsonNode resource) {
        JsonNode pod = podSpec(resource);
        List<ObjectNode> out = new ArrayList<>();
        if (pod != null) {
            for (String field : List.of("initContainers", "containers")) {
                pod.path(field).forEach(c -> out.add((ObjectNode) c));
            }
        }
        return out;
    }

    /** An image reference without its tag or digest ({@code registry:5000/a/b:tag} gives {@code registry:5000/a/b}). */
    static String imageName(String image) {
        String name = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
        int slash = name.lastIndexOf('/');
        int colon = name.lastIndexOf(':');
        return colon > slash ? name.substring(0, colon) : name;
    }

    /** Whether the selector's matchLabels (or plain map, as a Service's) are all among the labels. */
    static boolean selects(JsonNode selector, JsonNode labels) {
        JsonNode match = selector.has("matchLabels") ? selector.get("matchLabels") : selector;
        if (match.isEmpty()) {
            return false;
        }
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) match::fields) {
            if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) {
                return false;
            }
        }
        return true;
    }

    static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new java.util.LinkedHashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
