package io.steergate.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.steergate.testing.TopicClient;

/**
 * The delivery rules of docs/architecture.md 4.3 under a crash: 200 requests in flight, the application SIGKILLed after the
 * first results and started again. Every id must get a COMPLETED result, every copy of one id's result
 * must be byte-identical, and PostgreSQL must hold exactly one generation per id.
 */
class DeliveryUnderCrashIT {

    /** The application's table of generations, one row per request id. */
    static final String GENERATIONS_PER_ID_SQL = "select request_id, count(*) from generations group by request_id";

    private static final int REQUESTS = 200;
    private static final int RESULTS_BEFORE_KILL = 20;
    private static final Duration ALL_RESULTS_TIMEOUT = Duration.ofMinutes(5);
    private static final String[] OPENINGS = {
        "Once upon a time", "Once upon a time, there was a", "One day, a little", "Once upon a time, a boy named Tim",
        "Once upon a time, in a big forest,", "One day, Lily went to the park", "There was a little dog",
        "Once upon a time, a girl", "The sun was shining and", "Once upon a time, there lived a cat"
    };
    private static final String[] ENDINGS = { "", " and", " who", " that" };

    private static ItStack stack;
    private static AppProcess app;

    @BeforeAll
    static void startStack() {
        stack = ItStack.start();
        app = stack.app("delivery-under-crash").start();
    }

    @AfterAll
    static void stopStack() {
        ItStack.close(stack, app);
    }

    @Test
    void everyRequestGetsOneIdenticalCompletedResultAcrossASigkill() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        Map<String, Object> requests = new LinkedHashMap<>();
        for (int i = 0; i < REQUESTS; i++) {
            String id = "crash-" + run + "-" + i;
            String prompt = OPENINGS[i % OPENINGS.length] + ENDINGS[(i / OPENINGS.length) % ENDINGS.length];
            requests.put(id, GenerationRequests.of(id, "acme", prompt, 32, 0.0));
        }
        Set<String> ids = requests.keySet();

        try (TopicClient.Tail results = stack.topics.tail("steer.results")) {
            stack.topics.sendAllJson("steer.requests", requests);

            results.await(r -> ids.contains(r.key()), RESULTS_BEFORE_KILL, Duration.ofMinutes(3));
            app.kill();
            assertEquals(137, app.exitValue(), "the application must die by SIGKILL (128 + 9)");
            app.start();

            Map<String, List<TopicClient.Received>> byId = awaitAllIds(results, ids);

            for (String id : ids) {
                List<TopicClient.Received> copies = byId.get(id);
                byte[] first = copies.get(0).value();
                for (TopicClient.Received copy : copies) {
                    assertArrayEquals(first, copy.value(), () -> "copies of the result for " + id + " differ:\n"
                            + copies.stream().map(TopicClient.Received::text).collect(Collectors.joining("\n")));
                }
                JsonNode result = copies.get(0).json();
                assertEquals(id, result.path("id").asText(), () -> "result keyed " + id + " carries another id: " + result);
                assertEquals("acme", result.path("tenant").asText(), () -> "tenant of " + result);
                assertEquals("COMPLETED", result.path("status").asText(), () -> "status of " + result);
            }
        }

        Map<String, Long> rows = generationsPerId();
        Set<String> wrong = new TreeSet<>();
        for (String id : ids) {
            if (rows.getOrDefault(id, 0L) != 1L) {
                wrong.add(id + "=" + rows.getOrDefault(id, 0L));
            }
        }
        assertTrue(wrong.isEmpty(), () -> "expected exactly one generation row per id; got " + wrong);
    }

    /** Waits until every id has at least one result; returns the results read so far grouped by id. */
    private static Map<String, List<TopicClient.Received>> awaitAllIds(TopicClient.Tail results, Set<String> ids) {
        long deadline = System.nanoTime() + ALL_RESULTS_TIMEOUT.toNanos();
        while (true) {
            Map<String, List<TopicClient.Received>> byId = results.records(r -> ids.contains(r.key())).stream()
                    .collect(Collectors.groupingBy(TopicClient.Received::key));
            if (byId.keySet().containsAll(ids)) {
                return byId;
            }
            if (System.nanoTime() > deadline) {
                Set<String> missing = new TreeSet<>(ids);
                missing.removeAll(byId.keySet());
                fail(missing.size() + " of " + ids.size() + " ids got no result within " + ALL_RESULTS_TIMEOUT
                        + ", for example " + missing.stream().limit(5).toList() + "; application log "
                        + app.logFile() + ":\n" + app.logTail(40));
            }
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    private static Map<String, Long> generationsPerId() throws Exception {
        Map<String, Long> rows = new HashMap<>();
        try (Connection connection = DriverManager.getConnection(stack.postgres.jdbcUrl(), stack.postgres.username(), stack.postgres.password());
             Statement statement = connection.createStatement();
             ResultSet resultSet = statement.executeQuery(GENERATIONS_PER_ID_SQL)) {
            while (resultSet.next()) {
                rows.put(resultSet.getString(1), resultSet.getLong(2));
            }
        }
        return rows;
    }
}
