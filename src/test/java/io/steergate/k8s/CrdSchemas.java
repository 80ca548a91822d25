package io.steergate.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Stream;

/**
 * The operators' CustomResourceDefinition schemas (openAPIV3Schema of each served version, copied from the operators'
 * repositories with descriptions dropped: src/test/resources/k8s-crds, each file naming its source and commit) and a
 * check of a custom resource against them as the API server's structural validation does: unknown fields (unless
 * {@code x-kubernetes-preserve-unknown-fields}), types, {@code x-kubernetes-int-or-string}, required fields, enums,
 * bounds, patterns, {@code oneOf}/{@code anyOf}. CEL rules ({@code x-kubernetes-validations}) are not evaluated.
 */
final class CrdSchemas {

    static final Path DIR = Path.of("src/test/resources/k8s-crds");

    /** "group/version Kind" to the schema. */
    private final Map<String, JsonNode> schemas = new HashMap<>();

    private CrdSchemas() {}

    static CrdSchemas load() {
        CrdSchemas crds = new CrdSchemas();
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".json")).toList()) {
                JsonNode crd = Manifests.JSON.readTree(file.toFile());
                crd.path("versions").fields().forEachRemaining(v -> crds.schemas.put(
                        crd.path("group").asText() + "/" + v.getKey() + " " + crd.path("kind").asText(), v.getValue()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return crds;
    }

    /** Whether some schema is of this kind (in any group and version: a resource of the kind is checked against them). */
    boolean knowsKind(String kind) {
        return schemas.keySet().stream().anyMatch(key -> key.endsWith(" " + kind));
    }

    /** What the API server would refuse in this custom resource; empty when it is valid. */
    List<String> check(JsonNode resource) {
        String key = resource.path("apiVersion").asText() + " " + resource.path("kind").asText();
        JsonNode schema = schemas.get(key);
        if (schema == null) {
            return List.of("no schema for " + key);
        }
        List<String> errors = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : (Iterable<Map.Entry<String, JsonNode>>) resource::fields) {
            if (field.getKey().equals("apiVersion") || field.getKey().equals("kind") || field.getKey().equals("metadata")) {
                continue;
            }
            JsonNode property = schema.path("properties").get(field.getKey());
            if (property == null) {
                errors.add(field.getKey() + ": unknown field");
            } else {
                validate(field.getValue(), property, field.getKey(), errors);
            }
        }
        for (JsonNode required : schema.path("required")) {
            if (!resource.has(required.asText())) {
                errors.add(required.asText() + ": required");
            }
        }
        return errors;
    }

    static void validate(JsonNode value, JsonNode schema, String path, List<String> errors) {
        if (schema.path("x-kubernetes-int-or-string").asBoolean()) {
            if (!value.isIntegralNumber() && !value.isTextual()) {
                errors.add(path + ": an integer or a string");
            }
            return;
        }
        String type = schema.path("type").asText("");
        switch (type) {
            case "object" -> {
                if (!value.isObject()) {
                    errors.add(path + ": an object, not " + value.getNodeType());
                    return;
                }
                JsonNode properties = schema.path("properties");
                JsonNode additional = schema.get("additionalProperties");
                boolean preserve = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean();
                for (Map.Entry<String, JsonNode> field : (Iterable<Map.Entry<String, JsonNode>>) value::fields) {
                    String at = path + "." + field.getKey();
                    if (properties.has(field.getKey())) {
                        validate(field.getValue(), properties.get(field.getKey()), at, errors);
                    } else if (additional != null && additional.isObject()) {
                        validate(field.getValue(), additional, at, errors);
                    } else if (!preserve && !(additional != null && additional.asBoolean())) {
                        errors.add(at + ": unknown field");
                    }
                }
            }
            case "array" -> {
                if (!value.isArray()) {
                    errors.add(path + ": a list, not " + value.getNodeType());
                    return;
                }
                int i = 0;
                for (JsonNode item : value) {
                    validate(item, schema.path("items"), path + "[" + i++ + "]", errors);
                }
            }
            case "string" -> {
                if (!value.isTextual()) {
                    errors.add(path + ": a string, not " + value.getNodeType() + " (quote it)");
                } else if (schema.has("pattern")) {
                    matches(value.asText(), schema.get("pattern").asText(), path, errors);
                }
            }
            case "integer" -> {
                if (!value.isIntegralNumber()) {
                    errors.add(path + ": an integer, not " + value.getNodeType());
                }
            }
            case "number" -> {
                if (!value.isNumber()) {
                    errors.add(path + ": a number, not " + value.getNodeType());
                }
            }
            case "boolean" -> {
                if (!value.isBoolean()) {
                    errors.add(path + ": a boolean, not " + value.getNodeType());
                }
            }
            default -> {
                // no type: anything (x-kubernetes-preserve-unknown-fields on an untyped node)
            }
        }
        if (value.isObject()) {
            for (JsonNode required : schema.path("required")) {
                if (!value.has(required.asText())) {
                    errors.add(path + "." + required.asText() + ": required");
                }
            }
        }
        if (schema.has("enum")) {
            boolean listed = false;
            for (JsonNode allowed : schema.get("enum")) {
                listed |= allowed.equals(value) || allowed.asText().equals(value.asText()) && value.isValueNode();
            }
            if (!listed) {
                errors.add(path + ": " + value + " is not one of " + schema.get("enum"));
            }
        }
        if (value.isNumber()) {
            if (schema.has("minimum") && value.asDouble() < schema.get("minimum").asDouble()) {
                errors.add(path + ": below the minimum " + schema.get("minimum"));
            }
            if (schema.has("maximum") && value.asDouble() > schema.get("maximum").asDouble()) {
                errors.add(path + ": above the maximum " + schema.get("maximum"));
            }
        }
        for (String combinator : List.of("oneOf", "anyOf")) {
            if (schema.has(combinator)) {
                int passing = 0;
                for (JsonNode alternative : schema.get(combinator)) {
                    List<String> own = new ArrayList<>();
                    validate(value, alternative, path, own);
                    passing += own.isEmpty() ? 1 : 0;
                }
                if (combinator.equals("oneOf") ? passing != 1 : passing == 0) {
                    errors.add(path + ": " + passing + " of the " + combinator + " alternatives " + schema.get(combinator) + " match");
                }
            }
        }
    }

    private static void matches(String value, String pattern, String path, List<String> errors) {
        try {
            if (!Pattern.compile(pattern).matcher(value).find()) {
                errors.add(path + ": '" + value + "' does not match " + pattern);
            }
        } catch (PatternSyntaxException e) {
            // an ECMA-262 pattern Java cannot read: the API server checks it, not this test
        }
    }
}
