package io.steergate.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
     * The worker image, unpacked with its owners and run as a container runtime would run it, minus the namespaces
     * for network and users: its own root (chroot, with /proc and /dev mounted in a private mount namespace), its
     * user, its environment, its java. The engine (libtorch through DJL, unpacked into the image's DJL cache) generates
     * greedily from the image's model and must print llama2.c's reference continuation. Needs root (CI runs as root).
     */
    @Test
    void workerImageRunsTheEngineInItsOwnRootAsItsUser(@TempDir Path tmp) throws Exception {
        List<String> tools = List.of("/usr/bin/unshare", "/bin/sh", "/usr/bin/mount", "/usr/sbin/chroot", "/usr/bin/env");
        assumeTrue("root".equals(System.getProperty("user.name")) && tools.stream().allMatch(t -> Files.isExecutable(
                Path.of(t))), "running the unpacked image needs root and " + tools + ": skipped");
        ImageSpec worker = catalog().stream().filter(s -> s.key().equals("worker-cpu")).findFirst().orElseThrow();
        Path rootfs = tmp.resolve("rootfs");
        JsonNode config;
        try (OciImageTar image = open(worker)) {
            image.unpack(rootfs, true);
            config = image.config.path("config");
        }
        // mount points a runtime provides
        Files.createDirectories(rootfs.resolve("proc"));
        Files.createDirectories(rootfs.resolve("dev"));
        Map<String, String> env = env(config);
        String classpath = Stream.of("app", "lib/boot", "lib/main")
                .flatMap(d -> list(rootfs.resolve("deployments").resolve(d)).stream())
                .map(jar -> "/" + rootfs.relativize(jar)).collect(Collectors.joining(":"));

        List<String> command = new ArrayList<>(List.of(tools.get(0), "--mount", "--pid", "--fork", "--kill-child",
                tools.get(1), "-c", "R=$1; shift; " + tools.get(2) + " -t proc proc \"$R/proc\" && " + tools.get(2)
                        + " --rbind /dev \"$R/dev\" && exec " + tools.get(4) + " -i \"$@\"",
                "sh", rootfs.toString()));
        env.forEach((k, v) -> command.add(k + "=" + v));
        command.addAll(List.of(tools.get(3), "--userspec=" + config.path("User").asText(), rootfs.toString(),
                config.path("Entrypoint").path(0).asText(),
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-cp", classpath, "io.steergate.cli.SteerCli", "generate", "--model", env.get("STEERGATE_MODEL_DIR"),
                "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "24"));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        Path stdout = tmp.resolve("stdout.txt");
        Path stderr = tmp.resolve("stderr.txt");
        pb.redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail("generation in the unpacked image did not finish in 5 minutes");
        }
        String out = Files.readString(stdout);
        String err = Files.readString(stderr);
        assertEquals(0, p.exitValue(), () -> "exit " + p.exitValue() + "\n" + out + "\n" + tail(err));
        assertTrue(out.startsWith("Once upon a time, there was a little girl named Lily."), out + "\n" + tail(err));
        // DJL unpacked libtorch where the image said, as the image's user
        Path torch;
        try (Stream<Path> files = Files.walk(rootfs.resolve(env.get("DJL_CACHE_DIR").substring(1)))) {
            torch = files.filter(f -> f.getFileName().toString().equals("libtorch_cpu.so")).findFirst().orElseThrow(
                    () -> new AssertionError("no libtorch_cpu.so under the image's DJL_CACHE_DIR"));
        }
        assertEquals(Integer.parseInt(config.path("User").asText().split(":")[0]), Files.getAttribute(torch, "unix:uid"));
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
