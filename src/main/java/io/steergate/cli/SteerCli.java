package io.steergate.cli;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * The command line of SteerGate's engine: generate with maps, fit a map, gate a map (experimental DSAS token gates),
 * evaluate a map (plain Java on picocli; it never starts the Quarkus app); and {@code keys}, an operator's client of a
 * running application's key API; {@code kafka}, which provisions a broker's users, ACLs and tenant topics. Errors are
 * one line on stderr: exit code 2 for bad arguments, 1 for failures. Run it through {@code deploy/steer}.
 */
@Command(name = "steer", mixinStandardHelpOptions = true, version = "steer 0.1.0",
        description = "Generate, fit and evaluate activation-steering maps on a local model; verify audit exports; manage API keys; provision Kafka users and ACLs.",
        subcommands = {GenerateCommand.class, FitCommand.class, GateCommand.class, EvaluateCommand.class, ScaleCommand.class, AuditCommand.class,
            KeysCommand.class, KafkaCommand.class, CommandLine.HelpCommand.class})
public final class SteerCli implements Runnable {

    @CommandLine.Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: generate, fit, gate, evaluate, scale, audit, keys or kafka");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line: one-line errors, exit 2 for bad arguments and 1 for failures. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new SteerCli());
        cli.setParameterExceptionHandler((e, args) -> {
            CommandLine c = e.getCommandLine();
            c.getErr().println(c.getCommandSpec().qualifiedName() + ": " + oneLine(e.getMessage())
                    + " (see --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, c, parsed) -> {
            c.getErr().println(c.getCommandSpec().qualifiedName() + ": " + oneLine(describe(e)));
            return 1;
        });
        return cli;
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        if (e instanceof IOException && m != null && !m.contains(" ")) {
            return "cannot read or write " + m + " (" + e.getClass().getSimpleName() + ")";
        }
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    static String oneLine(String message) {
        return message == null ? "" : message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** A bad-argument error (exit 2) of {@code spec}'s command. */
    static ParameterException badArgument(CommandSpec spec, String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /**
     * An option's value parsed by {@code parse}, whose error message starts with the field it names ("pooling: must
     * be ..."); the bad-argument error names the option instead ("--pooling: must be ...").
     */
    static <T> T parsed(CommandSpec spec, String option, String value, Function<String, T> parse) {
        try {
            return parse.apply(value);
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            throw badArgument(spec, option + ": " + message.substring(message.indexOf(": ") + 2));
        }
    }

    /** The file, or a bad-argument error naming the option when it is not a readable file. */
    static Path existingFile(CommandSpec spec, String option, Path file) {
        if (file != null && !Files.isRegularFile(file)) {
            throw badArgument(spec, option + " " + file + ": no such file");
        }
        return file;
    }

    /** Loads the model in {@code dir} on the CPU; a missing directory is a bad argument. */
    static LlamaModel loadModel(CommandSpec spec, Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw badArgument(spec, "--model " + dir + ": no such directory");
        }
        try {
            return LlamaModel.load(dir, DeviceChoice.CPU);
        } catch (IllegalArgumentException e) {
            throw badArgument(spec, "--model " + dir + ": " + e.getMessage());
        }
    }

    /** Reads a map file and checks it fits the model; a missing, malformed or foreign file is a bad argument. */
    static Intervention readMap(CommandSpec spec, String option, Path file, LlamaModel model) throws IOException {
        Intervention iv = readMap(spec, option, file);
        try {
            iv.checkCompatible(model.config(), model.fingerprint());
            return iv;
        } catch (IllegalArgumentException e) {
            throw badArgument(spec, option + " " + file + ": " + e.getMessage());
        }
    }

    /** Reads a map file; a missing or malformed file is a bad argument. */
    static Intervention readMap(CommandSpec spec, String option, Path file) throws IOException {
        existingFile(spec, option, file);
        try {
            return InterventionFile.read(file);
        } catch (IllegalArgumentException e) {
            throw badArgument(spec, option + " " + file + ": " + e.getMessage());
        }
    }

    /** The texts of a prompt set; a missing, malformed or empty file is a bad argument naming the option. */
    static List<String> readPrompts(CommandSpec spec, String option, Path file) throws IOException {
        existingFile(spec, option, file);
        try {
            List<String> texts = PromptSet.read(file).texts();
            if (texts.isEmpty()) {
                throw badArgument(spec, option + " " + file + " holds no prompts");
            }
            return texts;
        } catch (IllegalArgumentException e) {
            throw badArgument(spec, option + " " + file + ": " + e.getMessage());
        }
    }
}
