package io.steergate.cli;

import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code steer scale}: stores a map at a measured strength as a map of its own (strength 1), so that a policy, whose
 * strengths stay in [0, 1], can apply what an evaluation found at a strength above 1.
 */
@Command(name = "scale", mixinStandardHelpOptions = true,
        description = "Write MAP at strength S as a new map: omega' = S omega + (1 - S), beta' = S beta, supports kept.")
final class ScaleCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--map", required = true, paramLabel = "FILE", description = "the map file to scale")
    Path map;

    @Option(names = "--strength", required = true, paramLabel = "S", description = "in (0, 4]")
    double strength;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "where to write the scaled map")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!(strength > 0 && strength <= SteeringPlan.MAX_STRENGTH)) {
            throw SteerCli.badArgument(spec, "--strength must be in (0, " + SteeringPlan.MAX_STRENGTH + "], got " + strength);
        }
        Intervention scaled = SteerCli.readMap(spec, "--map", map).scaled(strength);
        InterventionFile.write(scaled, out);
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: '%s' (%s) at strength %s, %d sites%n", out,
                scaled.name(), scaled.method(), scaled.metadata().get("scaled"), scaled.maps().size());
        return 0;
    }
}
