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

        @Option(names = "--previous", paramLabel = "FILE", description = "an earlier export of the same chain, kept when"
                + " it was checked: this bundle must begin with its records (a chain rewritten since shows only so)")
        Path previous;

        @Option(names = "--previous-public-key", paramLabel = "FILE",
                description = "the key the previous bundle was signed with, when the key was rotated since (default: --public-key)")
        Path previousPublicKey;

        @Override
        public Integer call() throws IOException {
            SteerCli.existingFile(spec, "--bundle", bundle);
            PublicKey key = key("--public-key", publicKey);
            AuditBundle.Check check = verify(bundle, key);
            PrintWriter out = spec.commandLine().getOut();
            if (previous == null) {
                check.report().forEach(out::println);
                out.flush();
                return check.ok() ? 0 : 1;
            }
            SteerCli.existingFile(spec, "--previous", previous);
            AuditBundle.Check earlier = verify(previous, previousPublicKey == null ? key
                    : key("--previous-public-key", previousPublicKey));
            String problem;
            if (!earlier.ok()) {
                problem = "it does not verify itself: " + String.join("; ", earlier.findings());
            } else if (!check.ok()) {
                problem = "not compared: this bundle does not verify";
            } else {
                try (InputStream in = Files.newInputStream(bundle)) {
                    problem = AuditBundle.continues(earlier.header(), check.header(), in);
                }
            }
            check.findings().forEach(out::println);
            out.println(problem == null ? "previous: ok (its " + earlier.header().records() + " records are the first here)"
                    : "previous: FAILED: " + problem);
            boolean ok = check.ok() && problem == null;
            out.println(ok ? "VERIFIED" : "NOT VERIFIED");
            out.flush();
            return ok ? 0 : 1;
        }

        private PublicKey key(String option, Path file) throws IOException {
            SteerCli.existingFile(spec, option, file);
            try {
                return AuditBundle.readPublicKey(Files.readString(file, StandardCharsets.US_ASCII));
            } catch (IllegalArgumentException e) {
                throw SteerCli.badArgument(spec, option + " " + file + ": " + e.getMessage());
            }
        }

        private static AuditBundle.Check verify(Path file, PublicKey key) throws IOException {
            try (InputStream in = Files.newInputStream(file)) {
                return AuditBundle.verify(in, key);
            }
        }
    }
}
