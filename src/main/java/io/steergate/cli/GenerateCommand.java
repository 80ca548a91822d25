package io.steergate.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.SteeringPlan;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code steer generate}: continues one prompt, or every prompt of a JSONL set, steered by the maps given (composed in
 * order). A set's continuations come out as JSONL ({"text": prompt + continuation} a line, row i sampled with seed +
 * i, as {@code steer evaluate} samples), so that what the model writes can be fitted on like any prompt set.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt or a JSONL prompt set, optionally steered by maps (each --map with its own "
                + "--strength).")
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

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model directory")
    Path model;

    @ArgGroup(exclusive = false, multiplicity = "0..*")
    List<MapArg> maps = new ArrayList<>();

    /** One prompt, or a set of them. */
    static final class Prompts {
        @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the text to continue")
        String text;

        @Option(names = "--prompts", required = true, paramLabel = "FILE.jsonl",
                description = "continue every prompt of the set; prints JSONL, row i seeded with --seed + i")
        Path set;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompts prompts;

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
        List<String> texts;
        try {
            texts = prompts.set == null ? List.of(prompts.text) : PromptSet.read(prompts.set).texts();
        } catch (IOException | IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, "--prompts: " + e.getMessage());
        }
        List<GenerationInput> inputs = new ArrayList<>();
        try {
            for (int i = 0; i < texts.size(); i++) {
                inputs.add(new GenerationInput(texts.get(i), maxTokens, temperature, topP, seed + i));
            }
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, e.getMessage());
        }
        try (LlamaModel llama = SteerCli.loadModel(spec, model)) {
            List<SteeringPlan.Step> steps = new ArrayList<>();
            for (MapArg m : maps) {
                steps.add(new SteeringPlan.Step(SteerCli.readMap(spec, "--map", m.file, llama), m.strength));
            }
            SteeringPlan plan = SteeringPlan.compose(steps);
            SteeringPlan steering = plan.isEmpty() ? null : plan;
            long t0 = System.nanoTime();
            List<Completion> done = new Generator(llama).generate(inputs.stream().map(in -> in.withSteering(steering))
                    .toList());
            long millis = (System.nanoTime() - t0) / 1_000_000;
            PrintWriter out = spec.commandLine().getOut();
            for (int i = 0; i < done.size(); i++) {
                String continued = texts.get(i) + done.get(i).text();
                out.println(prompts.set == null ? continued : JSON.writeValueAsString(Map.of("text", continued)));
            }
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            if (prompts.set == null) {
                err.printf("[%d prompt + %d new tokens, %s, %d ms, %d map(s)]%n", done.get(0).promptTokens(),
                        done.get(0).completionTokens(), done.get(0).stopReason(), millis, steps.size());
            } else {
                err.printf("[%d prompts, %d prompt + %d new tokens, %d ms, %d map(s)]%n", done.size(),
                        done.stream().mapToInt(Completion::promptTokens).sum(),
                        done.stream().mapToInt(Completion::completionTokens).sum(), millis, steps.size());
            }
            err.flush();
        }
        return 0;
    }
}
