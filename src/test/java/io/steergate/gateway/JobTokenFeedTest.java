package io.steergate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.messages.JobTokens;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** The gateway's token feed against Kafka's MockConsumer: where pieces go, which are kept, and what is forgotten. */
class JobTokenFeedTest {

    static final String TOPIC = "steer.job-tokens";
    static final ObjectMapper JSON = new ObjectMapper();

    final JobTokenFeed feed = feed(512);
    long offset;

    static JobTokenFeed feed(int maxTokens) {
        JobTokenFeed feed = new JobTokenFeed();
        feed.json = JSON;
        feed.metrics = new SimpleMeterRegistry();
        feed.config = (GatewayConfig) Proxy.newProxyInstance(JobTokenFeedTest.class.getClassLoader(),
                new Class<?>[] {GatewayConfig.class}, (proxy, method, args) -> {
                    if (method.getName().equals("jobTokensTopic")) {
                        return TOPIC;
                    }
                    if (method.getName().equals("httpWait")) {
                        return Duration.ofSeconds(60);
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        feed.limits = (LimitsConfig) Proxy.newProxyInstance(JobTokenFeedTest.class.getClassLoader(),
                new Class<?>[] {LimitsConfig.class}, (proxy, method, args) -> {
                    if (method.getName().equals("maxTokens")) {
                        return maxTokens;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        return feed;
    }

    ConsumerRecord<String, byte[]> piece(String jobKey, int index, int tokens, String text) throws Exception {
        return new ConsumerRecord<>(TOPIC, 0, offset++, jobKey, JSON.writeValueAsBytes(new JobTokens(jobKey, index, tokens, text)));
    }

    TokenStream expected(String jobKey) {
        feed.expect(jobKey);
        return feed.attach(jobKey).orElseThrow();
    }

    @Test
    void piecesReachTheirRequestsStreamPerAttemptAndOthersAreDropped() throws Exception {
        TokenStream stream = expected("g42");
        feed.route(piece("g42", 0, 1, "Once"));
        feed.route(piece("g42.1", 0, 1, "Twice"));
        feed.route(piece("g42", 1, 2, " upon"));
        feed.route(piece("g7", 0, 1, "another gateway's"));
        feed.route(new ConsumerRecord<>(TOPIC, 0, offset++, "g42", "not json".getBytes()));
        feed.route(piece("not-a-job-key", 0, 1, "x"));

        assertEquals(Optional.of(List.of("Once", " upon")), stream.pieces(0));
        assertEquals(Optional.of(List.of("Twice")), stream.pieces(1), "an escalation attempt reaches the same stream");
        assertEquals(List.of(" upon"), stream.await(0, 1, Duration.ZERO));
        assertFalse(feed.holds("g7"));
        assertTrue(feed.attach("g42").isEmpty(), "one HTTP thread serves a stream");
    }

    @Test
    void aRepeatedPieceIsDroppedAndAMissingOneGapsTheAttempt() throws Exception {
        TokenStream stream = expected("g5");
        feed.route(piece("g5", 0, 1, "a"));
        feed.route(piece("g5", 1, 1, "b"));
        feed.route(piece("g5", 0, 1, "a")); // the job redelivered: the same tokens again
        feed.route(piece("g5", 1, 1, "b"));
        feed.route(piece("g5", 2, 1, "c"));
        assertEquals(Optional.of(List.of("a", "b", "c")), stream.pieces(0));

        feed.route(piece("g5", 4, 1, "e")); // token 3 lost
        feed.route(piece("g5", 3, 1, "d"));
        assertTrue(stream.gapped(0));
        assertEquals(Optional.empty(), stream.pieces(0), "a gapped attempt's text comes from the result");
        assertEquals(List.of(), stream.await(0, 0, Duration.ofMinutes(1)), "nothing more to wait for");
    }

    @Test
    void anAttemptLongerThanAnyRealOutputIsGapped() throws Exception {
        JobTokenFeed small = feed(1);
        small.expect("g9");
        TokenStream stream = small.attach("g9").orElseThrow();
        small.route(piece("g9", 0, 1, "x".repeat(GenerationService.MAX_CHARS_PER_TOKEN + 1)));
        assertTrue(stream.gapped(0));
    }

    @Test
    void unattachedStreamsAreSweptAndReleasedOnesForgotten() {
        feed.expect("g1");
        TokenStream attached = expected("g2");
        feed.sweep(System.nanoTime());
        assertTrue(feed.holds("g1"), "young: its HTTP thread may still come");
        feed.sweep(System.nanoTime() + JobTokenFeed.UNATTACHED.toNanos() + 1);
        assertFalse(feed.holds("g1"));
        assertTrue(feed.holds("g2"));
        feed.release(attached);
        assertFalse(feed.holds("g2"));

        expected("g3");
        feed.sweep(System.nanoTime() + Duration.ofSeconds(119).toNanos());
        assertTrue(feed.holds("g3"), "attached: its HTTP thread may wait up to http-wait");
        feed.sweep(System.nanoTime() + Duration.ofSeconds(121).toNanos());
        assertFalse(feed.holds("g3"), "a stream never released is forgotten after its longest life");
    }

    @Test
    void theFeedReadsEveryPartitionFromItsEnd() throws Exception {
        MockConsumer<String, byte[]> consumer = new MockConsumer<>("earliest");
        Node node = new Node(0, "localhost", 9092);
        consumer.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, node, null, null),
                new PartitionInfo(TOPIC, 1, node, null, null)));
        TopicPartition p0 = new TopicPartition(TOPIC, 0);
        TopicPartition p1 = new TopicPartition(TOPIC, 1);
        consumer.updateEndOffsets(Map.of(p0, 5L, p1, 0L));
        assertTrue(feed.assign(consumer));
        assertEquals(Set.of(p0, p1), consumer.assignment());
        assertEquals(5L, consumer.position(p0), "what was published before the gateway started is not read");

        TokenStream stream = expected("g3");
        offset = 5;
        consumer.addRecord(piece("g3", 0, 1, "Hello"));
        feed.pollOnce(consumer, Duration.ZERO);
        assertEquals(Optional.of(List.of("Hello")), stream.pieces(0));
    }
}
