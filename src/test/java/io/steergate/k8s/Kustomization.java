package io.steergate.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Renders a kustomization folder the way {@code kubectl kustomize} does, for the subset of Kustomize that k8s/ uses:
 * {@code resources} (files and folders with their own kustomization), {@code components} holding only
 * {@code images}, {@code namespace}, {@code images} ({@code newName}/{@code newTag}) and {@code patches}, each
 * either a JSON 6902 patch (inline, with a {@code target}
 * of kind and name) or a file of {@code $patch: delete} documents. Any other field, or a patch whose target matches
 * nothing, is an error: a manifest that needs more Kustomize than this must extend the renderer and its test
 * ({@link KustomizationTest}), so what the cross-checks see stays what a cluster would get.
 */
final class Kustomization {

    private static final Set<String> FIELDS = Set.of("apiVersion", "kind", "namespace", "resources", "components", "patches", "images");
    private static final Set<String> COMPONENT_FIELDS = Set.of("apiVersion", "kind", "images");
    /** Kinds without a namespace: the namespace transformer leaves them alone. */
    private static final Set<String> CLUSTER_SCOPED = Set.of("Namespace", "PersistentVolume", "ClusterRole",
            "ClusterRoleBinding", "StorageClass", "CustomResourceDefinition");

    /** Every file a rendering read (kustomizations, resources, patch files), for the orphan check. */
    final Set<Path> filesRead = new LinkedHashSet<>();

    private Kustomization() {}

    /** The resources of the kustomization in {@code dir}, rendered. */
    static Rendered render(Path dir) {
        Kustomization k = new Kustomization();
        List<ObjectNode> resources = k.build(dir.toAbsolutePath().normalize());
        return new Rendered(resources, Set.copyOf(k.filesRead));
    }

    record Rendered(List<ObjectNode> resources, Set<Path> filesRead) {

        List<ObjectNode> ofKind(String kind) {
            return resources.stream().filter(r -> kind.equals(r.path("kind").asText())).toList();
        }

        ObjectNode one(String kind, String name) {
            List<ObjectNode> found = ofKind(kind).stream().filter(r -> name.equals(Manifests.name(r))).toList();
            if (found.size() != 1) {
                throw new AssertionError("expected one " + kind + " " + name + ", found " + found.size());
            }
            return found.get(0);
        }
    }

    private List<ObjectNode> build(Path dir) {
        Path file = dir.resolve("kustomization.yaml");
        if (!Files.isRegularFile(file)) {
            throw new AssertionError(dir + " has no kustomization.yaml");
        }
        filesRead.add(file);
        List<JsonNode> docs = Manifests.readYaml(file);
        if (docs.size() != 1) {
            throw new AssertionError(file + ": one document expected");
        }
        JsonNode k = docs.get(0);
        for (Iterator<String> it = k.fieldNames(); it.hasNext();) {
            String field = it.next();
            if (!FIELDS.contains(field)) {
                throw new AssertionError(file + ": field '" + field + "' is not rendered by this test's Kustomize subset");
            }
        }
        if (!"Kustomization".equals(k.path("kind").asText())
                || !"kustomize.config.k8s.io/v1beta1".equals(k.path("apiVersion").asText())) {
            throw new AssertionError(file + ": not a kustomize.config.k8s.io/v1beta1 Kustomization");
        }
        List<ObjectNode> resources = new ArrayList<>();
        for (JsonNode entry : k.path("resources")) {
            Path target = dir.resolve(entry.asText()).normalize();
            if (Files.isDirectory(target)) {
                resources.addAll(build(target));
            } else if (Files.isRegularFile(target)) {
                filesRead.add(target);
                for (JsonNode doc : Manifests.readYaml(target)) {
                    resources.add((ObjectNode) doc);
                }
            } else {
                throw new AssertionError(file + " names a resource that does not exist: " + entry.asText());
            }
        }
        checkNoDuplicates(file, resources);
        for (JsonNode entry : k.path("components")) {
            applyComponent(file, dir.resolve(entry.asText()).normalize(), resources);
        }
        for (JsonNode patch : k.path("patches")) {
            applyPatch(file, dir, patch, resources);
        }
        for (JsonNode image : k.path("images")) {
            setImage(image, resources);
        }
        if (k.hasNonNull("namespace")) {
            String namespace = k.get("namespace").asText();
            for (ObjectNode r : resources) {
                if (!CLUSTER_SCOPED.contains(r.path("kind").asText())) {
                    ((ObjectNode) r.get("metadata")).put("namespace", namespace);
                }
            }
        }
        return resources;
    }

    private void applyComponent(Path file, Path dir, List<ObjectNode> resources) {
        Path component = dir.resolve("kustomization.yaml");
        if (!Files.isRegularFile(component)) {
            throw new AssertionError(file + " names a component that does not exist: " + dir);
        }
        filesRead.add(component);
        JsonNode c = Manifests.readYaml(component).get(0);
        if (!"Component".equals(c.path("kind").asText()) || !"kustomize.config.k8s.io/v1alpha1".equals(c.path("apiVersion").asText())) {
            throw new AssertionError(component + ": not a kustomize.config.k8s.io/v1alpha1 Component");
        }
        for (Iterator<String> it = c.fieldNames(); it.hasNext();) {
            String field = it.next();
            if (!COMPONENT_FIELDS.contains(field)) {
                throw new AssertionError(component + ": field '" + field + "' is not rendered by this test's Kustomize subset");
            }
        }
        for (JsonNode image : c.path("images")) {
            setImage(image, resources);
        }
    }

    private static void checkNoDuplicates(Path file, List<ObjectNode> resources) {
        Set<String> seen = new LinkedHashSet<>();
        for (ObjectNode r : resources) {
            String id = r.path("kind").asText() + "/" + Manifests.name(r);
            if (!seen.add(id)) {
                throw new AssertionError(file + ": " + id + " appears twice");
            }
        }
    }

