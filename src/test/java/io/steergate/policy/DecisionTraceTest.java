package io.steergate.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Issue 8: a decision's trace stays small whatever the request; repeats are counted, long traces cut with a count. */
class DecisionTraceTest {

    @Test
    void sixtyThousandRepeatsOfOneStyleAreOneLineWithACount() {
        Policy story = PolicyEvaluatorTest.parse(Path.of("policies/storytelling.yaml"));
        List<String> styles = Collections.nCopies(60_000, "cheerful");
        Decision decision = PolicyEvaluator.evaluate(story,
                PolicyEvaluatorTest.request("story-app", styles, null, null), PolicyEvaluatorTest.CATALOG);
        assertEquals(List.of("style cheerful asked again: the first ask counts (59999 times)"), decision.trace());
        assertEquals(List.of(new PlanEntry("cheerful", 1, 0.6, "style:cheerful")), decision.entries());
    }

    @Test
    void repeatsAnywhereInTheTraceAreCountedAtTheirFirstPlace() {
        List<String> steps = List.of("a", "b", "a", "c", "b", "a");
        assertEquals(List.of("a (3 times)", "b (2 times)", "c"), DecisionTrace.bounded(steps));
    }

    @Test
    void aShortTraceIsKeptAsItIs() {
        List<String> steps = List.of("rule always-kind matched (no condition)", "rule kids-channel-no-dogs matched");
        assertEquals(steps, DecisionTrace.bounded(steps));
    }

    @Test
    void manyDistinctStepsKeepTheFirstOnesACountOfTheRestAndTheFinalStep() {
        List<String> steps = new ArrayList<>(IntStream.range(0, 10_000).mapToObj(i -> "style s" + i + " dropped").toList());
        steps.add("rejected: STYLE_CONFLICT: styles 'a' and 'b' contradict each other");
        List<String> trace = DecisionTrace.bounded(steps);

        assertEquals(DecisionTrace.MAX_LINES, trace.size());
        assertEquals(IntStream.range(0, 62).mapToObj(i -> "style s" + i + " dropped").toList(), trace.subList(0, 62));
        assertEquals("... " + (10_000 - 62) + " more steps", trace.get(62));
        assertEquals("rejected: STYLE_CONFLICT: styles 'a' and 'b' contradict each other", trace.get(63));
    }

    @Test
    void longStepsAreCutToTheCharacterBudgetAndTheOmittedStepsCounted() {
        List<String> steps = IntStream.range(0, 100).mapToObj(i -> i + ":" + "x".repeat(2_000)).toList();
        List<String> trace = DecisionTrace.bounded(steps);

        int chars = trace.stream().mapToInt(String::length).sum();
        assertTrue(chars <= DecisionTrace.MAX_CHARS, "trace has " + chars + " characters");
        assertTrue(trace.stream().allMatch(line -> line.length() <= DecisionTrace.LINE_CHARS), "a line is over the line bound");
        int kept = trace.size() - 2;
        assertEquals("... " + (100 - kept - 1) + " more steps", trace.get(kept));
        assertTrue(trace.get(kept + 1).startsWith("99:"), trace.get(kept + 1));
        assertTrue(kept >= 5, "only " + kept + " leading steps kept");
    }

    @Test
    void controlCharactersInAStepAreEscaped() {
        assertEquals(List.of("rule r skipped: labels.k is 'a\\u0000b\\u000a'"),
                DecisionTrace.bounded(List.of("rule r skipped: labels.k is 'a\u0000b\n'")));
    }

    @Test
    void everyDecisionIsBoundedWhateverBuildsIt() {
        List<String> steps = Collections.nCopies(100_000, "rule r skipped: labels.channel absent");
        Decision rejected = Decision.rejected(null, ErrorInfo.of(ErrorCode.POLICY_DENIED, "no"), steps);
        Decision planned = Decision.planned(null, List.of(), steps, null);
        assertEquals(List.of("rule r skipped: labels.channel absent (100000 times)"), rejected.trace());
        assertEquals(rejected.trace(), planned.trace());
    }
}
