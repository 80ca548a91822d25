package io.steergate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.JsonNode;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.steergate.it.HostileMessages.Expect;
import io.steergate.it.HostileMessages.Message;
import io.steergate.testing.TopicClient;
import io.steergate.testing.TopicClient.Received;
import io.steergate.testing.TestModel;

/**
 * Hostile input against the packaged application (issue 8): thousands of generated hostile requests over Kafka and
 * HTTP, forged records on the internal topics, and after every batch one sentinel request on each partition of
 * steer.requests that must complete. Every readable id must get exactly one result of at most 64 KB, every unreadable
 * message exactly one dead letter, HTTP never a 5xx for a client's mistake, and liveness stays UP throughout. Then a
 * named test for each finding of the issue.
 *
 * <p>Reproducible: the messages come from {@code -Dsteergate.it.hostile.seed} (printed; fixed by default), sized by
 * {@code -Dsteergate.it.hostile.batches}, {@code .kafka-per-batch} and {@code .http-per-batch}.
 */
class HostileInputIT {

    private static final long SEED = Long.getLong("steergate.it.hostile.seed", 20_261_201L);
    private static final int BATCHES = Integer.getInteger("steergate.it.hostile.batches", 5);
    private static final int KAFKA_PER_BATCH = Integer.getInteger("steergate.it.hostile.kafka-per-batch", 1_800);
    private static final int HTTP_PER_BATCH = Integer.getInteger("steergate.it.hostile.http-per-batch", 300);
    private static final int HTTP_CONCURRENCY = 8;
    private static final int PARTITIONS = 4;
    /** What the issue allows a result to weigh. */
    private static final int MAX_RESULT_BYTES = 64 * 1024;
    /** ErrorInfo.MAX_MESSAGE_CHARS: every error message is cut to this. */
    private static final int MAX_ERROR_CHARS = 1_000;
    /** Generous bounds on how long the application may take: it is stuck, not slow, when they pass. */
    private static final Duration WAIT = Duration.ofMinutes(3);
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(90);
    private static final Set<String> DECODER_REFUSALS = Set.of("INVALID_REQUEST", "INVALID_ENCODING", "MESSAGE_TOO_LARGE");

    private static ItStack stack;
    private static AppProcess app;
    private static AppHttp http;
    private static LivenessWatch liveness;
    private static KafkaProducer<String, byte[]> producer;
    private static TopicClient.Tail results;
    private static TopicClient.Tail requestsDlq;
    private static TopicClient.Tail jobResultsDlq;
    private static TopicClient.Tail jobsDlq;
    private static TopicClient.Tail retrainingDlq;

