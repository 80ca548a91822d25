package io.steergate.cli;

import io.steergate.kafka.JobTopics;
import io.steergate.kafka.KafkaAcls;
import io.steergate.kafka.KafkaProvisioning;
import io.steergate.kafka.TenantTopics;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.acl.AclBinding;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code steer kafka}: provisions a broker with an admin principal (SCRAM users, ACLs of {@link KafkaAcls}, topics)
 * so that the application, the shared-mode platform and each tenant can do exactly their part. Every command may be
 * run again. Passwords come from files and are never printed.
 */
@Command(name = "kafka", mixinStandardHelpOptions = true,
        description = "Provision Kafka: SCRAM users and ACLs of the application, the shared client and the tenants.",
        subcommands = {KafkaCommand.Setup.class, KafkaCommand.AddTenant.class})
final class KafkaCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw SteerCli.badArgument(spec, "missing subcommand: setup or add-tenant");
    }

    /** Bytes of a generated tenant password (256 bits), written base64url. */
    private static final int PASSWORD_BYTES = 32;

    @Command(name = "setup", mixinStandardHelpOptions = true,
            description = "Create or update the application's SCRAM user and its ACLs, and optionally the shared-mode client's.")
    static final class Setup implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--admin-config", required = true, paramLabel = "FILE",
                description = "Kafka client .properties of an admin principal (bootstrap.servers, security.protocol, sasl.*)")
        Path adminConfig;

        @Option(names = "--app-user", required = true, paramLabel = "NAME", description = "the application's Kafka user")
        String appUser;

        @Option(names = "--app-password-file", required = true, paramLabel = "FILE", description = "a file holding its password")
        Path appPasswordFile;

        @Option(names = "--client-user", paramLabel = "NAME", description = "the shared mode's platform user (optional)")
        String clientUser;

        @Option(names = "--client-password-file", paramLabel = "FILE", description = "a file holding its password")
        Path clientPasswordFile;

        @Override
        public Integer call() throws IOException {
            if ((clientUser == null) != (clientPasswordFile == null)) {
                throw SteerCli.badArgument(spec, "--client-user and --client-password-file go together");
            }
            if (appUser.equals(clientUser)) {
                throw SteerCli.badArgument(spec, "--client-user must differ from --app-user: the client may not write internal topics");
            }
            List<AclBinding> appAcls = acls(spec, "--app-user", () -> KafkaAcls.application(appUser));
            String appPassword = readPassword(spec, "--app-password-file", appPasswordFile);
            List<AclBinding> clientAcls = clientUser == null ? null : acls(spec, "--client-user", () -> KafkaAcls.sharedClient(clientUser));
            String clientPassword = clientUser == null ? null : readPassword(spec, "--client-password-file", clientPasswordFile);
            Properties settings = adminSettings(spec, adminConfig);
            try (KafkaProvisioning kafka = KafkaProvisioning.connect(settings)) {
                kafka.upsertScramUser(appUser, appPassword);
                kafka.grant(appAcls);
                spec.commandLine().getOut().println("application: " + KafkaAcls.principal(appUser) + " (" + KafkaProvisioning.MECHANISM.mechanismName()
                        + ") reads, writes and describes topics steer.*, creates job topics " + JobTopics.DEFAULT_PREFIX + "*, consumer groups steergate-*");
                if (clientUser != null) {
                    kafka.upsertScramUser(clientUser, clientPassword);
                    kafka.grant(clientAcls);
                    spec.commandLine().getOut().println("shared client: " + KafkaAcls.principal(clientUser) + " (" + KafkaProvisioning.MECHANISM.mechanismName()
                            + ") writes steer.requests, reads steer.results and steer.requests.dlq, consumer groups " + clientUser + ".*");
                }
            }
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "add-tenant", mixinStandardHelpOptions = true,
            description = "Create a tenant's topics (per-tenant mode), its SCRAM user tenant-TENANT and its ACLs.")
    static final class AddTenant implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "TENANT", description = "the tenant (1-64 characters of [a-z0-9-])")
        String tenant;

        @Option(names = "--admin-config", required = true, paramLabel = "FILE",
                description = "Kafka client .properties of an admin principal (bootstrap.servers, security.protocol, sasl.*)")
        Path adminConfig;

        @Option(names = "--password-file", required = true, paramLabel = "FILE",
                description = "the tenant's password; created (mode 0600, random) when absent")
        Path passwordFile;

        @Option(names = "--partitions", defaultValue = "4", paramLabel = "N", description = "partitions of new topics (default ${DEFAULT-VALUE})")
        int partitions;

        @Option(names = "--replication-factor", defaultValue = "1", paramLabel = "N",
                description = "replicas of new topics (default ${DEFAULT-VALUE})")
        short replicationFactor;

        @Override
        public Integer call() throws IOException {
            List<AclBinding> tenantAcls = acls(spec, "TENANT", () -> KafkaAcls.tenant(tenant));
            List<String> topics = TenantTopics.of(tenant);
            if (partitions < 1 || replicationFactor < 1) {
                throw SteerCli.badArgument(spec, "--partitions and --replication-factor must be at least 1");
            }
            Properties settings = adminSettings(spec, adminConfig);
            boolean created = ensurePasswordFile(passwordFile);
            String password = readPassword(spec, "--password-file", passwordFile);
            String user = KafkaAcls.tenantUser(tenant);
            try (KafkaProvisioning kafka = KafkaProvisioning.connect(settings)) {
                kafka.createTopics(topics, partitions, replicationFactor);
                kafka.upsertScramUser(user, password);
                kafka.grant(tenantAcls);
            }
            var out = spec.commandLine().getOut();
            out.println("tenant " + tenant + ": principal " + KafkaAcls.principal(user) + " (" + KafkaProvisioning.MECHANISM.mechanismName()
                    + "), password in " + passwordFile + (created ? " (new)" : ""));
            out.println("writes " + TenantTopics.requests(tenant) + ", reads " + TenantTopics.results(tenant) + " and "
                    + TenantTopics.requestsDlq(tenant) + ", consumer groups " + tenant + ".*");
            out.flush();
            return 0;
        }

        /** Writes a random password to the file unless it exists; true when it wrote one. */
        private static boolean ensurePasswordFile(Path file) throws IOException {
            if (Files.exists(file)) {
                return false;
            }
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            byte[] secret = new byte[PASSWORD_BYTES];
            new SecureRandom().nextBytes(secret);
            // created with its final mode, so the password is never readable by others, not even for a moment
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, Base64.getUrlEncoder().withoutPadding().encodeToString(secret) + "\n", StandardCharsets.US_ASCII);
            return true;
        }
    }

    private static List<AclBinding> acls(CommandSpec spec, String option, Supplier<List<AclBinding>> acls) {
        try {
            return acls.get();
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, option + ": " + e.getMessage());
        }
    }

    /** The file's content without surrounding white space; a missing or empty file is a bad argument. */
    private static String readPassword(CommandSpec spec, String option, Path file) throws IOException {
        SteerCli.existingFile(spec, option, file);
        String password = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (password.isEmpty()) {
            throw SteerCli.badArgument(spec, option + " " + file + ": the file is empty");
        }
        return password;
    }

    /** The admin's client settings; a missing file or one without bootstrap.servers is a bad argument. */
    private static Properties adminSettings(CommandSpec spec, Path file) throws IOException {
        SteerCli.existingFile(spec, "--admin-config", file);
        Properties settings = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            settings.load(in);
        }
        if (settings.getProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "").isBlank()) {
            throw SteerCli.badArgument(spec, "--admin-config " + file + ": no bootstrap.servers");
        }
        return settings;
    }
}
