package io.steergate.images;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * The image's Java runtime: jlink of the JDK that runs the build (no base image to pull). The modules are Java SE
 * plus the jdk.* modules that Quarkus, Netty, Kafka's client and the PostgreSQL driver reach at run time.
 */
final class JavaRuntime {

    static final List<String> MODULES = List.of(
            "java.se",
            "jdk.unsupported",     // sun.misc.Unsafe: Netty, Kafka
            "jdk.crypto.ec",       // TLS with EC keys (Kafka, PostgreSQL, JWT verification)
            "jdk.management",      // com.sun.management: Micrometer's JVM and process metrics
            "jdk.jfr",
            "jdk.zipfs",
            "jdk.naming.dns",
            "jdk.net",
            "jdk.security.auth",   // JAAS login modules (Kafka SASL)
            "jdk.security.jgss",
            "jdk.charsets",        // PostgreSQL server encodings beyond java.base's
            "jdk.incubator.vector"); // the CPU decoder's attention kernels (the entrypoint adds it)

    private JavaRuntime() {
    }

    /**
     * Links the runtime into {@code target}; the JDK is this JVM's own. A runtime linked before from the same JDK with
     * the same modules is kept (jlink takes 10-90 s on the 2 shared cores here).
     */
    static Path link(Path target) throws IOException {
        Path javaHome = Path.of(System.getProperty("java.home"));
        String stamp = javaHome + " " + System.getProperty("java.runtime.version") + " " + MODULES;
        Path stampFile = target.resolveSibling(target.getFileName() + ".stamp");
        if (Files.isRegularFile(stampFile) && Files.readString(stampFile).equals(stamp)
                && Files.isRegularFile(target.resolve("bin/java"))) {
            return target;
        }
        Files.deleteIfExists(stampFile);
        Path jmods = javaHome.resolve("jmods");
        if (!Files.isDirectory(jmods)) {
            throw new IllegalStateException("the build JDK " + javaHome + " has no jmods/ folder, which jlink needs: run "
                    + "the image build with a full JDK (Debian: openjdk-17-jdk-headless)");
        }
        ToolProvider jlink = ToolProvider.findFirst("jlink").orElseThrow(() -> new IllegalStateException(
                "jlink is not available in " + javaHome + ": run the image build with a JDK, not a JRE"));
        deleteRecursively(target);
        Files.createDirectories(target.getParent());
        List<String> args = new ArrayList<>(List.of(
                "--module-path", jmods.toString(),
                "--add-modules", String.join(",", MODULES),
                "--no-header-files", "--no-man-pages",
                "--output", target.toString()));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
        int code = jlink.run(out, out, args.toArray(new String[0]));
        if (code != 0) {
            throw new IllegalStateException("jlink failed (exit " + code + "): " + log.toString(StandardCharsets.UTF_8));
        }
        Files.writeString(stampFile, stamp);
        return target;
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