    private void applyPatch(Path file, Path dir, JsonNode patch, List<ObjectNode> resources) {
        if (patch.hasNonNull("path")) {
            Path patchFile = dir.resolve(patch.get("path").asText()).normalize();
            if (!Files.isRegularFile(patchFile)) {
                throw new AssertionError(file + " names a patch file that does not exist: " + patch.get("path").asText());
            }
            filesRead.add(patchFile);
            for (JsonNode doc : Manifests.readYaml(patchFile)) {
                if (!"delete".equals(doc.path("$patch").asText())) {
                    throw new AssertionError(patchFile + ": only $patch: delete documents are rendered here");
                }
                String kind = doc.path("kind").asText();
                String name = Manifests.name(doc);
                boolean removed = resources.removeIf(r -> kind.equals(r.path("kind").asText())
                        && name.equals(Manifests.name(r))
                        && doc.path("apiVersion").asText().equals(r.path("apiVersion").asText()));
                if (!removed) {
                    throw new AssertionError(patchFile + " deletes " + kind + " " + name + ", which the kustomization does not hold");
                }
            }
            return;
        }
        JsonNode target = patch.path("target");
        String kind = target.path("kind").asText(null);
        String name = target.path("name").asText(null);
        if (kind == null || !patch.hasNonNull("patch")) {
            throw new AssertionError(file + ": a patch needs a target kind and an inline JSON 6902 patch: " + patch);
        }
        JsonNode ops = Manifests.readYamlString(patch.get("patch").asText());
        int matched = 0;
        for (ObjectNode r : resources) {
            if (kind.equals(r.path("kind").asText()) && (name == null || name.equals(Manifests.name(r)))) {
                JsonPatch.apply(r, ops, file + " patch of " + kind + (name == null ? "" : " " + name));
                matched++;
            }
        }
        if (matched == 0) {
            throw new AssertionError(file + ": the patch's target " + target + " matches no resource");
        }
    }

    /** Kustomize's image transformer: containers whose image (without tag or digest) is the entry's name. */
    private static void setImage(JsonNode image, List<ObjectNode> resources) {
        String name = image.path("name").asText();
        String newName = image.path("newName").asText(name);
        String newTag = image.path("newTag").asText(null);
        for (ObjectNode r : resources) {
            for (ObjectNode container : Manifests.containers(r)) {
                String current = container.path("image").asText();
                if (Manifests.imageName(current).equals(name)) {
                    String tag = newTag != null ? ":" + newTag : current.substring(Manifests.imageName(current).length());
                    container.put("image", newName + tag);
                }
            }
        }
    }

    /** RFC 6902 add, replace and remove, which the overlays use; anything else is an error. */
    static final class JsonPatch {

        private JsonPatch() {}

        static void apply(ObjectNode doc, JsonNode ops, String where) {
            if (!ops.isArray()) {
                throw new AssertionError(where + ": a JSON 6902 patch is a list of operations");
            }
            for (JsonNode op : ops) {
                String kind = op.path("op").asText();
                List<String> path = pointer(op.path("path").asText(), where);
                JsonNode parent = doc;
                for (String token : path.subList(0, path.size() - 1)) {
                    parent = child(parent, token, where + " " + op);
                }
                String last = path.get(path.size() - 1);
                switch (kind) {
                    case "add" -> add(parent, last, op.get("value"), where + " " + op);
                    case "replace" -> {
                        child(parent, last, where + " " + op);
                        set(parent, last, op.get("value"));
                    }
                    case "remove" -> {
                        child(parent, last, where + " " + op);
                        if (parent.isArray()) {
                            ((ArrayNode) parent).remove(Integer.parseInt(last));
                        } else {
                            ((ObjectNode) parent).remove(last);
                        }
                    }
                    default -> throw new AssertionError(where + ": operation '" + kind + "' is not rendered here");
                }
            }
        }

        private static List<String> pointer(String pointer, String where) {
            if (!pointer.startsWith("/")) {
                throw new AssertionError(where + ": not a JSON pointer: " + pointer);
            }
            List<String> tokens = new ArrayList<>();
            for (String token : pointer.substring(1).split("/", -1)) {
                tokens.add(token.replace("~1", "/").replace("~0", "~"));
            }
            return tokens;
        }

        private static JsonNode child(JsonNode parent, String token, String where) {
            JsonNode child = parent.isArray() ? indexOrNull(parent, token) : parent.get(token);
            if (child == null) {
                throw new AssertionError(where + ": no '" + token + "' to patch");
            }
            return child;
        }

        private static JsonNode indexOrNull(JsonNode array, String token) {
            try {
                return array.get(Integer.parseInt(token));
            } catch (NumberFormatException e) {
                return null;
            }
        }

        private static void add(JsonNode parent, String token, JsonNode value, String where) {
            if (parent.isArray()) {
                ArrayNode array = (ArrayNode) parent;
                if ("-".equals(token)) {
                    array.add(value);
                } else {
                    int index = Integer.parseInt(token);
                    if (index > array.size()) {
                        throw new AssertionError(where + ": index past the end");
                    }
                    array.insert(index, value);
                }
            } else if (parent.isObject()) {
                ((ObjectNode) parent).set(token, value);
            } else {
                throw new AssertionError(where + ": cannot add to a " + parent.getNodeType());
            }
        }

        private static void set(JsonNode parent, String token, JsonNode value) {
            if (parent.isArray()) {
                ((ArrayNode) parent).set(Integer.parseInt(token), value);
            } else {
                ((ObjectNode) parent).set(token, value);
            }
        }
    }
}
