package io.steergate.testing;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node KRaft broker (combined broker and controller) as a JVM of its own, so a test can SIGKILL it or stop
 * it and start it again: fixed 127.0.0.1 ports and a log directory formatted on the first start only, so the
 * restarted broker serves the same topics, records and committed offsets. Started by {@link KafkaBrokerProcess}.
 *
 * <p>Arguments: {@code LOG_DIR PORT CONTROLLER_PORT PARTITIONS}. SIGTERM shuts the broker down cleanly.
 */
public final class KafkaBrokerMain {

    private KafkaBrokerMain() {
    }

    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: KafkaBrokerMain LOG_DIR PORT CONTROLLER_PORT PARTITIONS");
            System.exit(2);
        }
        logToStandardOutput();
        try {
            Path logDir = Path.of(args[0]).toAbsolutePath();
            int port = Integer.parseInt(args[1]);
            int controllerPort = Integer.parseInt(args[2]);
            int partitions = Integer.parseInt(args[3]);
            Properties config = config(logDir, port, controllerPort, partitions);
            formatOnce(logDir, config);
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(config), Time.SYSTEM);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.shutdown();
                server.awaitShutdown();
            }, "broker-shutdown"));
            // children do not die with their parent: a killed or timed-out build must not leave a broker behind
            ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> System.exit(0)));
            server.startup();
            System.out.println("broker started on 127.0.0.1:" + port + " with log directory " + logDir);
            server.awaitShutdown();
        } catch (Throwable e) {
            e.printStackTrace();
            // Kafka's non-daemon threads would keep a half-started broker alive
            Runtime.getRuntime().halt(1);
        }
    }

    /**
     * The test class path makes JBoss LogManager the logging backend, and Quarkus's configurator, also on it, only
     * buffers until a Quarkus application starts: without a handler of its own the broker would log nothing.
     */
    private static void logToStandardOutput() {
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tT.%1$tL %4$-7s [%3$s] %5$s%6$s%n");
        ConsoleHandler handler = new ConsoleHandler() {
            {
                setOutputStream(System.out);
            }
        };
        handler.setFormatter(new SimpleFormatter());
        handler.setLevel(Level.INFO);
        Logger.getLogger("").addHandler(handler);
    }

    private static Properties config(Path logDir, int port, int controllerPort, int partitions) {
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("log.dirs", logDir.toString());
        props.put("num.partitions", String.valueOf(partitions));
        props.put("auto.create.topics.enable", "true");
        props.put("message.max.bytes", String.valueOf(EmbeddedKafka.MESSAGE_MAX_BYTES));
        // one node: every internal topic has one replica
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "4");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        // the default 3 s delay would be paid by every consumer group after each restart
        props.put("group.initial.rebalance.delay.ms", "0");
        return props;
    }

    private static void formatOnce(Path logDir, Properties config) throws Exception {
        if (Files.exists(logDir.resolve("meta.properties"))) {
            return;
        }
        Files.createDirectories(logDir);
        Path configFile = logDir.getParent().resolve("server.properties");
        try (OutputStream out = Files.newOutputStream(configFile)) {
            config.store(out, "written by KafkaBrokerMain before formatting the log directory");
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        int code = StorageTool.execute(
                new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", configFile.toString()}, out);
        if (code != 0) {
            throw new IllegalStateException("formatting " + logDir + " failed with code " + code);
        }
    }
}
