package io.steergate.images;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * The images to build, read from {@code deploy/images/images.properties}: the one place for their names, the roles each
 * runs and the environment that differs between them.
 */
public final class ImageCatalog {

    /** The application's roles (io.steergate.role.ProcessRoles): {@code steergate.role.<role>}. */
    static final List<String> ROLES = List.of("gateway", "worker", "trainer");

    /** One image: {@code key} names its tar, {@code name} its repository, {@code env} what only it sets. */
    public record ImageSpec(String key, String name, Set<String> roles, Map<String, String> env) {

        /** The role switches: each of the application's roles on or off, so no role is left to its default (all on). */
        public Map<String, String> roleEnvironment() {
            Map<String, String> env = new LinkedHashMap<>();
            for (String role : ROLES) {
                env.put("STEERGATE_ROLE_" + role.toUpperCase(Locale.ROOT), Boolean.toString(roles.contains(role)));
            }
            return env;
        }
    }

    private ImageCatalog() {
    }

    public static List<ImageSpec> read(Path file) throws IOException {
        Properties props = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(in);
        }
        List<ImageSpec> specs = new ArrayList<>();
        for (String key : split(required(props, "images", file))) {
            String name = required(props, key + ".name", file);
            Set<String> roles = Set.copyOf(split(required(props, key + ".roles", file)));
            for (String role : roles) {
                if (!ROLES.contains(role)) {
                    throw new IllegalArgumentException(file + ": " + key + ".roles names an unknown role '" + role
                            + "' (known: " + ROLES + ")");
                }
            }
            Map<String, String> env = new TreeMap<>();
            String envPrefix = key + ".env.";
            for (String prop : props.stringPropertyNames()) {
                if (prop.startsWith(envPrefix)) {
                    env.put(prop.substring(envPrefix.length()), props.getProperty(prop));
                }
            }
            specs.add(new ImageSpec(key, name, roles, env));
        }
        return specs;
    }

    private static String required(Properties props, String key, Path file) {
        String value = props.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(file + ": missing " + key);
        }
        return value.trim();
    }

    private static List<String> split(String list) {
        List<String> items = new ArrayList<>();
        for (String item : list.split(",")) {
            if (!item.isBlank()) {
                items.add(item.trim());
            }
        }
        return items;
    }
}
