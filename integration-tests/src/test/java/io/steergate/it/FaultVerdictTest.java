package io.steergate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

/** The fault suite's judge: each broken delivery rule is reported with the ids and their state. */
class FaultVerdictTest {

    private static final FaultVerdict.DbState DONE = new FaultVerdict.DbState(1, "COMPLETED", null, 1);

    @Test
    void aCleanScenarioHasNoProblemsAndCountsDuplicatesAndTheFirstNewResult() {
        Map<String, List<ResultWatch.Copy>> copies = new LinkedHashMap<>();
        copies.put("r-1", List.of(copy("r-1", completed("r-1"), 10), copy("r-1", completed("r-1"), 150)));
        copies.put("r-2", List.of(copy("r-2", completed("r-2"), 120)));
        copies.put("r-3", List.of(copy("r-3", completed("r-3"), 130)));

        FaultVerdict verdict = FaultVerdict.judge(Set.of("r-1", "r-2", "r-3"), copies,
                Map.of("r-1", DONE, "r-2", DONE, "r-3", DONE), Set.of("r-1"), 100);

        assertEquals(List.of(), verdict.problems());
        assertEquals(1, verdict.duplicates());
        // r-1's republished copy at 150 does not count: r-1 was answered before the part came back
        assertEquals(Optional.of(120L), verdict.firstNewNanos());
    }

    @Test
    void everyBrokenRuleIsOneProblemNamingTheIdsAndTheirState() {
        Map<String, List<ResultWatch.Copy>> copies = new LinkedHashMap<>();
        copies.put("differs", List.of(copy("differs", completed("differs"), 1),
                copy("differs", "{\"id\":\"differs\",\"status\":\"COMPLETED\",\"text\":\"other\"}", 2)));
        copies.put("failed", List.of(copy("failed",
                "{\"id\":\"failed\",\"status\":\"FAILED\",\"error\":{\"code\":\"GENERATION_FAILED\",\"message\":\"boom\"}}", 1)));
        copies.put("two-audits", List.of(copy("two-audits", completed("two-audits"), 1)));
        Map<String, FaultVerdict.DbState> db = Map.of(
                "differs", DONE,
                "failed", new FaultVerdict.DbState(1, "FAILED", "GENERATION_FAILED", 1),
                "two-audits", new FaultVerdict.DbState(1, "COMPLETED", null, 2),
                "pending", new FaultVerdict.DbState(1, "PENDING", null, 0));

        FaultVerdict verdict = FaultVerdict.judge(Set.of("differs", "failed", "two-audits", "pending", "lost"),
                copies, db, Set.of(), 0);

        List<String> problems = verdict.problems();
        assertEquals(5, problems.size(), String.join("\n", problems));
        assertEquals("2 of 5 ids have no result: 1 with generation PENDING, 0 audit records [pending];"
                + " 1 with no generation row, 0 audit records [lost]", problems.get(0));
        assertTrue(problems.get(1).startsWith("1 ids have copies that differ: [differs (2 copies: "), problems.get(1));
        assertEquals("1 results are not COMPLETED: 1 FAILED GENERATION_FAILED [failed \"boom\"]", problems.get(2));
        assertEquals("1 ids do not have exactly one generation row: [lost=0]", problems.get(3));
        assertEquals("3 ids do not have exactly one audit record: [lost=0, pending=0, two-audits=2]", problems.get(4));
    }

    @Test
    void longListsNameTheFirstIdsAndCountTheRest() {
        Set<String> ids = new TreeSet<>();
        Map<String, FaultVerdict.DbState> db = new LinkedHashMap<>();
        for (int i = 10; i < 30; i++) {
            ids.add("id-" + i);
            db.put("id-" + i, DONE);
        }

        String missing = FaultVerdict.judge(ids, Map.of(), db, Set.of(), 0).problems().get(0);

        assertTrue(missing.startsWith("20 of 20 ids have no result: 20 with generation COMPLETED, 1 audit records [id-10, "),
                missing);
        assertTrue(missing.endsWith("id-24, ... 5 more]"), missing);
    }

    private static ResultWatch.Copy copy(String id, String json, long arrivedNanos) {
        return new ResultWatch.Copy(id, json.getBytes(StandardCharsets.UTF_8), arrivedNanos);
    }

    private static String completed(String id) {
        return "{\"id\":\"" + id + "\",\"status\":\"COMPLETED\",\"text\":\" there was a girl\"}";
    }
}
