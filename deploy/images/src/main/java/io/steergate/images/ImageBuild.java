package io.steergate.images;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import com.google.cloud.tools.jib.api.buildplan.Port;
import io.steergate.images.ImageCatalog.ImageSpec;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Writes one OCI image tar per entry of {@code deploy/images/images.properties} into {@code --out}: the packaged
 * application ({@code target/quarkus-app}) on a jlink'd Java runtime and the C libraries it needs, from scratch, with
 * no registry, no Docker and no network. Every image runs as {@link #USER}, starts the application with
 * {@link #ENTRYPOINT}, exposes the application's HTTP and management ports and sets its roles in the environment.
 *
 * <p>Usage: {@code ImageBuild --root=REPO --out=DIR --work=DIR --tag=TAG [--libtorch-cuda=DIR]}
 */
public final class ImageBuild {

    /** Not root: uid and gid 1001, with a home of its own (the working directory: data/ is written relative to it). */
    public static final String USER = "1001:1001";
    static final String USER_NAME = "steergate";
    static final String HOME = "/home/steergate";
    static final String JAVA_HOME = "/opt/java";
    static final String APP_DIR = "/deployments";
    static final String MODEL_DIR = "/opt/steergate/models/stories260K";
    static final String POLICY_DIR = "/opt/steergate/policies";
    /** DJL unpacks libtorch here on first use: writable by the user (k8s: an emptyDir when the root is read-only). */
    static final String DJL_CACHE_DIR = "/var/cache/steergate/djl";

    public static final List<String> ENTRYPOINT = List.of(
            JAVA_HOME + "/bin/java",
            "-XX:MaxRAMPercentage=75.0", "-XX:+ExitOnOutOfMemoryError",
            // the CPU decoder's attention kernels (engine/model/VectorKernels); without it, its scalar loops
            "--add-modules", "jdk.incubator.vector",
            "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
            "-jar", APP_DIR + "/quarkus-run.jar");

    private ImageBuild() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = options(args);
        Path root = Path.of(require(opts, "root")).toAbsolutePath().normalize();
        Path out = Path.of(require(opts, "out")).toAbsolutePath();
        Path work = Path.of(require(opts, "work")).toAbsolutePath();
        String tag = require(opts, "tag");
        String libtorchCuda = opts.getOrDefault("libtorch-cuda", "");

        Path app = root.resolve("target/quarkus-app");
        if (!Files.isRegularFile(app.resolve("quarkus-run.jar"))) {
            throw new IllegalStateException(app + "/quarkus-run.jar is missing: package the application first "
                    + "(./mvnw -B package -DskipTests)");
        }
        Path model = modelDir(root);
        List<ImageSpec> specs = ImageCatalog.read(root.resolve("deploy/images/images.properties"));
        Set<Port> ports = ports(root.resolve("src/main/resources/application.properties"));
        if (!libtorchCuda.isBlank() && specs.stream().noneMatch(s -> s.env().containsKey("PYTORCH_LIBRARY_PATH"))) {
            throw new IllegalArgumentException("--libtorch-cuda given, but no image in images.properties sets "
                    + "PYTORCH_LIBRARY_PATH to put it at");
        }

        long start = System.nanoTime();
        Path java = JavaRuntime.link(work.resolve("java"));
        System.out.printf("[images] Java runtime (jlink) ready in %.1f s%n", (System.nanoTime() - start) / 1e9);
        Path etc = writeEtc(work.resolve("etc"));
        Path emptyDir = Files.createDirectories(work.resolve("empty"));
        FileEntriesLayer system = systemLayer(etc, emptyDir);
        FileEntriesLayer runtime = copyLayer("java-runtime", java, JAVA_HOME);
        FileEntriesLayer dependencies = copyLayer("application-dependencies", app.resolve("lib"), APP_DIR + "/lib");
        FileEntriesLayer data = FileEntriesLayer.builder().setName("model-and-policies")
                .addEntryRecursive(model, AbsoluteUnixPath.get(MODEL_DIR), ImageBuild::sourcePermissions,
                        FileEntriesLayer.DEFAULT_MODIFICATION_TIME_PROVIDER)
                .addEntryRecursive(root.resolve("policies"), AbsoluteUnixPath.get(POLICY_DIR),
                        ImageBuild::sourcePermissions, FileEntriesLayer.DEFAULT_MODIFICATION_TIME_PROVIDER)
                .build();
        FileEntriesLayer application = FileEntriesLayer.builder().setName("application")
                .addEntryRecursive(app.resolve("quarkus-run.jar"), AbsoluteUnixPath.get(APP_DIR + "/quarkus-run.jar"))
                .addEntryRecursive(app.resolve("app"), AbsoluteUnixPath.get(APP_DIR + "/app"))
                .addEntryRecursive(app.resolve("quarkus"), AbsoluteUnixPath.get(APP_DIR + "/quarkus"))
                .build();

        Files.createDirectories(out);
        for (ImageSpec spec : specs) {
            long t0 = System.nanoTime();
            JibContainerBuilder image = Jib.fromScratch()
                    .setFormat(ImageFormat.OCI)
                    .setFileEntriesLayers(system, runtime, dependencies, data, application)
                    .setUser(USER)
                    .setWorkingDirectory(AbsoluteUnixPath.get(HOME))
                    .setEntrypoint(ENTRYPOINT)
                    .setExposedPorts(ports)
                    .setEnvironment(environment(spec))
                    .setLabels(labels(spec, tag));
            String torchPath = spec.env().get("PYTORCH_LIBRARY_PATH");
            if (torchPath != null && !libtorchCuda.isBlank()) {
                image.addFileEntriesLayer(copyLayer("libtorch", libtorch(Path.of(libtorchCuda)), torchPath));
            }
            Path tar = out.resolve(spec.key() + ".tar");
            Containerizer target = Containerizer.to(TarImage.at(tar).named(spec.name() + ":" + tag))
                    .setApplicationLayersCache(work.resolve("jib-cache"))
                    .setBaseImageLayersCache(work.resolve("jib-base-cache"))
                    .setOfflineMode(true)
                    .setToolName("steergate-images");
            JibContainer built = image.containerize(target);
            System.out.printf("[images] %s:%s -> %s (%d MB, %s) in %.1f s%n", spec.name(), tag, tar,
                    Files.size(tar) >> 20, built.getDigest(), (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf("[images] %d images in %.1f s%n", specs.size(), (System.nanoTime() - start) / 1e9);
    }

    /** The environment of one image: where things are in it, listening beyond loopback, its roles, its own extras. */
    static Map<String, String> environment(ImageSpec spec) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("JAVA_HOME", JAVA_HOME);
        env.put("PATH", JAVA_HOME + "/bin");
        env.put("HOME", HOME);
        // inside a pod the Service and the kubelet's probes reach the container's address, not its loopback;
        // NetworkPolicies (k8s/) decide who may connect
        env.put("QUARKUS_HTTP_HOST", "0.0.0.0");
        env.put("QUARKUS_MANAGEMENT_HOST", "0.0.0.0");
        env.put("STEERGATE_MODEL_DIR", MODEL_DIR);
        env.put("STEERGATE_POLICY_DIR", POLICY_DIR);
        env.put("STEERGATE_DEMO_INTERVENTIONS_DIR", POLICY_DIR + "/interventions");
        env.put("DJL_OFFLINE", "true");
        env.put("DJL_CACHE_DIR", DJL_CACHE_DIR);
        env.putAll(spec.roleEnvironment());
        env.putAll(spec.env());
        return env;
    }

    private static Map<String, String> labels(ImageSpec spec, String tag) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("org.opencontainers.image.title", spec.name());
        labels.put("org.opencontainers.image.version", tag);
        labels.put("org.opencontainers.image.description", "SteerGate, roles: " + String.join(",",
                ImageCatalog.ROLES.stream().filter(spec.roles()::contains).toList()));
        labels.put("io.steergate.system-libraries", "copied from " + SystemLibraries.origin());
        return labels;
    }

    /** The C libraries, /etc's user and name-service files, and the directories the user must be able to write. */
    private static FileEntriesLayer systemLayer(Path etc, Path emptyDir) throws IOException {
        FileEntriesLayer.Builder layer = FileEntriesLayer.builder().setName("system");
        for (Map.Entry<String, Path> lib : SystemLibraries.find().entrySet()) {
            layer.addEntry(lib.getValue(), AbsoluteUnixPath.get(SystemLibraries.LIBRARY_DIR + "/" + lib.getKey()),
                    sourcePermissions(lib.getValue(), null));
            if (lib.getKey().equals("ld-linux-x86-64.so.2")) {
                layer.addEntry(lib.getValue(), AbsoluteUnixPath.get(SystemLibraries.LOADER),
                        sourcePermissions(lib.getValue(), null));
            }
        }
        layer.addEntryRecursive(etc, AbsoluteUnixPath.get("/etc"));
        // no sticky bit: Jib's permissions are the nine rwx bits only; one user runs in the container
        layer.addEntry(emptyDir, AbsoluteUnixPath.get("/tmp"), FilePermissions.fromOctalString("777"),
                FileEntriesLayer.DEFAULT_MODIFICATION_TIME);
        for (String dir : List.of(HOME, DJL_CACHE_DIR)) {
            layer.addEntry(emptyDir, AbsoluteUnixPath.get(dir), FilePermissions.fromOctalString("755"),
                    FileEntriesLayer.DEFAULT_MODIFICATION_TIME, USER);
        }
        return layer.build();
    }

    private static Path writeEtc(Path etc) throws IOException {
        JavaRuntime.deleteRecursively(etc);
        Files.createDirectories(etc);
        String[] ids = USER.split(":");
        Files.writeString(etc.resolve("passwd"), "root:x:0:0:root:/root:/sbin/nologin\n"
                + USER_NAME + ":x:" + ids[0] + ":" + ids[1] + ":" + USER_NAME + ":" + HOME + ":/sbin/nologin\n");
        Files.writeString(etc.resolve("group"), "root:x:0:\n" + USER_NAME + ":x:" + ids[1] + ":\n");
        Files.writeString(etc.resolve("nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
        return etc;
    }

    private static FileEntriesLayer copyLayer(String name, Path source, String target) throws IOException {
        return FileEntriesLayer.builder().setName(name)
                .addEntryRecursive(source, AbsoluteUnixPath.get(target), ImageBuild::sourcePermissions,
                        FileEntriesLayer.DEFAULT_MODIFICATION_TIME_PROVIDER)
                .build();
    }

    /** The source's own mode bits, so executables (bin/java, jspawnhelper) stay executable. */
    private static FilePermissions sourcePermissions(Path source, AbsoluteUnixPath ignored) {
        try {
            return FilePermissions.fromPosixFilePermissions(Files.getPosixFilePermissions(source));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the mode of " + source, e);
        }
    }

    private static Path libtorch(Path dir) {
        if (!Files.isRegularFile(dir.resolve("libtorch.so"))) {
            throw new IllegalArgumentException("--libtorch-cuda=" + dir + " has no libtorch.so: give the lib/ folder "
                    + "of an unpacked libtorch 2.7.1 CUDA 12.8 build");
        }
        return dir;
    }

    private static Path modelDir(Path root) {
        String fromEnv = System.getenv("STEERGATE_MODEL_DIR");
        Path model = fromEnv != null && !fromEnv.isBlank() ? Path.of(fromEnv)
                : root.resolve("../shared/models/stories260K").normalize();
        if (!Files.isRegularFile(model.resolve("stories260K.bin"))) {
            throw new IllegalStateException("no model at " + model + " (set STEERGATE_MODEL_DIR to the stories260K "
                    + "folder)");
        }
        return model;
    }

    /** The HTTP and management ports, from the application's own configuration so the image cannot drift from it. */
    static Set<Port> ports(Path applicationProperties) throws IOException {
        Properties props = new Properties();
        try (Reader in = Files.newBufferedReader(applicationProperties, StandardCharsets.UTF_8)) {
            props.load(in);
        }
        Set<Port> ports = new LinkedHashSet<>();
        for (String key : List.of("quarkus.http.port", "quarkus.management.port")) {
            String value = props.getProperty(key);
            if (value == null) {
                throw new IllegalStateException(applicationProperties + " sets no " + key);
            }
            ports.add(Port.tcp(Integer.parseInt(value.trim())));
        }
        return ports;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (!arg.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("expected --name=value, got '" + arg + "'");
            }
            opts.put(arg.substring(2, eq), arg.substring(eq + 1));
        }
        return opts;
    }

    private static String require(Map<String, String> opts, String name) {
        String value = opts.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("missing --" + name + "=...");
        }
        return value;
    }
}
