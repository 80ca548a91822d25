package io.steergate.security;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.StartupEvent;
import io.steergate.resilience.Retry;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The embedded default's first credentials: with steergate.auth.bootstrap-dir set, the first start issues an operator
 * key (every tenant, no expiry) and a client key per steergate.auth.bootstrap-tenants, and writes each to its own file
 * there ({@code operator.key}, {@code client-<tenant>.key}), readable by the owner only. Once operator.key exists
 * nothing is issued again; delete the directory to get new keys (the old ones stay valid until revoked).
 */
@ApplicationScoped
public class CredentialBootstrap {

    private static final Logger LOG = Logger.getLogger(CredentialBootstrap.class);
    public static final String OPERATOR_FILE = "operator.key";

    @Inject
    AuthConfig config;

    @Inject
    ApiKeys keys;

    @Inject
    ProcessRoles roles;

    void start(@Observes StartupEvent event) throws IOException {
        if (config.bootstrapDir().isEmpty() || !roles.gateway()) {
            return;
        }
        Path dir = config.bootstrapDir().get();
        if (Files.exists(dir.resolve(OPERATOR_FILE))) {
            LOG.debugf("credentials already bootstrapped in %s", dir);
            return;
        }
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Map<String, String> files = new LinkedHashMap<>();
        // one transaction: a failed attempt leaves no key behind to be issued twice
        Retry.untilDone("issuing the bootstrap credentials", () -> QuarkusTransaction.requiringNew().run(() -> {
            files.clear();
            for (String tenant : config.bootstrapTenants()) {
                files.put("client-" + tenant + ".key", keys.issue(List.of(tenant), List.of(Roles.CLIENT),
                        "bootstrap client of " + tenant, null, "bootstrap").key());
            }
            // written last: its presence says the set is complete
            files.put(OPERATOR_FILE, keys.issue(List.of(Roles.ALL_TENANTS), List.of(Roles.OPERATOR),
                    "bootstrap operator", null, "bootstrap").key());
        }));
        files.forEach((name, key) -> write(dir.resolve(name), key));
        LOG.infof("bootstrap credentials written to %s (%s), readable by the owner only", dir, String.join(", ", files.keySet()));
    }

    private static void write(Path file, String key) {
        try {
            Path partial = file.resolveSibling(file.getFileName() + ".partial");
            Files.deleteIfExists(partial);
            Files.createFile(partial, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(partial, key + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
