package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Iteration-level scheduling: a row that joins a running batch, or shares it with rows that join and leave, generates
 * what it generates alone; admission keeps the token budget, first in first out; cancel; the cache's width stays
 * bounded. The tests of what a row computes run on both decode paths: the NDArray path's cache layout is where a join
 * or a trim could go wrong, and a GPU runs it.
 */
class ContinuousBatchTest {

    private static final String LONG_PROMPT = "The little dog was very sad because his ball was lost in the tall grass"
            + " and he looked for it all day long with his friend the big cat";

    private static LlamaModel model;
    private static Generator generator;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
        generator = new Generator(model);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void theGoldenPromptJoiningARunningBatchAtStep7GivesTheGoldenIds(DecodePath path) throws IOException {
        int[] golden = GeneratorTest.golden("once-upon-a-time-greedy-64.txt");
        List<Completion> out = StaggeredRun.run(model, path, List.of(
                GenerationInput.greedy("Tom and Sue", 40),
                new GenerationInput("A cat", 30, 0.9f, 0.9f, 5L),
                GenerationInput.greedy("Once upon a time", 64)), new int[] {0, 2, 7});
        assertEquals(new Completion(model.tokenizer().decode(378, golden), 5, 64, StopReason.MAX_TOKENS), out.get(2));
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void rowsJoiningAtStaggeredStepsGenerateWhatTheyGenerateAlone(DecodePath path) {
        Generator generator = new Generator(model, path);
        for (boolean sampled : new boolean[] {false, true}) {
            List<GenerationInput> rows = new ArrayList<>();
            String[] prompts = {"Once upon a time", "", LONG_PROMPT, "Tom and Sue"};
            int[] maxTokens = {40, 30, 30, 20};
            for (int i = 0; i < prompts.length; i++) {
                rows.add(sampled ? new GenerationInput(prompts[i], maxTokens[i], 0.9f, 0.9f, 100 + i)
                        : GenerationInput.greedy(prompts[i], maxTokens[i]));
            }
            // the long prompt joins at step 10, when the batch's column is shorter than it: the batch moves right
            assertTrue(model.tokenizer().encode(LONG_PROMPT).length > model.tokenizer().encode(prompts[0]).length + 10);
            List<Completion> staggered = StaggeredRun.run(model, path, rows, new int[] {0, 3, 10, 25});
            for (int i = 0; i < rows.size(); i++) {
                assertEquals(generator.generate(List.of(rows.get(i))).get(0), staggered.get(i),
                        (sampled ? "sampled" : "greedy") + " row " + i);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void pooledMeansOfStaggeredRowsEqualTheirsAlone(DecodePath path) {
        Generator generator = new Generator(model, path);
        List<GenerationInput> rows = List.of(GenerationInput.greedy("Once upon a time", 30),
                new GenerationInput("Lily had a cat", 25, 0.9f, 1f, 3L), GenerationInput.greedy(LONG_PROMPT, 20));
        int last = model.config().nLayers() * SiteHook.POINTS - 1;
        List<List<Integer>> pooled = List.of(List.of(SiteHook.index(1, HookPoint.RESID), last), List.of(),
                List.of(SiteHook.index(0, HookPoint.MLP_OUT)));
        List<Completion> staggered = StaggeredRun.run(model, path, Integer.MAX_VALUE, Integer.MAX_VALUE, rows,
                new int[] {0, 4, 9}, pooled, batch -> { });
        for (int i = 0; i < rows.size(); i++) {
            Completion alone = generator.generate(List.of(rows.get(i)), List.of(model.tokenizer().encode(
                    rows.get(i).prompt())), List.of(pooled.get(i))).get(0);
            assertEquals(alone.text(), staggered.get(i).text(), "row " + i);
            assertEquals(alone.pooled().keySet(), staggered.get(i).pooled().keySet(), "row " + i);
            for (int site : alone.pooled().keySet()) {
                assertArrayEquals(alone.pooled().get(site), staggered.get(i).pooled().get(site), 1e-6f,
                        "row " + i + " site " + site);
            }
        }
        assertEquals(2, staggered.get(0).pooled().size());
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void admissionKeepsTheBudgetAndAnOverBudgetUnitRunsAlone(DecodePath path) {
        Generator generator = new Generator(model, path);
        List<GenerationInput> rows = List.of(GenerationInput.greedy("Once upon a time", 60),
                GenerationInput.greedy("Tom and Sue", 10), GenerationInput.greedy("A cat", 10),
                GenerationInput.greedy("One day, a bird", 10));
        int budget = 50; // the first row alone costs 5 + 60
        List<Integer> sizes = new ArrayList<>();
        List<Completion> out = StaggeredRun.run(model, path, budget, 8, rows, new int[] {0, 0, 1, 2}, null, batch -> {
            sizes.add(batch.running());
            if (batch.running() > 1) {
                assertTrue(batch.cost() <= budget, "cost " + batch.cost());
            }
        });
        // the first row runs alone until it is done, then the others share the batch within the budget
        int firstDone = out.get(0).completionTokens();
        for (int s = 0; s < firstDone - 2; s++) { // step 0 emits two tokens: the prefill's and the decode's
            assertEquals(1, sizes.get(s), "step " + s);
        }
        assertTrue(sizes.stream().anyMatch(size -> size > 1), sizes.toString());
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(generator.generate(List.of(rows.get(i))).get(0), out.get(i), "row " + i);
        }
    }

    @Test
    void unitsAreAdmittedInOrderAndAPairJoinsTogether() {
        try (ContinuousBatch batch = new ContinuousBatch(model, 100, 8)) {
            batch.submit(List.of(request(GenerationInput.greedy("Once upon a time", 40))), false);
            batch.step();
            assertEquals(1, batch.running());
            // a pair that does not fit (3 x ~45 > 100) keeps a single small row behind it waiting, though it would fit
            batch.submit(List.of(request(GenerationInput.greedy("Tom and Sue", 40)),
                    request(GenerationInput.greedy("A cat", 40))), false);
            batch.submit(List.of(request(GenerationInput.greedy("A dog", 2))), false);
            batch.step();
            assertEquals(1, batch.running());
            assertEquals(2, batch.waiting());
            boolean pairJoined = false;
            while (!batch.idle()) {
                int before = batch.running();
                int waitingBefore = batch.waiting();
                int finished = batch.step().size();
                if (batch.waiting() < waitingBefore && !pairJoined) {
                    pairJoined = true;
                    assertEquals(before + 2 - finished, batch.running(), "both rows of the pair join in one step");
                    assertEquals(1, batch.waiting(), "the small row waits behind the pair");
                }
                assertTrue(batch.running() <= 3);
            }
            assertTrue(pairJoined);
        }
    }

    @Test
    void anAloneUnitWaitsForAnEmptyBatchAndRunsWithNoOtherRow() {
        try (ContinuousBatch batch = new ContinuousBatch(model, Integer.MAX_VALUE, 8)) {
            ContinuousBatch.Ticket first = batch.submit(List.of(request(GenerationInput.greedy("Tom and Sue", 12))), false);
            batch.step();
            ContinuousBatch.Ticket alone = batch.submit(List.of(request(GenerationInput.greedy("Once upon a time", 20)),
                    request(GenerationInput.greedy("A cat", 20))), true);
            ContinuousBatch.Ticket after = batch.submit(List.of(request(GenerationInput.greedy("A dog", 5))), false);
            List<ContinuousBatch.Ticket> finished = new ArrayList<>();
            while (!batch.idle()) {
                int waitingBefore = batch.waiting();
                for (ContinuousBatch.Finished done : batch.step()) {
                    finished.add(done.ticket());
                }
                if (waitingBefore == 1 && batch.waiting() == 1) {
                    assertTrue(batch.running() <= 2, "the alone unit runs with no other row");
                }
            }
            assertEquals(List.of(first, alone, alone, after), finished);
        }
    }

    @Test
    void aCancelledRowLeavesWithItsTokensAndTheOthersAreUnchanged() {
        GenerationInput cancelledRow = GenerationInput.greedy("Once upon a time", 40);
        GenerationInput other = new GenerationInput("Tom and Sue", 30, 0.9f, 0.9f, 9L);
        try (ContinuousBatch batch = new ContinuousBatch(model, Integer.MAX_VALUE, 8)) {
            ContinuousBatch.Ticket a = batch.submit(List.of(request(cancelledRow)), false);
            ContinuousBatch.Ticket b = batch.submit(List.of(request(other)), false);
            ContinuousBatch.Ticket queued = batch.submit(List.of(request(GenerationInput.greedy("A cat", 5))), true);
            for (int s = 0; s < 6; s++) {
                assertTrue(batch.step().isEmpty());
            }
            batch.cancel(queued);
            batch.cancel(a);
            List<ContinuousBatch.Finished> next = batch.step();
            assertEquals(1, next.size());
            assertEquals(a, next.get(0).ticket());
            Completion cancelled = next.get(0).completion();
            assertEquals(StopReason.CANCELLED, cancelled.stopReason());
            assertEquals(7, cancelled.completionTokens()); // the prefill's token and six decode steps'
            assertTrue(generator.generate(List.of(cancelledRow)).get(0).text().startsWith(cancelled.text()));
            Map<ContinuousBatch.Ticket, Completion> rest = new HashMap<>();
            while (!batch.idle()) {
                batch.step().forEach(done -> rest.put(done.ticket(), done.completion()));
            }
            assertEquals(Map.of(b, generator.generate(List.of(other)).get(0)), rest);
        }
    }

    @Test
    void theGeneratorCancelsOneRowOfItsBatchAndHandsOutItsText() {
        GenerationInput first = GenerationInput.greedy("Once upon a time", 40);
        GenerationInput second = new GenerationInput("Tom and Sue", 30, 0.9f, 0.9f, 9L);
        StringBuilder streamed = new StringBuilder();
        int[] asked = new int[1];
        List<Completion> out = generator.generate(List.of(first, second),
                List.of(model.tokenizer().encode(first.prompt()), model.tokenizer().encode(second.prompt())),
                java.util.Arrays.asList(null, null),
                java.util.Arrays.asList((index, tokens, text) -> streamed.append(text), null),
                List.of(() -> ++asked[0] > 5, () -> false));
        assertEquals(StopReason.CANCELLED, out.get(0).stopReason());
        assertEquals(6, out.get(0).completionTokens()); // asked before steps 1 to 6: cancelled before the sixth
        assertEquals(out.get(0).text(), streamed.toString());
        assertTrue(generator.generate(List.of(first)).get(0).text().startsWith(out.get(0).text()));
        assertEquals(generator.generate(List.of(second)).get(0), out.get(1));
    }

    @Test
    void tokenSinksReceivePiecesThatConcatenateToTheText() {
        Map<Integer, StringBuilder> texts = new HashMap<>();
        Map<Integer, Integer> covered = new HashMap<>();
        try (ContinuousBatch batch = new ContinuousBatch(model, Integer.MAX_VALUE, 8)) {
            Map<ContinuousBatch.Ticket, Integer> rowOf = new HashMap<>();
            Map<Integer, Completion> out = new HashMap<>();
            for (int i = 0; i < 6; i++) {
                int row = i;
                texts.put(row, new StringBuilder());
                covered.put(row, 0);
                ContinuousBatch.TokenSink sink = (index, tokens, text) -> {
                    assertEquals(covered.get(row), index, "pieces in order, none missing");
                    covered.put(row, index + tokens);
                    texts.get(row).append(text);
                };
                GenerationInput input = new GenerationInput(i % 2 == 0 ? "" : "Once upon a time", 30, 1f, 1f, i);
                rowOf.put(batch.submit(List.of(new ContinuousBatch.RowRequest(input,
                        model.tokenizer().encode(input.prompt()), null, sink)), false), row);
                batch.step().forEach(done -> out.put(rowOf.get(done.ticket()), done.completion()));
            }
            while (!batch.idle()) {
                batch.step().forEach(done -> out.put(rowOf.get(done.ticket()), done.completion()));
            }
            for (int i = 0; i < 6; i++) {
                assertNotNull(out.get(i));
                assertEquals(out.get(i).text(), texts.get(i).toString(), "row " + i);
                assertEquals(out.get(i).completionTokens(), covered.get(i), "row " + i);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void theCacheWidthStaysBoundedOverManyStaggeredRows(DecodePath path) {
        Random random = new Random(17);
        String[] prompts = {"", "Once upon a time", "Tom and Sue", LONG_PROMPT, "A cat"};
        List<GenerationInput> rows = new ArrayList<>();
        int[] steps = new int[60];
        int longest = 0;
        int most = 0;
        for (int i = 0; i < steps.length; i++) {
            int maxTokens = 4 + random.nextInt(36);
            String prompt = prompts[random.nextInt(prompts.length)];
            rows.add(new GenerationInput(prompt, maxTokens, 1f, 1f, i));
            steps[i] = i * 2 + random.nextInt(2);
            longest = Math.max(longest, model.tokenizer().encode(prompt).length);
            most = Math.max(most, maxTokens);
        }
        int budget = 1200;
        int bound = longest + 2 * most;
        int[] widest = new int[1];
        List<Completion> out = StaggeredRun.run(model, path, budget, 12, rows, steps, null, batch -> {
            if (batch.running() > 0) {
                int width = (int) (batch.cost() / batch.running()) - 1;
                widest[0] = Math.max(widest[0], width);
                assertTrue(width <= bound, "width " + width + " over " + bound);
                assertTrue(batch.running() <= 12);
            }
            if (batch.running() > 1) {
                assertTrue(batch.cost() <= budget, "cost " + batch.cost());
            }
        });
        assertTrue(out.stream().allMatch(c -> c != null && c.completionTokens() <= 40));
        System.out.printf("ContinuousBatchTest: widest cache %d columns (bound %d)%n", widest[0], bound);
    }

    private static ContinuousBatch.RowRequest request(GenerationInput input) {
        return new ContinuousBatch.RowRequest(input, model.tokenizer().encode(input.prompt()), null, null);
    }
}
