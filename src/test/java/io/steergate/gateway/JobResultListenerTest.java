package io.steergate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.JobResult;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The job-results listener alone: which records it completes and which it dead-letters, with a recording service. */
class JobResultListenerTest {

    /** Records what the listener asks of the service instead of touching a database. */
    static final class RecordingService extends GenerationService {
        final List<String> completed = new ArrayList<>();
        final List<ErrorInfo> deadLettered = new ArrayList<>();

        @Override
        public void complete(JobResult outcome) {
            completed.add(outcome.requestId());
        }

        @Override
        public void deadLetter(String topic, byte[] raw, String key, ErrorInfo error) {
            assertEquals("steer.job-results.dlq", topic);
            deadLettered.add(error);
        }
    }

    final RecordingService service = new RecordingService();
    final JobResultListener listener = listener(service);

    static JobResultListener listener(GenerationService service) {
        JobResultListener listener = new JobResultListener();
        listener.generations = service;
        listener.json = new ObjectMapper();
        listener.metrics = new SimpleMeterRegistry();
        listener.config = (GatewayConfig) Proxy.newProxyInstance(GatewayConfig.class.getClassLoader(),
                new Class<?>[] {GatewayConfig.class}, (proxy, method, args) -> {
                    if (method.getName().equals("jobResultsDlqTopic")) {
                        return "steer.job-results.dlq";
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        return listener;
    }

    static ConsumerRecord<String, byte[]> record(String json) {
        return new ConsumerRecord<>("steer.job-results", 0, 7, "key", json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aJobResultWithAValidIdIsCompleted() {
        listener.onJobResult(record("{\"requestId\":\"req-1\",\"status\":\"COMPLETED\",\"text\":\"x\"}"));

        assertEquals(List.of("req-1"), service.completed);
        assertEquals(List.of(), service.deadLettered);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a\\nb", "a\\u0000b", "a b", ""})
    void aJobResultForAnIdNoRequestCanHaveIsDeadLetteredWithoutALookup(String requestId) {
        listener.onJobResult(record("{\"requestId\":\"" + requestId + "\",\"status\":\"COMPLETED\",\"text\":\"x\"}"));

        assertEquals(List.of(), service.completed, "no lookup: PostgreSQL refuses U+0000, and logs must not carry it");
        assertEquals(1, service.deadLettered.size());
        assertEquals("job result steer.job-results-0@7 not a JobResult: requestId must be 1-128 characters of [A-Za-z0-9._:-]",
                service.deadLettered.get(0).message());
    }

    @Test
    void aJobResultWithAnIdLongerThanTheContractIsDeadLettered() {
        listener.onJobResult(record("{\"requestId\":\"" + "x".repeat(100_000) + "\",\"status\":\"FAILED\"}"));

        assertEquals(List.of(), service.completed);
        assertEquals(1, service.deadLettered.size());
        assertTrue(service.deadLettered.get(0).message().length() < 200, service.deadLettered.get(0).message());
    }
}
