package io.steergate.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The embedded default: starts a real single-node KRaft broker and a real PostgreSQL on fixed ports, with
 * all data under one folder so it survives restarts, creates the topics, then runs the packaged SteerGate
 * application as a child process pointed at them, and supervises: PostgreSQL and the application are restarted
 * when they exit (the application also when it stops being live), and neither outlives the launcher. Ctrl-C
 * stops the application, the broker and PostgreSQL.
 */
public final class EmbeddedStack {

    /**
     * The topics every deployment has. Each served model's job topic (steer.jobs.&lt;model&gt;) is the application's to
     * create, with steergate.jobs.partitions partitions: only it knows the models, and its ACLs let it (KafkaAcls).
     */
    static final List<String> TOPICS = List.of(
            "steer.requests", "steer.results", "steer.requests.dlq", "steer.jobs.dlq", "steer.job-results",
            "steer.job-results.dlq", "steer.retraining", "steer.retraining.dlq", "steer.job-tokens", "steer.job-cancels");
    static final int PARTITIONS = 4;
    /** The largest request the application promises to answer: its steergate.limits.message-bytes default. */
    static final int MESSAGE_BYTES = 1_048_576;
    /**
     * Kafka's bytes around a record's value that count against message.max.bytes: a record batch header (61 bytes),
     * the record's varints and attributes (at most 26), its key (a request id: at most 128 ASCII characters) and
     * the client's headers; 16 KiB leaves a client over 15 KB of headers. So a request the application promises to
     * answer always reaches it, and one a little over the limit still does and is answered MESSAGE_TOO_LARGE.
     */
    static final int RECORD_OVERHEAD_BYTES = 16 * 1024;
    static final String DATABASE = "steergate";
    static final String BANNER_TITLE = "SteerGate embedded stack is up";
    private static final long SUPERVISE_EVERY_MS = 500;
    private static final Duration MAX_RESTART_PAUSE = Duration.ofSeconds(30);

    private final Options options;
    private final AtomicBoolean stopping = new AtomicBoolean();
    /** Held by every start, restart and stop of a part, so that the shutdown hook never races a restart. */
    private final Object lifecycle = new Object();
    private RunDir runDir;
    private volatile Watchdog watchdog;
    private SupervisedPostgres postgres;
    private KafkaBroker broker;
    private KafkaCredentials kafkaCredentials;
    /** Whether {@code steer kafka setup} has set the users and ACLs (not with --infra-only and no application jar). */
    private boolean kafkaAccessSet;
    private SupervisedApp app;