    @BeforeAll
    static void start() throws Exception {
        stack = ItStack.start();
        stack.kafka.createTopics(PARTITIONS, "steer.job-results.dlq", "steer.retraining", "steer.retraining.dlq");
        app = stack.app("hostile-input").start();
        http = new AppHttp(app);
        liveness = new LivenessWatch(http);
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafka.bootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // larger than any message sent: a record the broker refuses is refused by the broker, and counted as not sent
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(4 * 1024 * 1024));
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        producer = new KafkaProducer<>(props);
        results = stack.topics.tail("steer.results");
        requestsDlq = stack.topics.tail("steer.requests.dlq");
        jobResultsDlq = stack.topics.tail("steer.job-results.dlq");
        jobsDlq = stack.topics.tail("steer.jobs.dlq");
        retrainingDlq = stack.topics.tail("steer.retraining.dlq");
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable closeable : new AutoCloseable[] {liveness, results, requestsDlq, jobResultsDlq, jobsDlq, retrainingDlq}) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            } catch (Exception e) {
                // closing a watcher; the stack still has to go
            }
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(10));
        }
        ItStack.close(stack, app);
    }

    // ---- the generated suite --------------------------------------------------------------------------------------

    @Test
    void generatedHostileInputNeverStopsSlowsOrCorruptsTheGateway() throws Exception {
        System.out.printf("HostileInputIT: seed %d (-Dsteergate.it.hostile.seed=%d reproduces it), %d batches of %d Kafka"
                + " and %d HTTP messages%n", SEED, SEED, BATCHES, KAFKA_PER_BATCH, HTTP_PER_BATCH);
        long started = System.nanoTime();
        HostileMessages overKafka = new HostileMessages(SEED, "hk");
        HostileMessages overHttp = new HostileMessages(SEED + 1, "hh");
        SplittableRandom forgeries = new SplittableRandom(SEED + 2);
        List<Message> sentOverKafka = new ArrayList<>();
        List<Message> sentOverHttp = new ArrayList<>();
        Forged forged = new Forged();
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        int refusedByBroker = 0;

        for (int batch = 1; batch <= BATCHES; batch++) {
            List<Message> kafkaBatch = overKafka.next(KAFKA_PER_BATCH);
            List<Message> httpBatch = overHttp.next(HTTP_PER_BATCH);
            assertConsistent(kafkaBatch);
            assertConsistent(httpBatch);

            List<Message> delivered = deliver("steer.requests", kafkaBatch);
            refusedByBroker += kafkaBatch.size() - delivered.size();
            sentOverKafka.addAll(delivered);
            forge(batch, forgeries, forged, sentOverKafka);
            postAll(httpBatch, problems);
            sentOverHttp.addAll(httpBatch);

            assertLive("after the garbage of batch " + batch);
            sentinels("b" + batch);
            assertLive("after the sentinels of batch " + batch);
            System.out.printf("HostileInputIT: batch %d done at %d s (%d Kafka, %d HTTP, %d forged so far)%n", batch,
                    TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), sentOverKafka.size(), sentOverHttp.size(),
                    forged.count);
        }

        // every readable id is answered on steer.results: from Kafka always, from HTTP when it names a tenant (without
        // one it is answered 400 and stored nowhere, as ids are unique per tenant)
        Map<String, Message> byId = new HashMap<>();
        for (Message message : sentOverKafka) {
            if (message.readable()) {
                byId.put(message.readableId(), message);
            }
        }
        Set<String> unstoredHttpIds = new HashSet<>();
        for (Message message : sentOverHttp) {
            if (HostileMessages.storedOverHttp(message.value())) {
                byId.put(message.readableId(), message);
            } else if (message.readable()) {
                unstoredHttpIds.add(message.readableId());
            }
        }
        Map<String, List<Received>> answers = awaitKeys(results, byId.keySet(), "results of readable ids");
        // the unreadable ones sent over Kafka are dead-lettered, each once
        Map<String, Message> deadByKey = new HashMap<>();
        sentOverKafka.stream().filter(m -> !m.readable()).forEach(m -> deadByKey.put(m.key(), m));
        Map<String, List<Received>> deadLetters = awaitKeys(requestsDlq, deadByKey.keySet(), "dead letters of unreadable ids");
        Map<String, List<Received>> jobResultLetters = awaitKeys(jobResultsDlq, forged.jobResultLetters, "forged job results");
        Map<String, List<Received>> jobLetters = awaitKeys(jobsDlq, forged.jobLetters, "forged jobs");
        Map<String, List<Received>> retrainingLetters = awaitKeys(retrainingDlq, forged.retrainingLetters, "forged retraining records");
        for (String group : List.of("steergate-gateway", "steergate-workers", "steergate-trainer")) {
            awaitCaughtUp(group);
        }
        // whatever would come twice comes right behind the first copy: the sentinels above went through after it
        Thread.sleep(2_000);
        answers = byKey(results.records(r -> byId.containsKey(r.key()) || forged.neverAnswered.contains(r.key())));
        deadLetters = byKey(requestsDlq.records());
        jobResultLetters = byKey(jobResultsDlq.records());
        jobLetters = byKey(jobsDlq.records());
        retrainingLetters = byKey(retrainingDlq.records());

        for (Message message : byId.values()) {
            checkResult(message, answers.getOrDefault(message.readableId(), List.of()), problems);
        }
        for (Message message : deadByKey.values()) {
            checkDeadLetter(message, deadLetters.getOrDefault(message.key(), List.of()), problems);
        }
        for (Message message : concat(sentOverKafka, sentOverHttp)) {
            if (message.readable() && deadLetters.containsKey(message.key())) {
                problems.add("a readable id was dead-lettered: " + message);
            }
        }
        for (String key : forged.jobResultLetters) {
            once("steer.job-results.dlq", key, jobResultLetters, problems);
        }
        for (String key : forged.jobLetters) {
            once("steer.jobs.dlq", key, jobLetters, problems);
        }
        for (String key : forged.retrainingLetters) {
            once("steer.retraining.dlq", key, retrainingLetters, problems);
        }
        for (String id : unstoredHttpIds) {
            if (!results.records(r -> id.equals(r.key())).isEmpty()) {
                problems.add("an HTTP request without a tenant was answered on steer.results: " + id);
            }
        }
        for (String id : forged.neverAnswered) {
            if (answers.containsKey(id)) {
                problems.add("a forged record for an unknown id produced a result: " + answers.get(id));
            }
        }
        problems.addAll(liveness.notUp().stream().map(answer -> "liveness was not UP: " + answer).toList());

        Map<Expect, Integer> outcomes = new EnumMap<>(Expect.class);
        Map<String, Integer> statuses = new TreeMap<>();
        concat(sentOverKafka, sentOverHttp).forEach(m -> outcomes.merge(m.outcome(), 1, Integer::sum));
        answers.values().forEach(copies -> statuses.merge(copies.get(0).json().path("status").asText(), 1, Integer::sum));
        int total = sentOverKafka.size() + sentOverHttp.size() + forged.count;
        System.out.printf("HostileInputIT: %d hostile messages (%d Kafka, %d HTTP, %d forged internal records; %d refused by"
                + " the broker, not counted) in %d s; outcomes %s; result statuses %s; liveness polled %d times%n", total,
                sentOverKafka.size(), sentOverHttp.size(), forged.count, refusedByBroker,
                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), outcomes, statuses, liveness.polls());

        assertTrue(problems.isEmpty(), () -> problems.size() + " problems (seed " + SEED + "), the first 30:\n"
                + String.join("\n", problems.subList(0, Math.min(30, problems.size()))));
        assertTrue(total >= 10_000 || BATCHES * (KAFKA_PER_BATCH + HTTP_PER_BATCH) < 10_000,
                "fewer than 10,000 hostile messages were delivered: " + total);
        assertTrue(app.isAlive(), app::health);
    }

    private static void assertConsistent(List<Message> messages) {
        for (Message message : messages) {
            assertTrue(message.consistent(), () -> "the generator and the id contract disagree: " + message);
        }
    }

    /** Sends every message and returns those the broker took (one it refuses, too large for it, was never sent). */
    private static List<Message> deliver(String topic, List<Message> messages) {
        List<Future<RecordMetadata>> acks = new ArrayList<>(messages.size());
        for (Message message : messages) {
            acks.add(producer.send(new ProducerRecord<>(topic, message.key(), message.value())));
        }
        producer.flush();
        List<Message> delivered = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            try {
                acks.get(i).get(30, TimeUnit.SECONDS);
                delivered.add(messages.get(i));
            } catch (ExecutionException e) {
                System.out.printf("HostileInputIT: the broker refused %s: %s%n", messages.get(i).kind(), e.getCause());
            } catch (InterruptedException | TimeoutException e) {
                throw new IllegalStateException("could not send to " + topic, e);
            }
        }
        return delivered;
    }

    private static RecordMetadata send(String topic, String key, byte[] value) {
        try {
            return producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not send to " + topic, e);
        }
    }

    /** POSTs every message, {@link #HTTP_CONCURRENCY} at a time, and checks each answer as it comes. */
    private static void postAll(List<Message> messages, List<String> problems) {
        Semaphore slots = new Semaphore(HTTP_CONCURRENCY);
        List<CompletableFuture<?>> answers = new ArrayList<>(messages.size());
        for (Message message : messages) {
            slots.acquireUninterruptibly();
            answers.add(http.postAsync("/v1/generations", message.value(), HTTP_TIMEOUT).whenComplete((response, failure) -> {
                slots.release();
                String problem = failure != null ? "no HTTP answer (" + failure + ")" : checkHttp(message, response);
                if (problem != null) {
                    problems.add("HTTP " + problem + ": " + message);
                }
            }));
        }
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).handle((ignored, failure) -> null).join();
    }

    /** Null when the answer is right for the message, else what is wrong with it. */
    private static String checkHttp(Message message, HttpResponse<String> response) {
        int status = response.statusCode();
        String body = response.body();
        if (status >= 500) {
            return status + " for a client's mistake: " + abbreviate(body);
        }
        if (body.getBytes(StandardCharsets.UTF_8).length > MAX_RESULT_BYTES) {
            return status + " with a body of " + body.length() + " characters";
        }
        Expect outcome = message.outcome();
        if (status >= 400) {
            JsonNode error;
            try {
                error = TopicClient.json().readTree(body);
            } catch (java.io.IOException e) {
                return status + " with a body that is not JSON: " + abbreviate(body);
            }
            if (error == null || !error.path("code").isTextual() || !error.path("message").isTextual()) {
                return status + " without {code, message}: " + abbreviate(body);
            }
            if (error.path("message").asText().length() > MAX_ERROR_CHARS) {
                return status + " with an error message of " + error.path("message").asText().length() + " characters";
            }
            if (outcome == Expect.DECODED && DECODER_REFUSALS.contains(error.path("code").asText())) {
                return status + " refused at a limit, not past it: " + abbreviate(body);
            }
            return null;
        }
        if (outcome == Expect.DEAD_LETTER || outcome == Expect.REJECTED) {
            return status + " for a request that must be refused: " + abbreviate(body);
        }
        return status == 200 ? null : status + " is not an answer: " + abbreviate(body);
    }

    /** Exactly one result of at most 64 KB, with the status the message calls for. */
    private static void checkResult(Message message, List<Received> copies, List<String> problems) {
        if (copies.size() != 1) {
            problems.add(copies.size() + " results (exactly 1 expected) for " + message);
            return;
        }
        Received result = copies.get(0);
        if (result.value().length > MAX_RESULT_BYTES) {
            problems.add("a result of " + result.value().length + " bytes for " + message);
            return;
        }
        JsonNode json = result.json();
        String status = json.path("status").asText();
        String code = json.path("error").path("code").asText("");
        String error = json.path("error").path("message").asText("");
        if (!message.readableId().equals(json.path("id").asText())) {
            problems.add("a result under another id: " + result);
        } else if (error.length() > MAX_ERROR_CHARS) {
            problems.add("an error message of " + error.length() + " characters for " + message);
        } else if (status.equals("FAILED")) {
            problems.add("FAILED (our fault) for a client's message: " + code + " " + error + " for " + message);
        } else if (message.outcome() == Expect.REJECTED && (!status.equals("REJECTED") || code.isBlank() || error.isBlank())) {
            problems.add("not REJECTED with a reason: " + abbreviate(json.toString()) + " for " + message);
        } else if (message.outcome() == Expect.DECODED && DECODER_REFUSALS.contains(code)) {
            problems.add("refused at a limit, not past it: " + code + " " + error + " for " + message);
        }
    }

    /** Exactly one dead letter with the original bytes and the reason in its headers. */
    private static void checkDeadLetter(Message message, List<Received> letters, List<String> problems) {
        if (letters.size() != 1) {
            problems.add(letters.size() + " dead letters (exactly 1 expected) for " + message);
            return;
        }
        Received letter = letters.get(0);
        byte[] original = message.value() == null ? new byte[0] : message.value();
        if (!Arrays.equals(original, letter.value() == null ? new byte[0] : letter.value())) {
            problems.add("a dead letter without the original bytes for " + message);
        } else if (blank(letter.header("steergate-error-code")) || blank(letter.header("steergate-error-message"))) {
            problems.add("a dead letter without its reason: " + letter.headers() + " for " + message);
        } else if (letter.header("steergate-error-message").length() > MAX_ERROR_CHARS) {
            problems.add("a dead letter's reason of " + letter.header("steergate-error-message").length() + " characters");
        }
    }

    private static void once(String topic, String key, Map<String, List<Received>> letters, List<String> problems) {
        int copies = letters.getOrDefault(key, List.of()).size();
        if (copies != 1) {
            problems.add(copies + " records (exactly 1 expected) on " + topic + " for the forged record " + key);
        }
    }

    // ---- forged internal records --------------------------------------------------------------------------------

    /** What the forged records of a run should have caused. */
    private static final class Forged {
        final Set<String> jobResultLetters = new HashSet<>();
        final Set<String> jobLetters = new HashSet<>();
        final Set<String> retrainingLetters = new HashSet<>();
        /** Request ids no request ever had: nothing may be published for them. */
        final Set<String> neverAnswered = new HashSet<>();
        int count;
    }

    /**
     * Forged records on the internal topics: job results the gateway cannot read (dead-lettered), for unknown ids
     * (ignored) and for requests already answered (ignored: still one result each); jobs the worker cannot read
     * (dead-lettered) or cannot generate; garbage and unknown jobs for the trainer (dead-lettered).
     */
    private static void forge(int batch, SplittableRandom random, Forged forged, List<Message> sentOverKafka) {
        for (int n = 0; n < 9; n++) {
            String key = "fjr-b" + batch + "-" + n;
            byte[] body = switch (n) {
                case 0 -> utf8("{\"requestId\":\"" + key + "\",\"status\":null,\"text\":\"x\"}");
                case 1 -> utf8("{\"status\":\"COMPLETED\",\"text\":\"x\"}");
                case 2 -> utf8("{\"requestId\":\"" + key + "\",\"status\":\"BOGUS\"}");
                case 3 -> utf8("{\"requestId\":[1],\"status\":\"COMPLETED\"}");
                // ids no request can have: U+0000 (which PostgreSQL refuses) and a newline (which would split a log line)
                case 4 -> utf8("{\"requestId\":\"a\\u0000" + key + "\",\"status\":\"COMPLETED\",\"text\":\"x\"}");
                case 5 -> utf8("{\"requestId\":\"a\\n" + key + "\",\"status\":\"FAILED\"}");
                case 6 -> utf8("[\"" + key + "\"]");
                case 7 -> null;
                default -> randomBytes(random, 200);
            };
            send("steer.job-results", key, body);
            forged.jobResultLetters.add(key);
            forged.count++;
        }
        for (int n = 0; n < 3; n++) {
            String unknown = "fjr-unknown-b" + batch + "-" + n;
            send("steer.job-results", unknown, utf8("{\"requestId\":\"" + unknown + "\",\"status\":\"COMPLETED\",\"text\":\"forged\","
                    + "\"usage\":{\"promptTokens\":1,\"completionTokens\":1}}"));
            forged.neverAnswered.add(unknown);
            forged.count++;
        }
        // requests answered already: a forged outcome must not make a second result
        List<Message> answered = sentOverKafka.stream().filter(Message::readable).limit(200).toList();
        for (int n = 0; n < 3 && !answered.isEmpty(); n++) {
            String id = answered.get(random.nextInt(answered.size())).readableId();
            if (!results.records(r -> id.equals(r.key())).isEmpty()) {
                send("steer.job-results", id, utf8("{\"requestId\":\"" + id + "\",\"status\":\"COMPLETED\",\"text\":\"forged\"}"));
                forged.count++;
            }
        }
        for (int n = 0; n < 6; n++) {
            String key = "fj-b" + batch + "-" + n;
            byte[] body = switch (n) {
                case 0 -> randomBytes(random, 300);
                case 1 -> utf8("{\"requestId\":null,\"prompt\":\"x\"}");
                case 2 -> utf8("{\"requestId\":\"not an id!\",\"prompt\":\"x\"}");
                case 3 -> utf8("[1,2,3]");
                case 4 -> null;
                default -> utf8("{\"requestId\":\"" + key + "\",\"maxTokens\":\"many\"}");
            };
            send(TestModel.JOBS_TOPIC, key, body);
            forged.jobLetters.add(key);
            forged.count++;
        }
        // a job for a request that does not exist, which the worker cannot generate (topP 0): dead-lettered, and its
        // FAILED result is for nobody, which the gateway ignores
        String orphan = "fj-orphan-b" + batch;
        send(TestModel.JOBS_TOPIC, orphan, utf8(job(orphan, 0.0, "[]")));
        forged.jobLetters.add(orphan);
        forged.neverAnswered.add(orphan);
        forged.count++;
        for (int n = 0; n < 6; n++) {
            byte[] body = switch (n) {
                case 0 -> randomBytes(random, 100);
                case 1 -> utf8("{\"jobId\":\"not-a-uuid\"}");
                case 2 -> utf8("{\"jobId\":\"" + UUID.nameUUIDFromBytes(utf8("b" + batch)) + "\"}");
                case 3 -> null;
                case 4 -> utf8("[]");
                default -> utf8("{\"jobId\":null}");
            };
            String key = "fr-b" + batch + "-" + n;
            send("steer.retraining", key, body);
            forged.retrainingLetters.add(key);
            forged.count++;
        }
    }

    private static String job(String requestId, double topP, String plan) {
        return "{\"requestId\":\"" + requestId + "\",\"tenant\":\"acme\",\"model\":\"stories260K\",\"prompt\":\"Once upon a time\","
                + "\"maxTokens\":2,\"temperature\":0.0,\"topP\":" + topP + ",\"seed\":1,\"policy\":null,\"plan\":" + plan
                + ",\"acceptedAtMs\":" + System.currentTimeMillis() + "}";
    }

    // ---- sentinels, liveness, consumer groups ---------------------------------------------------------------------

    /** One valid request on each partition of steer.requests (behind whatever was sent there) and one over HTTP. */
    private static void sentinels(String label) throws Exception {
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int partition = 0; partition < PARTITIONS; partition++) {
            String id = PartitionKeys.keyFor("sentinel-" + label + "-p" + partition, partition, PARTITIONS);
            RecordMetadata sent = stack.topics.sendJson("steer.requests", id, GenerationRequests.of(id, "acme", "Once upon a time", 4, 0.0));
            assertEquals(partition, sent.partition(), "the sentinel key landed elsewhere");
            ids.put(id, partition);
        }
        String overHttp = "sentinel-" + label + "-http";
        HttpResponse<String> posted = http.post("/v1/generations",
                utf8(GenerationRequests.of(overHttp, "acme", "Once upon a time", 4, 0.0).toString()), HTTP_TIMEOUT);
        assertEquals(200, posted.statusCode(), () -> "the HTTP sentinel " + overHttp + ": " + posted.body());
        for (var sentinel : ids.entrySet()) {
            JsonNode result = awaitResult(sentinel.getKey());
            assertEquals("COMPLETED", result.path("status").asText(),
                    () -> "the sentinel on partition " + sentinel.getValue() + ": " + result);
        }
    }

    private static JsonNode awaitResult(String id) {
        try {
            return results.await(r -> id.equals(r.key()), 1, WAIT).get(0).json();
        } catch (AssertionError e) {
            throw new AssertionError("no result for " + id + " within " + WAIT + "; the application: " + app.health(), e);
        }
    }

    private static void assertLive(String when) {
        String problem = liveness.check();
        assertTrue(problem == null, () -> "liveness " + when + ": " + problem);
        assertTrue(app.isAlive(), () -> "the application " + when + ": " + app.health());
    }

    /** Waits until the consumer group has committed every record of every topic it consumes. */
    private static void awaitCaughtUp(String group) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafka.bootstrapServers()))) {
            String behind = "";
            while (System.nanoTime() < deadline) {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                        .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
                Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
                committed.keySet().forEach(partition -> latest.put(partition, OffsetSpec.latest()));
                var ends = admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
                behind = "";
                for (var end : ends.entrySet()) {
                    OffsetAndMetadata offset = committed.get(end.getKey());
                    if (offset == null || offset.offset() < end.getValue().offset()) {
                        behind += " " + end.getKey() + " at " + (offset == null ? "none" : offset.offset()) + " of " + end.getValue().offset();
                    }
                }
                if (!committed.isEmpty() && behind.isEmpty()) {
                    return;
                }
                Thread.sleep(500);
            }
            throw new AssertionError("consumer group " + group + " did not get past every record:" + behind + "; " + app.health());
        }
    }

    /** Waits until every key has at least one record on the tail; returns the records by key. */
    private static Map<String, List<Received>> awaitKeys(TopicClient.Tail tail, Set<String> keys, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            Map<String, List<Received>> seen = byKey(tail.records(r -> keys.contains(r.key())));
            if (seen.keySet().containsAll(keys)) {
                return seen;
            }
            if (System.nanoTime() > deadline) {
                Set<String> missing = new HashSet<>(keys);
                missing.removeAll(seen.keySet());
                throw new AssertionError(missing.size() + " of " + keys.size() + " " + what + " missing after " + WAIT
                        + ", e.g. " + missing.stream().limit(10).toList() + "; the application: " + app.health());
            }
            Thread.sleep(1_000);
        }
    }

    private static Map<String, List<Received>> byKey(List<Received> records) {
        Map<String, List<Received>> byKey = new HashMap<>();
        records.forEach(r -> byKey.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r));
        return byKey;
    }

    // ---- the findings of issue 8, one test each -------------------------------------------------------------------

    @Test
    void nulInAFieldNameOnKafkaIsRejectedNamingItAndTheNextRequestOnItsPartitionCompletes() {
        String id = "p1-kafka";
        int partition = PartitionKeys.partitionOf(id, PARTITIONS);
        send("steer.requests", id, utf8("{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"x\",\"\\u0000\":1}"));
        String next = PartitionKeys.keyFor("p1-next", partition, PARTITIONS);
        stack.topics.sendJson("steer.requests", next, GenerationRequests.of(next, "acme", "Once upon a time", 4, 0.0));

        JsonNode rejected = awaitResult(id);
        assertEquals("REJECTED", rejected.path("status").asText(), rejected::toString);
        assertEquals("INVALID_REQUEST", rejected.path("error").path("code").asText(), rejected::toString);
        assertEquals("\\u0000: unknown field", rejected.path("error").path("message").asText(), "the field, escaped");
        JsonNode completed = awaitResult(next);
        assertEquals("COMPLETED", completed.path("status").asText(), completed::toString);
    }

    @Test
    void nulInAFieldNameOverHttpIsAnswered400WithoutBeingHeld() throws Exception {
        // the client's timeout is far below the gateway's 60 s HTTP wait: an answer inside it was not held
        HttpResponse<String> response = http.post("/v1/generations",
                utf8("{\"id\":\"p1-http\",\"tenant\":\"acme\",\"prompt\":\"x\",\"\\u0000\":1}"), Duration.ofSeconds(20));

        assertEquals(400, response.statusCode(), response::body);
        JsonNode error = TopicClient.json().readTree(response.body());
        assertEquals("INVALID_REQUEST", error.path("code").asText(), response::body);
        assertEquals("\\u0000: unknown field", error.path("message").asText(), response::body);
    }

    @Test
    void aRequestWith40000UnknownFieldsIsRejectedWithAMessageOfAtMost1000Characters() throws Exception {
        String id = "wide-40000";
        StringBuilder body = new StringBuilder("{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"x\"");
        for (int i = 0; i < 40_000; i++) {
            body.append(",\"field-").append(i).append("\":1");
        }
        byte[] bytes = utf8(body.append('}').toString());
        assertTrue(bytes.length > 600_000 && bytes.length < 700_000, "about 600 KB: " + bytes.length);
        send("steer.requests", id, bytes);

        Received record = results.await(r -> id.equals(r.key()), 1, WAIT).get(0);
        JsonNode result = record.json();
        assertEquals("REJECTED", result.path("status").asText(), () -> abbreviate(result.toString()));
        String message = result.path("error").path("message").asText();
        assertTrue(message.length() <= MAX_ERROR_CHARS, () -> message.length() + " characters");
        assertTrue(message.contains("field-0: unknown field") && message.contains("and 39995 more unknown fields"), message);
        assertTrue(record.value().length < 2_000, "the published result: " + record.value().length + " bytes");
        assertStoredBounded(id, 2_000);
    }

    @Test
    void sixtyThousandRepeatedStylesAreRejectedByTheCapAndNothingLargeIsStored() throws Exception {
        String id = "styles-60000";
        String styles = String.join(",", Collections.nCopies(60_000, "\"a\""));
        byte[] bytes = utf8("{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"x\",\"styles\":[" + styles + "]}");
        assertTrue(bytes.length > 240_000, "about 240 KB: " + bytes.length);
        send("steer.requests", id, bytes);

        JsonNode result = awaitResult(id);
        assertEquals("REJECTED", result.path("status").asText(), () -> abbreviate(result.toString()));
        assertEquals("styles: at most 16 entries, got 60000", result.path("error").path("message").asText());
        assertStoredBounded(id, 2_000);
    }

    @Test
    void aForgedJobResultWithNullStatusIsDeadLetteredAndTheGatewayKeepsServing() {
        String key = "forged-null-status";
        send("steer.job-results", key, utf8("{\"requestId\":\"" + key + "\",\"status\":null,\"text\":\"x\"}"));

        Received letter = jobResultsDlq.await(r -> key.equals(r.key()), 1, WAIT).get(0);
        assertTrue(letter.text().contains("\"status\":null"), "the original bytes: " + letter);
        assertFalse(blank(letter.header("steergate-error-code")), letter::toString);
        assertTrue(letter.header("steergate-error-message").contains("status"), letter::toString);
        // a request whose job result lands on the partition of steer.job-results the forged record was on
        String next = PartitionKeys.keyFor("after-null-status", PartitionKeys.partitionOf(key, PARTITIONS), PARTITIONS);
        stack.topics.sendJson("steer.requests", next, GenerationRequests.of(next, "acme", "Once upon a time", 4, 0.0));
        assertEquals("COMPLETED", awaitResult(next).path("status").asText());
    }

    @Test
    void aForgedJobWithStrength5IsDeadLetteredByTheWorkerWhichKeepsServing() {
        String id = "forged-strength-5";
        send(TestModel.JOBS_TOPIC, id, utf8(job(id, 1.0, "[{\"intervention\":\"kindness\",\"version\":1,\"strength\":5}]")));

        Received letter = jobsDlq.await(r -> id.equals(r.key()), 1, WAIT).get(0);
        assertTrue(letter.text().contains("\"strength\":5"), "the original bytes: " + letter);
        assertFalse(blank(letter.header("steergate-error-code")), letter::toString);
        assertTrue(letter.header("steergate-error-message").contains("strength"), letter::toString);
        String next = "after-strength-5";
        stack.topics.sendJson("steer.requests", next, GenerationRequests.of(next, "acme", "Once upon a time", 4, 0.0));
        assertEquals("COMPLETED", awaitResult(next).path("status").asText());
        assertTrue(results.records(r -> id.equals(r.key())).isEmpty(), "a forged job's outcome was published");
    }

    /** The stored row, its audit record and its decision trace are each at most {@code maxChars}. */
    private static void assertStoredBounded(String id, int maxChars) throws SQLException {
        try (Connection db = DriverManager.getConnection(stack.postgres.jdbcUrl(), stack.postgres.username(), stack.postgres.password())) {
            Map<String, Integer> sizes = new LinkedHashMap<>();
            query(db, "select length(result_json), length(request_json), length(decision_trace_json) from generations where request_id = ?",
                    id, "generations", sizes);
            query(db, "select length(error_message), length(decision_trace_json), length(applied_json) from audit_records where request_id = ?",
                    id, "audit_records", sizes);
            assertNotNull(sizes.get("generations.1"), "no stored row for " + id + ": " + sizes);
            assertNotNull(sizes.get("audit_records.1"), "no audit record for " + id + ": " + sizes);
            for (var size : sizes.entrySet()) {
                assertTrue(size.getValue() == null || size.getValue() <= maxChars, "stored " + sizes);
            }
        }
    }

    private static void query(Connection db, String sql, String id, String table, Map<String, Integer> sizes) throws SQLException {
        try (PreparedStatement statement = db.prepareStatement(sql)) {
            statement.setString(1, id);
            try (ResultSet rows = statement.executeQuery()) {
                int row = 0;
                while (rows.next()) {
                    row++;
                    for (int column = 1; column <= 3; column++) {
                        int length = rows.getInt(column);
                        sizes.put(table + "." + column + (row > 1 ? "#" + row : ""), rows.wasNull() ? null : length);
                    }
                }
            }
        }
    }

    // ---- small things ---------------------------------------------------------------------------------------------

    private static byte[] randomBytes(SplittableRandom random, int maxLength) {
        byte[] bytes = new byte[1 + random.nextInt(maxLength)];
        random.nextBytes(bytes);
        return bytes;
    }

    private static List<Message> concat(List<Message> a, List<Message> b) {
        List<Message> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String abbreviate(String text) {
        return text == null || text.length() <= 300 ? text : text.substring(0, 300) + "... (" + text.length() + " chars)";
    }

    private static boolean blank(String text) {
        return text == null || text.isBlank();
    }
}
