package io.steergate.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.steergate.images.ImageCatalog.ImageSpec;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads the image tars that {@code package} wrote (target/images) as a container runtime would, and checks what a
 * cluster relies on: the config (entrypoint, a non-root user, the application's ports, each image's roles), the files
 * (the application, a Java runtime, the C libraries, only the user's own directories writable by it), and that the
 * Java runtime and libraries in the image run the engine with nothing from this machine's /lib.
 */
class ImageTarIT {

    private static final Path ROOT = Path.of(System.getProperty("steergate.root", "../..")).toAbsolutePath().normalize();
    private static final Path IMAGES = Path.of(System.getProperty("steergate.images.dir", "target/images"));
    private static final String TAG = System.getProperty("steergate.images.tag", "0.1.0-SNAPSHOT");

    private static List<ImageSpec> catalog() throws IOException {
        return ImageCatalog.read(ROOT.resolve("deploy/images/images.properties"));
    }

    private static OciImageTar open(ImageSpec spec) throws IOException {
        Path tar = IMAGES.resolve(spec.key() + ".tar");
        assertTrue(Files.isRegularFile(tar), tar + " was not built (mvn -f deploy/images/pom.xml package)");
        return new OciImageTar(tar);
    }

    @Test
    void everyImageIsAnOciImageNamedFromTheCatalog() throws IOException {
        List<ImageSpec> specs = catalog();
        assertEquals(List.of("steergate/gateway", "steergate/worker-cpu", "steergate/worker-cuda", "steergate/trainer"),
                specs.stream().map(ImageSpec::name).toList());
        for (ImageSpec spec : specs) {
            try (OciImageTar image = open(spec)) {
                assertTrue(image.has("oci-layout"), spec.key());
                JsonNode ref = image.index.path("manifests").path(0);
                assertEquals("application/vnd.oci.image.manifest.v1+json", ref.path("mediaType").asText(), spec.key());
                assertTrue(ref.path("annotations").path("org.opencontainers.image.ref.name").asText()
                        .endsWith(spec.name() + ":" + TAG), spec.key() + ": " + ref.path("annotations"));
                assertEquals("amd64", image.config.path("architecture").asText());
                assertEquals("linux", image.config.path("os").asText());
                assertEquals(image.layerDigests().size(), image.config.path("rootfs").path("diff_ids").size());
                for (String digest : image.layerDigests()) {
                    assertTrue(image.has(OciImageTar.blobPath(digest)), spec.key() + " lacks layer " + digest);
                }
            }
        }
    }

    @Test
    void configRunsTheApplicationAsANonRootUserOnItsOwnPortsInItsRoles() throws IOException {
        Properties app = new Properties();
        try (Reader in = Files.newBufferedReader(ROOT.resolve("src/main/resources/application.properties"),
                StandardCharsets.UTF_8)) {
            app.load(in);
        }
        Set<String> appPorts = Set.of(app.getProperty("quarkus.http.port") + "/tcp",
                app.getProperty("quarkus.management.port") + "/tcp");
        for (ImageSpec spec : catalog()) {
            try (OciImageTar image = open(spec)) {
                JsonNode config = image.config.path("config");
                String user = config.path("User").asText();
                assertTrue(user.matches("[1-9][0-9]*:[1-9][0-9]*"), spec.key() + ": user '" + user
                        + "' must be numeric uid:gid and not root (k8s runAsNonRoot can only check a number)");

                List<String> entrypoint = new ArrayList<>();
                config.path("Entrypoint").forEach(e -> entrypoint.add(e.asText()));
                assertEquals("/opt/java/bin/java", entrypoint.get(0), spec.key());
                assertEquals(List.of("-jar", "/deployments/quarkus-run.jar"),
                        entrypoint.subList(entrypoint.size() - 2, entrypoint.size()), spec.key());

                Set<String> ports = new TreeSet<>();
                config.path("ExposedPorts").fieldNames().forEachRemaining(ports::add);
                assertEquals(new TreeSet<>(appPorts), ports, spec.key());

                Map<String, String> env = env(config);
                for (String role : List.of("gateway", "worker", "trainer")) {
                    assertEquals(Boolean.toString(spec.roles().contains(role)),
                            env.get("STEERGATE_ROLE_" + role.toUpperCase()), spec.key() + " role " + role);
                }
                assertEquals("0.0.0.0", env.get("QUARKUS_HTTP_HOST"), spec.key());
                assertEquals("0.0.0.0", env.get("QUARKUS_MANAGEMENT_HOST"), spec.key());
                assertEquals("true", env.get("DJL_OFFLINE"), spec.key());
                spec.env().forEach((k, v) -> assertEquals(v, env.get(k), spec.key() + " " + k));
                assertEquals(env.get("HOME"), config.path("WorkingDir").asText(), spec.key());
            }
        }
        assertEquals(Set.of("worker"), catalog().stream().filter(s -> s.key().equals("worker-cuda")).findFirst()
                .orElseThrow().roles());
    }

    @Test
    void layersHoldTheApplicationARuntimeAndTheLibrariesAndOnlyTheUserDirectoriesAreTheUsers() throws IOException {
        for (ImageSpec spec : catalog()) {
            try (OciImageTar image = open(spec)) {
                Map<String, OciImageTar.Entry> files = new HashMap<>();
                for (OciImageTar.Entry e : image.entries()) {
                    files.put(e.path(), e);
                }
                String user = image.config.path("config").path("User").asText();
                long uid = Long.parseLong(user.split(":")[0]);
                String home = env(image.config.path("config")).get("HOME");
                String djlCache = env(image.config.path("config")).get("DJL_CACHE_DIR");

                for (String required : List.of("deployments/quarkus-run.jar", "deployments/quarkus/quarkus-application.dat",
                        "opt/java/bin/java", "opt/java/lib/server/libjvm.so", "lib64/ld-linux-x86-64.so.2",
                        "lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libstdc++.so.6",
                        "opt/steergate/models/stories260K/stories260K.bin", "etc/passwd", "tmp")) {
                    assertTrue(files.containsKey(required), spec.key() + " lacks /" + required);
                }
                assertTrue(files.keySet().stream().anyMatch(p -> p.matches("deployments/app/steergate-.*\\.jar")),
                        spec.key() + " lacks the application jar");
                assertTrue(files.keySet().stream().anyMatch(p -> p.matches(
                        "deployments/lib/main/ai\\.djl\\.pytorch\\.pytorch-native-cpu-.*\\.jar")), spec.key());
                assertTrue((files.get("opt/java/bin/java").mode() & 0111) == 0111, spec.key() + ": java not executable");

                for (String writable : List.of(home.substring(1), djlCache.substring(1))) {
                    OciImageTar.Entry dir = files.get(writable);
                    assertTrue(dir != null && dir.directory() && dir.uid() == uid, spec.key() + ": /" + writable
                            + " must be a directory of uid " + uid + ", is " + dir);
                }
                // the application cannot rewrite its own code, runtime or libraries
                List<String> ownedByUser = files.values().stream().filter(e -> e.uid() != 0)
                        .map(OciImageTar.Entry::path).sorted().toList();
                assertEquals(List.of(home.substring(1), djlCache.substring(1)).stream().sorted().toList(), ownedByUser,
                        spec.key());
            }
        }
    }

    @Test
    void etcPasswdNamesTheImageUser() throws IOException {
        ImageSpec gateway = catalog().get(0);
        try (OciImageTar image = open(gateway)) {
            String user = image.config.path("config").path("User").asText();
            String[] ids = user.split(":");
            String home = env(image.config.path("config")).get("HOME");
            // the JVM looks the user up to set user.name and user.home
            String passwd = new String(image.read("etc/passwd"), StandardCharsets.UTF_8);
            assertTrue(passwd.lines().anyMatch(l -> l.matches("[a-z]+:x:" + ids[0] + ":" + ids[1] + ":[^:]*:"
                    + home + ":.*")), passwd);
        }
    }

    /**
     * The unpacked worker image's own java and libraries generate text with the engine (libtorch through DJL): the
     * reference continuation of llama2.c, with every shared library loaded from the image (LD_DEBUG). A chroot would
     * need root; the host's loader is the same file as the image's (both copied from this machine).
     */
    @Test
    void unpackedWorkerImageRunsTheEngineOnItsOwnJavaAndLibraries(@TempDir Path tmp) throws Exception {
        ImageSpec worker = catalog().stream().filter(s -> s.key().equals("worker-cpu")).findFirst().orElseThrow();
        Path rootfs = tmp.resolve("rootfs");
        Map<String, String> imageEnv;
        try (OciImageTar image = open(worker)) {
            image.unpack(rootfs);
            imageEnv = env(image.config.path("config"));
        }
        Path deployments = rootfs.resolve("deployments");
        String classpath = Stream.of("app", "lib/boot", "lib/main")
                .flatMap(d -> list(deployments.resolve(d)).stream()).map(Path::toString)
                .collect(Collectors.joining(":"));
        ProcessBuilder pb = new ProcessBuilder(rootfs.resolve("opt/java/bin/java").toString(),
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-cp", classpath, "io.steergate.cli.SteerCli", "generate",
                "--model", rootfs.resolve(imageEnv.get("STEERGATE_MODEL_DIR").substring(1)).toString(),
                "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "24");
        pb.environment().clear();
        pb.environment().put("LD_LIBRARY_PATH", rootfs.resolve("lib/x86_64-linux-gnu").toString());
        pb.environment().put("LD_DEBUG", "libs");
        pb.environment().put("DJL_OFFLINE", imageEnv.get("DJL_OFFLINE"));
        pb.environment().put("DJL_CACHE_DIR", tmp.resolve("djl").toString());
        pb.environment().put("HOME", tmp.toString());
        Path stdout = tmp.resolve("stdout.txt");
        Path stderr = tmp.resolve("stderr.txt");
        pb.redirectOutput(stdout).redirectError(stderr);
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail("generation from the unpacked image did not finish in 5 minutes");
        }
        String out = Files.readString(stdout);
        String err = Files.readString(stderr);
        assertEquals(0, p.exitValue(), () -> "exit " + p.exitValue() + "\n" + out + "\n" + tail(err));
        assertTrue(out.startsWith("Once upon a time, there was a little girl named Lily."), out);

        List<String> loaded = err.lines().filter(l -> l.contains("calling init:"))
                .map(l -> l.substring(l.indexOf("calling init:") + "calling init:".length()).trim()).toList();
        assertTrue(loaded.stream().anyMatch(l -> l.endsWith("/libtorch_cpu.so")), "libtorch was not loaded: " + loaded);
        assertTrue(loaded.stream().anyMatch(l -> l.endsWith("/libjvm.so")), loaded.toString());
        List<String> foreign = loaded.stream()
                .filter(l -> !l.startsWith(rootfs.toString()) && !l.startsWith(tmp.resolve("djl").toString()))
                .filter(l -> !l.endsWith("/ld-linux-x86-64.so.2"))
                .toList();
        assertTrue(foreign.isEmpty(), "libraries loaded from outside the image: " + foreign);
    }

    private static Map<String, String> env(JsonNode config) {
        Map<String, String> env = new HashMap<>();
        config.path("Env").forEach(e -> {
            String s = e.asText();
            int eq = s.indexOf('=');
            env.put(s.substring(0, eq), s.substring(eq + 1));
        });
        assertFalse(env.isEmpty(), "image has no environment");
        return env;
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String tail(String s) {
        return s.length() <= 4000 ? s : s.substring(s.length() - 4000);
    }
}