    private EmbeddedStack(Options options) {
        this.options = options;
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println();
            System.err.println(Options.USAGE);
            System.exit(2);
            return;
        }
        if (options.help) {
            System.out.println(Options.USAGE);
            return;
        }
        if (!options.infraOnly && !Files.isRegularFile(options.appJar)) {
            System.err.println("error: the application jar is missing: " + options.appJar.toAbsolutePath().normalize());
            System.err.println("       build it with `./mvnw -B package -DskipTests` at the repository root (deploy/run does),");
            System.err.println("       pass another with --app-jar PATH, or start only Kafka and PostgreSQL with --infra-only.");
            System.exit(2);
            return;
        }
        System.exit(new EmbeddedStack(options).run());
    }

    private int run() {
        Path logs = options.dataDir.resolve("logs");
        try {
            Files.createDirectories(logs);
            routeLibraryLogsTo(logs.resolve("infrastructure.log"));
            runDir = RunDir.claim(options.dataDir);
        } catch (RunDir.Busy e) {
            say(e.getMessage());
            return 1;
        } catch (IOException e) {
            say("cannot use the data directory " + options.dataDir.toAbsolutePath().normalize() + ": " + e);
            return 1;
        }
        Path postgresDir = options.dataDir.resolve("postgres");
        runDir.stopLeftovers(postgresDir);
        List<String> taken = Ports.taken(options.neededPorts());
        if (!taken.isEmpty()) {
            taken.forEach(EmbeddedStack::say);
            return 1;
        }
        Path kafkaDir = options.dataDir.resolve("kafka");
        var refusal = KafkaCredentials.refusal(KafkaBroker.logDir(kafkaDir), credentialsDir(), options.dataDir);
        if (refusal.isPresent()) {
            say(refusal.get());
            return 1;
        }
        try {
            kafkaCredentials = KafkaCredentials.in(credentialsDir());
        } catch (IOException | IllegalStateException e) {
            say("cannot read or create the Kafka credentials in " + credentialsDir().toAbsolutePath().normalize() + ": " + reason(e));
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdown, "steergate-launcher-shutdown"));
        try {
            say("data in " + options.dataDir.toAbsolutePath().normalize() + ", broker and PostgreSQL logs in "
                    + logs.resolve("infrastructure.log"));
            if (!options.durable) {
                say("--unsafe-no-fsync: PostgreSQL runs without fsync and synchronous commit; a crash of PostgreSQL or"
                        + " of the machine can lose requests that were already accepted");
            }
            synchronized (lifecycle) {
                if (stopping.get()) {
                    return 1;
                }
                startWatchdog(postgresDir);
                postgres = SupervisedPostgres.start(new Postgres.Settings(postgresDir, options.postgresPort, DATABASE,
                        passwordFile(), options.durable));
            }
            say("PostgreSQL ready: " + postgres.jdbcUrl() + " (pid " + postgres.postmaster().pid() + ")");
            synchronized (lifecycle) {
                if (stopping.get()) {
                    return 1;
                }
                broker = KafkaBroker.start(kafkaDir, options.kafkaPort, options.controllerPort,
                        PARTITIONS, logs.resolve("storage-format.log"), kafkaCredentials);
                broker.createTopics(TOPICS, PARTITIONS);
                kafkaCredentials.writeSettings(broker.bootstrapServers());
            }
            say("Kafka ready: " + broker.bootstrapServers() + " (SASL_PLAINTEXT, SCRAM-SHA-512; topics "
                    + String.join(", ", TOPICS) + ")");
        } catch (Exception e) {
            say("could not start the infrastructure: " + e);
            e.printStackTrace();
            return 1;
        }
        if (Files.isRegularFile(options.appJar)) {
            try {
                KafkaAccess.setUp(options.appJar, kafkaCredentials);
                kafkaAccessSet = true;
                say("Kafka users " + KafkaCredentials.APP + " and " + KafkaCredentials.CLIENT + " and their ACLs are set");
            } catch (KafkaAccess.Failed e) {
                say(e.getMessage());
                return 1;
            } catch (IOException e) {
                say("could not run `steer kafka setup` from " + options.appJar + ": " + reason(e));
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
        }
        if (options.infraOnly) {
            printBanner(false);
            return superviseUntilStopped();
        }
        synchronized (lifecycle) {
            if (stopping.get()) {
                return 1;
            }
            app = new SupervisedApp(appProcess(), managementUrl(), Duration.ofSeconds(options.readyTimeoutSeconds),
                    Duration.ofSeconds(options.livenessTimeoutSeconds), this::appStarted);
            try {
                app.start();
            } catch (IOException e) {
                say("could not start the application: " + e);
                return 1;
            }
        }
        if (!app.awaitFirstReady(stopping::get)) {
            return 1;
        }
        printBanner(true);
        return superviseUntilStopped();
    }

    private Path passwordFile() {
        return credentialsDir().resolve("postgres.password");
    }

    /** PostgreSQL's password, and the API keys the application writes there on its first start. */
    private Path credentialsDir() {
        return options.dataDir.resolve("credentials");
    }

    private Path roleFile(String role) {
        return passwordFile().toAbsolutePath().normalize().resolveSibling(role + ".password");
    }

    /** The application creates the pair on its first start; the public key is beside it (.pub). */
    private Path auditSigningKey() {
        return options.dataDir.resolve("credentials").resolve("audit-signing.key").toAbsolutePath().normalize();
    }

    /** The audit export's public key as one line (PEM body), or why it is not there yet. */
    private String auditPublicKey() {
        Path file = auditSigningKey().resolveSibling("audit-signing.key.pub");
        try {
            return Files.readAllLines(file, StandardCharsets.US_ASCII).stream()
                    .filter(line -> !line.startsWith("-----")).reduce("", String::concat);
        } catch (IOException e) {
            return "(not created yet: the application writes " + file + " on its first start)";
        }
    }

    private void startWatchdog(Path postgresDir) throws IOException {
        watchdog = Watchdog.start(postgresDir);
        runDir.recordWatchdog(watchdog.handle());
    }

    private void appStarted(ProcessHandle process) {
        runDir.recordApp(process);
        watchdog.watchApp(process.pid());
    }

    /** The supervision loop, until the shutdown hook runs. */
    private int superviseUntilStopped() {
        while (true) {
            synchronized (lifecycle) {
                if (stopping.get()) {
                    return 0;
                }
                if (!watchdog.isAlive()) {
                    say("the watchdog (pid " + watchdog.handle().pid() + ") exited; starting another");
                    try {
                        startWatchdog(options.dataDir.resolve("postgres"));
                        if (app != null && app.process() != null) {
                            watchdog.watchApp(app.process().pid());
                        }
                    } catch (IOException e) {
                        say("could not start a watchdog (" + e.getMessage() + "); trying again");
                    }
                }
                postgres.check();
                if (app != null) {
                    app.check();
                }
            }
            sleep(SUPERVISE_EVERY_MS);
        }
    }

    /** The pause before restart attempt n (1, 2, 4, ... s, at most 30 s). */
    static Duration restartPause(int failures) {
        long seconds = 1L << Math.min(failures - 1, 5);
        return Duration.ofSeconds(Math.min(seconds, MAX_RESTART_PAUSE.toSeconds()));
    }

    /** A failure for one log line: its message, or its type when it has none. */
    static String reason(Throwable e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getName();
    }

    private ProcessBuilder appProcess() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // the decoder's attention kernels on the Vector API (incubating in Java 17; without it, scalar loops)
        command.add("--add-modules");
        command.add("jdk.incubator.vector");
        command.add("-Dai.djl.offline=true");
        // one torch thread: small shared machines oversubscribe otherwise (docs/architecture.md 5)
        command.add("-Dai.djl.pytorch.num_threads=1");
        command.add("-Dai.djl.pytorch.num_interop_threads=1");
        command.addAll(options.appJvmArgs);
        command.add("-jar");
        command.add(options.appJar.toAbsolutePath().toString());
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        Map<String, String> env = builder.environment();
        env.put("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers());
        // the password in the environment, never on the command line (which is printed and visible to ps)
        env.putAll(kafkaCredentials.appEnvironment());
        env.put("QUARKUS_DATASOURCE_JDBC_URL", postgres.jdbcUrl());
        // two roles: the application's may only insert audit records; Flyway migrates as the schema's owner
        env.put("QUARKUS_DATASOURCE_USERNAME", Postgres.APP_ROLE);
        env.put("QUARKUS_DATASOURCE_PASSWORD", postgres.appPassword());
        env.put("QUARKUS_FLYWAY_USERNAME", Postgres.OWNER_ROLE);
        env.put("QUARKUS_FLYWAY_PASSWORD", postgres.ownerPassword());
        env.put("STEERGATE_AUDIT_SIGNING_KEY", auditSigningKey().toString());
        env.put("QUARKUS_HTTP_PORT", String.valueOf(options.httpPort));
        env.put("QUARKUS_MANAGEMENT_PORT", String.valueOf(options.managementPort));
        // the application issues an operator key and a client key per demo tenant there, once (io.steergate.security)
        env.put("STEERGATE_AUTH_BOOTSTRAP_DIR", credentialsDir().toAbsolutePath().normalize().toString());
        // the application shuts itself down when the launcher is gone (io.steergate.app.ParentWatch)
        env.put("STEERGATE_EXIT_WITH_PID", String.valueOf(ProcessHandle.current().pid()));
        env.put("DJL_OFFLINE", "true");
        if (options.modelDir != null) {
            env.put("STEERGATE_MODEL_DIR", options.modelDir.toAbsolutePath().normalize().toString());
        }
        say("starting " + String.join(" ", command)
                + (options.modelDir == null ? " (no model dir: the application decides)" : " with model " + options.modelDir));
        return builder;
    }

    private String httpUrl() {
        return "http://127.0.0.1:" + options.httpPort;
    }

    /** Health and metrics: the application's management interface, on loopback like its HTTP. */
    private String managementUrl() {
        return "http://127.0.0.1:" + options.managementPort;
    }

    private void printBanner(boolean withApp) {
        String bootstrap = broker.bootstrapServers();
        Path passwordFile = passwordFile().toAbsolutePath().normalize();
        StringBuilder text = new StringBuilder();
        text.append("\n================ ").append(BANNER_TITLE).append(" ================\n");
        text.append("  Kafka bootstrap servers : ").append(bootstrap).append('\n');
        text.append("  Kafka authentication    : ").append(KafkaCredentials.PROTOCOL).append(", ").append(KafkaCredentials.MECHANISM)
                .append(", user ").append(KafkaCredentials.CLIENT).append(", settings in ")
                .append(kafkaCredentials.clientSettingsFile()).append('\n');
        text.append("                            admin (super user) settings in ").append(kafkaCredentials.adminSettingsFile())
                .append('\n');
        if (!kafkaAccessSet) {
            text.append("  Kafka users and ACLs    : NOT SET (--infra-only without the application jar ").append(options.appJar)
                    .append("): only admin can log in. Once the application is built, run\n")
                    .append("      deploy/steer ").append(String.join(" ", KafkaAccess.arguments(
                            kafkaCredentials.adminSettingsFile().toString(),
                            kafkaCredentials.passwordFile(KafkaCredentials.APP).toString(),
                            kafkaCredentials.passwordFile(KafkaCredentials.CLIENT).toString()))).append('\n')
                    .append("      (or start the launcher again with the jar)\n");
        }
        text.append("  PostgreSQL JDBC URL     : ").append(postgres.jdbcUrl()).append('\n');
        // the password itself stays out of the console (and so out of captured logs): it is in a 0600 file
        text.append("  PostgreSQL roles        : ").append(Postgres.APP_ROLE).append(" (application: may only insert audit"
                + " records), password in ").append(roleFile(Postgres.APP_ROLE)).append('\n');
        text.append("                            ").append(Postgres.OWNER_ROLE).append(" (schema owner, migrations), password in ")
                .append(roleFile(Postgres.OWNER_ROLE)).append('\n');
        text.append("                            ").append(Postgres.USER).append(" (superuser), password in ")
                .append(passwordFile).append('\n');
        if (withApp) {
            Path keys = credentialsDir().toAbsolutePath().normalize();
            text.append("  HTTP                    : ").append(httpUrl()).append("  (loopback only)\n");
            text.append("  Health and metrics      : ").append(managementUrl()).append("/q/health/ready, ")
                    .append(managementUrl()).append("/q/metrics\n");
            text.append("  API keys                : ").append(keys.resolve("operator.key")).append(" (operator),\n")
                    .append("                            ").append(keys.resolve("client-<tenant>.key"))
                    .append(" (client of acme, kids-co, story-app); readable by you only\n");
        } else {
            text.append("  Application             : not started (--infra-only); run it with\n")
                    .append("      KAFKA_BOOTSTRAP_SERVERS=").append(bootstrap)
                    .append(" QUARKUS_DATASOURCE_JDBC_URL=").append(postgres.jdbcUrl())
                    .append(" QUARKUS_DATASOURCE_USERNAME=").append(Postgres.APP_ROLE)
                    .append(" QUARKUS_DATASOURCE_PASSWORD=$(cat ").append(roleFile(Postgres.APP_ROLE)).append(")")
                    .append(" QUARKUS_FLYWAY_USERNAME=").append(Postgres.OWNER_ROLE)
                    .append(" QUARKUS_FLYWAY_PASSWORD=$(cat ").append(roleFile(Postgres.OWNER_ROLE)).append(")")
                    .append(" STEERGATE_AUDIT_SIGNING_KEY=").append(auditSigningKey())
                    .append(" KAFKA_SECURITY_PROTOCOL=").append(KafkaCredentials.PROTOCOL)
                    .append(" KAFKA_SASL_MECHANISM=").append(KafkaCredentials.MECHANISM)
                    .append(" KAFKA_SASL_JAAS_CONFIG=\"org.apache.kafka.common.security.scram.ScramLoginModule required")
                    .append(" username=\\\"").append(KafkaCredentials.APP).append("\\\" password=\\\"$(cat ")
                    .append(kafkaCredentials.passwordFile(KafkaCredentials.APP)).append(")\\\";\"")
                    .append(" java -jar target/quarkus-app/quarkus-run.jar\n");
        }
        if (withApp) {
            text.append("  Audit export public key : ").append(auditPublicKey()).append('\n')
                    .append("                            (Ed25519; PEM in ").append(auditSigningKey()).append(".pub, also GET ")
                    .append(httpUrl()).append("/v1/audit/public-key)\n");
        }
        text.append("  Data                    : ").append(options.dataDir.toAbsolutePath().normalize()).append('\n');
        text.append("  PostgreSQL durability   : ").append(options.durable
                ? "fsync and synchronous commit on"
                : "fsync and synchronous commit OFF (--unsafe-no-fsync): a crash can lose accepted requests").append('\n');
        text.append("\n  Generate through Kafka:\n");
        text.append("    deploy/client --data-dir ").append(options.dataDir.toAbsolutePath().normalize())
                .append(" --tenant demo \"Once upon a time\"\n");
        Path acmeKey = credentialsDir().resolve("client-acme.key").toAbsolutePath().normalize();
        text.append("  Generate over HTTP (as acme's client; the tenant comes from the key):\n");
        text.append("    curl -s -X POST ").append(httpUrl()).append("/v1/generations -H 'Content-Type: application/json' \\\n");
        text.append("      -H \"Authorization: Bearer $(cat ").append(acmeKey).append(")\" \\\n");
        text.append("      -d '{\"id\":\"hello-1\",\"prompt\":\"Once upon a time\",\"maxTokens\":64}'\n");
        text.append("    curl -s ").append(httpUrl()).append("/v1/generations/hello-1 -H \"Authorization: Bearer $(cat ")
                .append(acmeKey).append(")\"\n");
        text.append("\n  PostgreSQL").append(withApp ? " and the application are" : " is")
                .append(" restarted when ").append(withApp ? "they exit" : "it exits")
                .append("; nothing outlives the launcher.\n");
        text.append("  Ctrl-C stops the application, Kafka and PostgreSQL; the data stays.\n");
        text.append("================================================================\n");
        System.out.println(text);
    }

    /** Stops the application first (it holds connections to both), then the broker, then PostgreSQL. */
    private void shutdown() {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        synchronized (lifecycle) {
            if (app != null) {
                say("stopping the application");
                app.stop();
            }
            if (broker != null) {
                say("stopping Kafka");
                broker.close();
            }
            if (postgres != null) {
                say("stopping PostgreSQL");
                postgres.close();
            }
            if (watchdog != null) {
                watchdog.close();
            }
            runDir.close();
        }
        say("stopped");
    }

    /** slf4j-simple reads these once, at the first logger; set them before any library logs. */
    private static void routeLibraryLogsTo(Path file) {
        System.setProperty("org.slf4j.simpleLogger.logFile", file.toAbsolutePath().toString());
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd HH:mm:ss.SSS");
        // a few Kafka classes call log4j-api directly; without log4j-core it would complain on the console
        System.setProperty("log4j2.loggerContextFactory", "org.apache.logging.log4j.simple.SimpleLoggerContextFactory");
        System.setProperty("log4j2.simplelogLevel", "WARN");
    }

    static void say(String message) {
        System.out.println("[steergate-launcher] " + message);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Command-line flags. */
    static final class Options {

        static final String USAGE = """
                usage: java -jar deploy/launcher/target/steergate-launcher.jar [flags] [APP_JAR]

                Starts Kafka (KRaft) and PostgreSQL with their data under --data-dir, creates the topics,
                then the SteerGate application, and waits for it to be ready. Restarts PostgreSQL and the
                application when they exit; nothing outlives the launcher. Ctrl-C stops everything.

                  --app-jar PATH          the packaged application (default target/quarkus-app/quarkus-run.jar)
                  --data-dir DIR          all data and logs (default ./data)
                  --model-dir DIR         model directory for STEERGATE_MODEL_DIR (default: $STEERGATE_MODEL_DIR,
                                          else ../shared/models/stories260K when it exists)
                  --kafka-port N          Kafka SASL_PLAINTEXT (SCRAM-SHA-512) listener on 127.0.0.1 (default 9092)
                  --controller-port N     KRaft CONTROLLER listener on 127.0.0.1 (default 9093)
                  --postgres-port N       PostgreSQL on localhost (default 5432)
                  --http-port N           the application's HTTP port on 127.0.0.1 (default 8080)
                  --management-port N     its health and metrics port on 127.0.0.1 (default 9000)
                  --ready-timeout N       seconds to wait for /q/health/ready after each start (default 180)
                  --liveness-timeout N    restart the application when /q/health/live has not been UP for
                                          this many seconds (default 60)
                  --unsafe-no-fsync       PostgreSQL without fsync and synchronous commit: faster, but a crash
                                          can lose requests that were already accepted (never the default)
                  --app-jvm-arg ARG       an extra JVM option for the application (repeatable), e.g. -Xmx2g
                  --infra-only            start only Kafka and PostgreSQL
                  -h, --help              this text
                """;

        Path appJar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        Path dataDir = Path.of("data");
        Path modelDir;
        int kafkaPort = 9092;
        int controllerPort = 9093;
        int postgresPort = 5432;
        int httpPort = 8080;
        int managementPort = 9000;
        int readyTimeoutSeconds = 180;
        int livenessTimeoutSeconds = 60;
        boolean durable = true;
        List<String> appJvmArgs = new ArrayList<>();
        boolean infraOnly;
        boolean help;

        static Options parse(String[] args) {
            Options options = new Options();
            String envModel = System.getenv("STEERGATE_MODEL_DIR");
            if (envModel != null && !envModel.isBlank()) {
                options.modelDir = Path.of(envModel);
            } else if (Files.isDirectory(Path.of("..", "shared", "models", "stories260K"))) {
                options.modelDir = Path.of("..", "shared", "models", "stories260K");
            }
            boolean jarGiven = false;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "-h", "--help" -> options.help = true;
                    case "--infra-only" -> options.infraOnly = true;
                    case "--app-jar" -> { options.appJar = Path.of(value(args, ++i, arg)); jarGiven = true; }
                    case "--data-dir" -> options.dataDir = Path.of(value(args, ++i, arg));
                    case "--model-dir" -> options.modelDir = Path.of(value(args, ++i, arg));
                    case "--kafka-port" -> options.kafkaPort = port(value(args, ++i, arg), arg);
                    case "--controller-port" -> options.controllerPort = port(value(args, ++i, arg), arg);
                    case "--postgres-port" -> options.postgresPort = port(value(args, ++i, arg), arg);
                    case "--http-port" -> options.httpPort = port(value(args, ++i, arg), arg);
                    case "--management-port" -> options.managementPort = port(value(args, ++i, arg), arg);
                    case "--ready-timeout" -> options.readyTimeoutSeconds = positive(value(args, ++i, arg), arg);
                    case "--liveness-timeout" -> options.livenessTimeoutSeconds = positive(value(args, ++i, arg), arg);
                    case "--unsafe-no-fsync" -> options.durable = false;
                    case "--app-jvm-arg" -> options.appJvmArgs.add(value(args, ++i, arg));
                    default -> {
                        if (arg.startsWith("-") || jarGiven) {
                            throw new IllegalArgumentException("unknown argument: " + arg);
                        }
                        options.appJar = Path.of(arg);
                        jarGiven = true;
                    }
                }
            }
            if (options.modelDir != null && !Files.isDirectory(options.modelDir)) {
                throw new IllegalArgumentException("model directory not found: " + options.modelDir);
            }
            List<Ports.Need> needs = options.neededPorts();
            for (int i = 0; i < needs.size(); i++) {
                for (int j = i + 1; j < needs.size(); j++) {
                    if (needs.get(i).port() == needs.get(j).port()) {
                        throw new IllegalArgumentException(needs.get(i).flag() + " and " + needs.get(j).flag()
                                + " are both " + needs.get(i).port());
                    }
                }
            }
            return options;
        }

        /** The ports the stack will listen on. */
        List<Ports.Need> neededPorts() {
            List<Ports.Need> needs = new ArrayList<>(List.of(
                    new Ports.Need(kafkaPort, "--kafka-port", "Kafka"),
                    new Ports.Need(controllerPort, "--controller-port", "the Kafka controller"),
                    new Ports.Need(postgresPort, "--postgres-port", "PostgreSQL")));
            if (!infraOnly) {
                needs.add(new Ports.Need(httpPort, "--http-port", "the application's HTTP"));
                needs.add(new Ports.Need(managementPort, "--management-port", "the application's health and metrics"));
            }
            return needs;
        }

        private static String value(String[] args, int i, String flag) {
            if (i >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            return args[i];
        }

        private static int port(String text, String flag) {
            int port = positive(text, flag);
            if (port > 65535) {
                throw new IllegalArgumentException(flag + ": not a port: " + text);
            }
            return port;
        }

        private static int positive(String text, String flag) {
            try {
                int n = Integer.parseInt(text);
                if (n <= 0) {
                    throw new IllegalArgumentException(flag + ": must be positive: " + text);
                }
                return n;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(flag + ": not a number: " + text);
            }
        }
    }

    /**
     * A combined broker + controller KRaft node on fixed 127.0.0.1 ports; formatted once, then reused. Clients and the
     * inter-broker traffic use SASL_PLAINTEXT with SCRAM-SHA-512 (the admin's credential is written when the storage is
     * formatted, the others by the application's {@code steer kafka setup}); the StandardAuthorizer refuses whatever
     * no ACL allows, except to the admin.
     */
    static final class KafkaBroker implements AutoCloseable {

        private static final String SCRAM_LOGIN = "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config";
        private static final String CONTROLLER_LOGIN = "listener.name.controller.plain.sasl.jaas.config";

        private final kafka.server.KafkaRaftServer server;
        private final String bootstrapServers;
        private final KafkaCredentials credentials;

        private KafkaBroker(kafka.server.KafkaRaftServer server, String bootstrapServers, KafkaCredentials credentials) {
            this.server = server;
            this.bootstrapServers = bootstrapServers;
            this.credentials = credentials;
        }

        /** Where the broker keeps its log (and meta.properties, written when it formats) under {@code dir}. */
        static Path logDir(Path dir) {
            return dir.resolve("logs").toAbsolutePath();
        }

        static KafkaBroker start(Path dir, int port, int controllerPort, int partitions, Path formatLog,
                KafkaCredentials credentials) throws Exception {
            Path logDir = logDir(dir);
            Files.createDirectories(logDir);
            Properties props = new Properties();
            props.put("process.roles", "broker,controller");
            props.put("node.id", "1");
            props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
            props.put("listeners", "SASL_PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
            props.put("advertised.listeners", "SASL_PLAINTEXT://127.0.0.1:" + port);
            props.put("listener.security.protocol.map", "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT");
            props.put("controller.listener.names", "CONTROLLER");
            props.put("inter.broker.listener.name", "SASL_PLAINTEXT");
            props.put("sasl.enabled.mechanisms", KafkaCredentials.MECHANISM);
            props.put("sasl.mechanism.inter.broker.protocol", KafkaCredentials.MECHANISM);
            props.put(SCRAM_LOGIN, credentials.jaasConfig(KafkaCredentials.ADMIN));
            // The controller listener cannot use SCRAM (its credentials live in the metadata the controller serves), and
            // as PLAINTEXT its callers, the broker half of this node among them, would be User:ANONYMOUS, which the
            // authorizer refuses CLUSTER_ACTION, or, made a super user, would let anyone on the machine in through it.
            // So PLAIN with the admin as its only user, from the JAAS line itself.
            props.put("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
            props.put("sasl.mechanism.controller.protocol", "PLAIN");
            props.put(CONTROLLER_LOGIN, credentials.controllerJaasConfig());
            props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            props.put("allow.everyone.if.no.acl.found", "false");
            props.put("super.users", "User:" + KafkaCredentials.ADMIN);
            props.put("log.dirs", logDir.toString());
            props.put("num.partitions", String.valueOf(partitions));
            props.put("auto.create.topics.enable", "true");
            // set, not left to Kafka's default (1 MiB + 12): the limit follows what the application promises
            props.put("message.max.bytes", String.valueOf(MESSAGE_BYTES + RECORD_OVERHEAD_BYTES));
            // one node: every internal topic has one replica
            props.put("offsets.topic.replication.factor", "1");
            props.put("transaction.state.log.replication.factor", "1");
            props.put("transaction.state.log.min.isr", "1");
            props.put("share.coordinator.state.topic.replication.factor", "1");
            props.put("share.coordinator.state.topic.min.isr", "1");
            props.put("group.initial.rebalance.delay.ms", "0");
            Path config = dir.resolve("server.properties").toAbsolutePath();
            // the file gets no password: the logins say where it is
            Properties withoutSecret = new Properties();
            withoutSecret.putAll(props);
            for (String login : List.of(SCRAM_LOGIN, CONTROLLER_LOGIN)) {
                withoutSecret.put(login, "(the admin's login; password in " + credentials.passwordFile(KafkaCredentials.ADMIN) + ")");
            }
            try (OutputStream out = Files.newOutputStream(config)) {
                withoutSecret.store(out, "written by the SteerGate launcher on every start, for reading: the broker runs"
                        + " in the launcher with these settings and the real JAAS line");
            }
            if (!Files.exists(logDir.resolve("meta.properties"))) {
                String clusterId = org.apache.kafka.common.Uuid.randomUuid().toString();
                try (PrintStream out = new PrintStream(Files.newOutputStream(formatLog), true, StandardCharsets.UTF_8)) {
                    // in this JVM, so the admin's password is on no command line
                    int code = kafka.tools.StorageTool.execute(new String[] {"format", "-t", clusterId, "-c", config.toString(),
                            "--add-scram", credentials.adminScramCredential()}, out);
                    if (code != 0) {
                        throw new IllegalStateException("formatting " + logDir + " failed with code " + code + "; see " + formatLog);
                    }
                }
                say("formatted a new Kafka log directory " + logDir + " (cluster " + clusterId + ", SCRAM-SHA-512 user "
                        + KafkaCredentials.ADMIN + ")");
            }
            var server = new kafka.server.KafkaRaftServer(kafka.server.KafkaConfig.fromProps(props),
                    org.apache.kafka.common.utils.Time.SYSTEM);
            server.startup();
            KafkaBroker broker = new KafkaBroker(server, "127.0.0.1:" + port, credentials);
            broker.awaitReady(Duration.ofSeconds(60));
            return broker;
        }

        String bootstrapServers() {
            return bootstrapServers;
        }

        private org.apache.kafka.clients.admin.Admin admin() {
            Map<String, Object> settings = new java.util.HashMap<>(credentials.clientSettings(KafkaCredentials.ADMIN));
            settings.put("bootstrap.servers", bootstrapServers);
            settings.put("request.timeout.ms", "5000");
            settings.put("default.api.timeout.ms", "10000");
            return org.apache.kafka.clients.admin.Admin.create(settings);
        }

        private void awaitReady(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            try (var admin = admin()) {
                while (true) {
                    try {
                        if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                            return;
                        }
                    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                        if (System.nanoTime() > deadline) {
                            throw new IllegalStateException("Kafka was not ready within " + timeout, e);
                        }
                    }
                    Thread.sleep(200);
                }
            }
        }

        void createTopics(List<String> names, int partitions) throws InterruptedException {
            try (var admin = admin()) {
                var newTopics = names.stream()
                        .map(name -> new org.apache.kafka.clients.admin.NewTopic(name, partitions, (short) 1))
                        .toList();
                for (var result : admin.createTopics(newTopics).values().entrySet()) {
                    try {
                        result.getValue().get(30, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                            throw new IllegalStateException("could not create topic " + result.getKey(), e.getCause());
                        }
                    } catch (java.util.concurrent.TimeoutException e) {
                        throw new IllegalStateException("creating topic " + result.getKey() + " timed out", e);
                    }
                }
            }
        }

        @Override
        public void close() {
            server.shutdown();
            server.awaitShutdown();
        }
    }
}
