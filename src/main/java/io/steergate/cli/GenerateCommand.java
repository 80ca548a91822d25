package io.steergate.cli;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.SteeringPlan;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code steer generate}: continues one prompt, steered by the maps given (composed in order). */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt, optionally steered by maps (each --map with its own --strength).")
final class GenerateCommand implements Callable<Integer> {

    /** One map of the plan and its strength. */
    static final class MapArg {
        @Option(names = "--map", required = true, paramLabel = "FILE", description = "an intervention (.safetensors)")
        Path file;

        // a field initializer, not defaultValue: picocli applies an ArgGroup's defaults even when no group was given
        @Option(names = "--strength", paramLabel = "S", description = "strength in [0, 4] of the preceding --map "
                + "(default 1)")
        double strength = 1.0;
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model directory")
    Path model;

    @ArgGroup(exclusive = false, multiplicity = "0..*")
    List<MapArg> maps = new ArrayList<>();

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the text to continue")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "64", paramLabel = "N", description = "default ${DEFAULT-VALUE}")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "1.0", paramLabel = "T",
            description = "0 for greedy; default ${DEFAULT-VALUE}")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.6", paramLabel = "P", description = "default ${DEFAULT-VALUE}")
    float topP;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "default ${DEFAULT-VALUE}")
    long seed;

    @Override
    public Integer call() throws Exception {
        for (MapArg m : maps) {
            if (!(m.strength >= 0 && m.strength <= SteeringPlan.MAX_STRENGTH)) {
                throw SteerCli.badArgument(spec, "--strength must be in [0, " + SteeringPlan.MAX_STRENGTH + "], got " + m.strength);
            }
        }
        GenerationInput input;
        try {
            input = new GenerationInput(prompt, maxTokens, temperature, topP, seed);
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, e.getMessage());
        }
        try (LlamaModel llama = SteerCli.loadModel(spec, model)) {
            List<SteeringPlan.Step> steps = new ArrayList<>();
            for (MapArg m : maps) {
                steps.add(new SteeringPlan.Step(SteerCli.readMap(spec, "--map", m.file, llama), m.strength));
            }
            SteeringPlan plan = SteeringPlan.compose(steps);
            long t0 = System.nanoTime();
            Completion done = new Generator(llama).generate(List.of(input.withSteering(plan.isEmpty() ? null : plan)))
                    .get(0);
            long millis = (System.nanoTime() - t0) / 1_000_000;
            PrintWriter out = spec.commandLine().getOut();
            out.println(prompt + done.text());
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            err.printf("[%d prompt + %d new tokens, %s, %d ms, %d map(s)]%n", done.promptTokens(),
                    done.completionTokens(), done.stopReason(), millis, steps.size());
            err.flush();
        }
        return 0;
    }
}
