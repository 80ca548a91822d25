package io.steergate.policy;

import io.steergate.messages.SafeText;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bounds a decision's trace, which is stored twice (generation row and audit record) and shown whole by the audit
 * API: what a request can make the evaluator write must not decide how much we store. Repeated steps become one line
 * with a count, at the place of their first occurrence; past {@link #MAX_LINES} lines or {@link #MAX_CHARS}
 * characters the trace keeps its first steps, a line saying how many steps were left out, and its final step (for a
 * rejection, why).
 */
final class DecisionTrace {

    /** Most lines of a bounded trace, the "more steps" line included. */
    static final int MAX_LINES = 64;
    /** Most characters over all lines of a bounded trace. */
    static final int MAX_CHARS = 8_000;
    /** Most characters of one line: a rejection's step carries its error message (at most 1,000 characters). */
    static final int LINE_CHARS = 1_100;
    /** Room kept for the "... N more steps" line. */
    private static final int OMISSION_CHARS = 32;

    private DecisionTrace() {}

    /** {@code steps} with repeats counted, each line made safe, and the whole within the bounds above. */
    static List<String> bounded(List<String> steps) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String step : steps) {
            counts.merge(SafeText.of(step, LINE_CHARS), 1, Integer::sum);
        }
        List<String> lines = new ArrayList<>(counts.size());
        List<Integer> represented = new ArrayList<>(counts.size());
        int chars = 0;
        for (Map.Entry<String, Integer> step : counts.entrySet()) {
            String line = step.getValue() == 1 ? step.getKey() : step.getKey() + " (" + step.getValue() + " times)";
            lines.add(line);
            represented.add(step.getValue());
            chars += line.length();
        }
        if (lines.size() <= MAX_LINES && chars <= MAX_CHARS) {
            return lines;
        }
        int last = lines.size() - 1;
        String finalStep = lines.get(last);
        int budget = MAX_CHARS - OMISSION_CHARS - finalStep.length();
        List<String> kept = new ArrayList<>(MAX_LINES);
        int omitted = steps.size() - represented.get(last);
        for (int i = 0; i < last && kept.size() < MAX_LINES - 2 && lines.get(i).length() <= budget; i++) {
            kept.add(lines.get(i));
            budget -= lines.get(i).length();
            omitted -= represented.get(i);
        }
        kept.add("... " + omitted + " more steps");
        kept.add(finalStep);
        return kept;
    }
}
