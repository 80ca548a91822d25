package io.steergate.cli;

import io.steergate.audit.AuditBundle;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code steer audit}: work with audit evidence offline (no database, no running SteerGate). */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Audit evidence, offline.",
        subcommands = {AuditCommand.VerifyExport.class, CommandLine.HelpCommand.class})
final class AuditCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw SteerCli.badArgument(spec, "missing subcommand: verify-export");
    }

    /** Exit 0 when the signature and the chain hold, 1 when either does not (the report names the first bad line). */
    @Command(name = "verify-export", mixinStandardHelpOptions = true,
            description = "Check an export bundle (GET /v1/audit/export): its Ed25519 signature with the public key"
                    + " (GET /v1/audit/public-key), and the hash chain it carries. Exit 0: verified; 1: not verified.")
    static final class VerifyExport implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Option(names = "--bundle", required = true, paramLabel = "FILE", description = "the exported bundle")
        Path bundle;

        @Option(names = "--public-key", required = true, paramLabel = "FILE", description = "the PEM public key")
        Path publicKey;

        @Override
        public Integer call() throws IOException {
            SteerCli.existingFile(spec, "--bundle", bundle);
            SteerCli.existingFile(spec, "--public-key", publicKey);
            PublicKey key;
            try {
                key = AuditBundle.readPublicKey(Files.readString(publicKey, StandardCharsets.US_ASCII));
            } catch (IllegalArgumentException e) {
                throw SteerCli.badArgument(spec, "--public-key " + publicKey + ": " + e.getMessage());
            }
            AuditBundle.Check check;
            try (InputStream in = Files.newInputStream(bundle)) {
                check = AuditBundle.verify(in, key);
            }
            PrintWriter out = spec.commandLine().getOut();
            check.report().forEach(out::println);
            out.flush();
            return check.ok() ? 0 : 1;
        }
    }
}
