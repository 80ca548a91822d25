package io.steergate.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

import io.steergate.testing.TopicClient;

/**
 * The delivery rules of issue 7 applied to one fault scenario, from what steer.results and PostgreSQL hold: every id
 * has a result, every copy of an id's result is byte-identical, every result is COMPLETED (the requests are valid, so
 * anything else is the fault's doing), exactly one generation row and exactly one audit record per id. Each broken
 * rule becomes one problem line naming the ids (the first {@value #LISTED}) and what state they are in.
 *
 * @param problems   empty when every rule holds
 * @param firstNewNanos System.nanoTime() of the first result, after the part's return, for an id that had none then
 * @param duplicates copies received beyond the first, over all ids
 */
record FaultVerdict(List<String> problems, Optional<Long> firstNewNanos, int duplicates) {

    static final int LISTED = 15;

    /** One id's rows in PostgreSQL. */
    record DbState(int generationRows, String status, String errorCode, int auditRecords) {
    }

    /**
     * @param ids              the scenario's request ids
     * @param copies           every result received, by id
     * @param db               the rows PostgreSQL holds, by id (absent: none at all)
     * @param answeredAtReturn the ids that had a result when the killed part was back
     * @param returnedNanos    System.nanoTime() when the killed part was back
     */
    static FaultVerdict judge(Set<String> ids, Map<String, List<ResultWatch.Copy>> copies, Map<String, DbState> db,
            Set<String> answeredAtReturn, long returnedNanos) {
        List<String> problems = new ArrayList<>();

        Set<String> missing = new TreeSet<>(ids);
        missing.removeAll(copies.keySet());
        if (!missing.isEmpty()) {
            // grouped by what PostgreSQL knows of them: lost before the database, stuck PENDING, finished unpublished
            Map<String, List<String>> byState = new TreeMap<>();
            for (String id : missing) {
                byState.computeIfAbsent(describe(db.get(id)), state -> new ArrayList<>()).add(id);
            }
            problems.add(missing.size() + " of " + ids.size() + " ids have no result: " + byState.entrySet().stream()
                    .map(e -> e.getValue().size() + " with " + e.getKey() + " " + listed(e.getValue()))
                    .collect(Collectors.joining("; ")));
        }

        List<String> differing = new ArrayList<>();
        // status and error code -> the ids with that outcome, each with its error message
        Map<String, List<String>> notCompleted = new TreeMap<>();
        int duplicates = 0;
        long firstNew = Long.MAX_VALUE;
        for (var entry : new TreeMap<>(copies).entrySet()) {
            String id = entry.getKey();
            List<ResultWatch.Copy> list = entry.getValue();
            duplicates += list.size() - 1;
            byte[] first = list.get(0).value();
            if (list.stream().anyMatch(copy -> !Arrays.equals(first, copy.value()))) {
                differing.add(id + " (" + list.size() + " copies: " + list.stream()
                        .map(copy -> new String(copy.value(), StandardCharsets.UTF_8)).distinct()
                        .collect(Collectors.joining(" <> ")) + ")");
            }
            JsonNode result = json(first);
            String status = result.path("status").asText();
            if (!"COMPLETED".equals(status)) {
                JsonNode error = result.path("error");
                notCompleted.computeIfAbsent(status + " " + error.path("code").asText(), outcome -> new ArrayList<>())
                        .add(id + " \"" + error.path("message").asText() + "\"");
            }
            if (!answeredAtReturn.contains(id)) {
                for (ResultWatch.Copy copy : list) {
                    if (copy.arrivedNanos() >= returnedNanos) {
                        firstNew = Math.min(firstNew, copy.arrivedNanos());
                    }
                }
            }
        }
        if (!differing.isEmpty()) {
            problems.add(differing.size() + " ids have copies that differ: " + listed(differing));
        }
        if (!notCompleted.isEmpty()) {
            problems.add(notCompleted.values().stream().mapToInt(List::size).sum() + " results are not COMPLETED: "
                    + notCompleted.entrySet().stream()
                            .map(e -> e.getValue().size() + " " + e.getKey() + " " + listed(e.getValue()))
                            .collect(Collectors.joining("; ")));
        }

        List<String> generationsWrong = new ArrayList<>();
        List<String> auditsWrong = new ArrayList<>();
        for (String id : new TreeSet<>(ids)) {
            DbState state = db.get(id);
            int generations = state == null ? 0 : state.generationRows();
            int audits = state == null ? 0 : state.auditRecords();
            if (generations != 1) {
                generationsWrong.add(id + "=" + generations);
            }
            if (audits != 1) {
                auditsWrong.add(id + "=" + audits);
            }
        }
        if (!generationsWrong.isEmpty()) {
            problems.add(generationsWrong.size() + " ids do not have exactly one generation row: " + listed(generationsWrong));
        }
        if (!auditsWrong.isEmpty()) {
            problems.add(auditsWrong.size() + " ids do not have exactly one audit record: " + listed(auditsWrong));
        }
        return new FaultVerdict(List.copyOf(problems),
                firstNew == Long.MAX_VALUE ? Optional.empty() : Optional.of(firstNew), duplicates);
    }

    private static String describe(DbState state) {
        if (state == null) {
            return "no generation row, 0 audit records";
        }
        String generation = state.generationRows() == 0 ? "no generation row"
                : "generation " + state.status() + (state.errorCode() == null ? "" : " " + state.errorCode());
        return generation + ", " + state.auditRecords() + " audit records";
    }

    private static String listed(List<String> items) {
        String shown = items.stream().limit(LISTED).collect(Collectors.joining(", "));
        return "[" + shown + (items.size() > LISTED ? ", ... " + (items.size() - LISTED) + " more" : "") + "]";
    }

    private static JsonNode json(byte[] value) {
        try {
            return TopicClient.json().readTree(value);
        } catch (IOException e) {
            throw new AssertionError("a result is not JSON: " + new String(value, StandardCharsets.UTF_8), e);
        }
    }
}
