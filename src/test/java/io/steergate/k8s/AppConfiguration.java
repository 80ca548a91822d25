package io.steergate.k8s;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The application's configuration as the manifests may use it: every property it reads (application.properties,
 * its documented commented-out keys, the {@code @ConfigMapping} interfaces and {@code @ConfigProperty} injection
 * points of src/main/java) and the environment variable of each, by SmallRye's rule (every character that is not a
 * letter or digit becomes {@code _}, then upper case). {@code KAFKA_*} variables are Kafka client settings: Quarkus
 * passes {@code KAFKA_SASL_JAAS_CONFIG} to every client as {@code sasl.jaas.config}.
 */
final class AppConfiguration {

    static final Path PROPERTIES = Path.of("src/main/resources/application.properties");
    private static final Path SOURCES = Path.of("src/main/java");
    private static final Pattern KEY = Pattern.compile("[a-z][a-z0-9]*(\\.[A-Za-z0-9\"*_-]+)+");
    private static final Pattern COMMENTED_KEY = Pattern.compile("^#\\s*([a-z][a-z0-9]*(?:\\.[A-Za-z0-9_-]+)+)=.*$");
    private static final Pattern CONFIG_PROPERTY = Pattern.compile("@ConfigProperty\\(\\s*name\\s*=\\s*\"([^\"]+)\"");
    private static final Pattern CONFIG_MAPPING = Pattern.compile("@ConfigMapping\\(\\s*prefix\\s*=\\s*\"([^\"]+)\"");
    /**
     * Environment variables that are no configuration property: the JVM reads JAVA_TOOL_OPTIONS itself (heap, DJL's
     * cache directory, libtorch's threads as system properties).
     */
    static final Set<String> JVM_ENVIRONMENT = Set.of("JAVA_TOOL_OPTIONS");

    /** application.properties of the default profile (no %profile. keys), in file order. */
    final Map<String, String> values;
    /** Property names, some with {@code *} for a map key (steergate.quotas.tenants.*.requests-per-minute). */
    final Set<String> names;
    /** Defaults of @ConfigMapping members ({@code @WithDefault}), by property name. */
    final Map<String, String> mappingDefaults;

    private AppConfiguration(Map<String, String> values, Set<String> names, Map<String, String> mappingDefaults) {
        this.values = values;
        this.names = names;
        this.mappingDefaults = mappingDefaults;
    }

    static AppConfiguration load() {
        Map<String, String> values = new LinkedHashMap<>();
        Set<String> names = new LinkedHashSet<>();
        Map<String, String> defaults = new LinkedHashMap<>();
        try {
            for (String raw : Files.readAllLines(PROPERTIES)) {
                String line = raw.strip();
                Matcher commented = COMMENTED_KEY.matcher(line);
                if (commented.matches()) {
                    names.add(commented.group(1));
                    continue;
                }
                if (line.isEmpty() || line.startsWith("#") || !line.contains("=")) {
                    continue;
                }
                String key = line.substring(0, line.indexOf('=')).strip();
                String value = line.substring(line.indexOf('=') + 1).strip();
                if (key.startsWith("%")) {
                    key = key.substring(key.indexOf('.') + 1);
                    names.add(key);
                    continue;
                }
                values.put(key, value);
                names.add(key);
            }
            try (Stream<Path> files = Files.walk(SOURCES)) {
                for (Path source : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    String text = Files.readString(source);
                    Matcher property = CONFIG_PROPERTY.matcher(text);
                    while (property.find()) {
                        names.add(property.group(1));
                    }
                    Matcher mapping = CONFIG_MAPPING.matcher(text);
                    if (mapping.find()) {
                        Class<?> type = Class.forName(SOURCES.relativize(source).toString()
                                .replace(".java", "").replace('/', '.'));
                        members(type.getAnnotation(ConfigMapping.class).prefix(), type, names, defaults);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ClassNotFoundException e) {
            throw new AssertionError("a @ConfigMapping source without its class: " + e.getMessage(), e);
        }
        for (String name : names) {
            if (!KEY.matcher(name).matches()) {
                throw new AssertionError("not read as a property name: " + name);
            }
        }
        return new AppConfiguration(values, Set.copyOf(names), defaults);
    }

    /** SmallRye's kebab-case naming of a mapping member, with @WithName, groups, Optional and Map keys. */
    private static void members(String prefix, Class<?> type, Set<String> names, Map<String, String> defaults) {
        for (Method m : type.getMethods()) {
            if (m.getParameterCount() != 0 || m.isDefault() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            WithName withName = m.getAnnotation(WithName.class);
            String name = prefix + "." + (withName != null ? withName.value() : kebab(m.getName()));
            Type returned = m.getGenericReturnType();
            if (returned instanceof ParameterizedType p && p.getRawType() == Optional.class) {
                returned = p.getActualTypeArguments()[0];
            }
            if (returned instanceof ParameterizedType p && p.getRawType() == Map.class) {
                Type value = p.getActualTypeArguments()[1];
                if (value instanceof Class<?> group && group.isInterface()) {
                    members(name + ".*", group, names, defaults);
                } else {
                    names.add(name + ".*");
                }
            } else if (returned instanceof Class<?> group && group.isInterface() && !group.getName().startsWith("java.")) {
                members(name, group, names, defaults);
            } else {
                names.add(name);
                WithDefault withDefault = m.getAnnotation(WithDefault.class);
                if (withDefault != null) {
                    defaults.put(name, withDefault.value());
                }
            }
        }
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase();
    }

    /** SmallRye's environment variable of a property name. */
    static String envName(String property) {
        return property.replaceAll("[^A-Za-z0-9]", "_").toUpperCase();
    }

    /**
     * The property an environment variable sets, or empty when the application reads none by that name. A map key
     * ({@code *}) matches one or more segments.
     */
    Optional<String> propertyOf(String env) {
        if (env.startsWith("KAFKA_")) {
            String setting = env.substring("KAFKA_".length()).toLowerCase().replace('_', '.');
            return kafkaClientSettings().contains(setting) ? Optional.of("kafka." + setting) : Optional.empty();
        }
        for (String name : names) {
            if (name.contains("*")) {
                String regex = Stream.of(name.split("\\*", -1)).map(part -> Pattern.quote(envName(part)))
                        .reduce((a, b) -> a + "[A-Z0-9_]+" + b).orElseThrow();
                if (env.matches(regex)) {
                    return Optional.of(name);
                }
            } else if (envName(name).equals(env)) {
                return Optional.of(name);
            }
        }
        return Optional.empty();
    }

    /** Every setting a Kafka consumer, producer or admin client takes. */
    static Set<String> kafkaClientSettings() {
        Set<String> all = new LinkedHashSet<>(ConsumerConfig.configNames());
        all.addAll(ProducerConfig.configNames());
        all.addAll(AdminClientConfig.configNames());
        return all;
    }

    /** The value application.properties gives a property (a mapping default when it gives none). */
    String value(String property) {
        String value = values.getOrDefault(property, mappingDefaults.get(property));
        if (value == null) {
            throw new AssertionError("application.properties sets no " + property + " and no mapping defaults it");
        }
        return value;
    }

    /** Every topic name application.properties configures (keys ending in -topic or .topic). */
    Set<String> topics() {
        Set<String> topics = new LinkedHashSet<>();
        values.forEach((key, value) -> {
            if (key.endsWith("-topic") || key.endsWith(".topic")) {
                topics.add(value);
            }
        });
        return topics;
    }

    static List<String> roles() {
        return List.of("gateway", "worker", "trainer");
    }
}
