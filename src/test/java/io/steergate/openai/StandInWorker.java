package io.steergate.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.kafka.KafkaClientSettings;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationResult;
import io.steergate.messages.Job;
import io.steergate.messages.JobCancel;
import io.steergate.messages.JobResult;
import io.steergate.messages.JobTokens;
import io.steergate.messages.ModelRef;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * A worker for the streaming tests ({@link StreamingTestProfile} only): it answers the jobs of the model
 * {@value #MODEL} as a streaming worker does, over the real broker, with a text it can be told: one piece per token
 * ({@code " w<i>"}, or words of the meanness lexicon when the prompt says {@value #MEAN}), {@value #TOKEN_MS} ms apart,
 * then the JobResult (when the prompt says {@value #GAP}, piece 2 is never sent, as a piece lost on the way would be);
 * a JobCancel stops a job at its next token, answered FAILED CANCELLED with the text so far.
 */
@ApplicationScoped
public class StandInWorker {

    static final String MODEL = "stand-in";
    static final String ENABLED = "steergate.test.stand-in-worker";
    static final String MEAN = "MEAN";
    static final String GAP = "GAP";
    static final long TOKEN_MS = 20;
    private static final List<String> MEAN_WORDS = List.of(" stupid", " hate", " ugly", " mean");

    @Inject
    KafkaClientSettings kafka;

    @Inject
    ObjectMapper json;

    private final Set<String> cancelled = ConcurrentHashMap.newKeySet();
    private volatile boolean running;
    private Thread thread;

    void start(@Observes StartupEvent event) {
        if (!ConfigProvider.getConfig().getOptionalValue(ENABLED, Boolean.class).orElse(false)) {
            return;
        }
        running = true;
        thread = new Thread(this::run, "stand-in-worker");
        thread.setDaemon(true);
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.join(5_000);
        }
    }

    private void run() {
        String results = ConfigProvider.getConfig().getValue("steergate.worker.job-results-topic", String.class);
        String tokens = ConfigProvider.getConfig().getValue("steergate.gateway.job-tokens-topic", String.class);
        String cancels = ConfigProvider.getConfig().getValue("steergate.gateway.job-cancels-topic", String.class);
        try (KafkaConsumer<String, byte[]> jobs = new KafkaConsumer<>(kafka.consumer(Map.of(
                        ConsumerConfig.GROUP_ID_CONFIG, "stand-in-worker", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1)), new StringDeserializer(), new ByteArrayDeserializer());
                KafkaConsumer<String, byte[]> cancelReader = cancelReader(cancels);
                KafkaProducer<String, byte[]> producer = new KafkaProducer<>(kafka.reliableProducer("stand-in-worker", Map.of()),
                        new StringSerializer(), new ByteArraySerializer())) {
            jobs.subscribe(List.of("steer.jobs." + MODEL));
            while (running) {
                readCancels(cancelReader);
                for (ConsumerRecord<String, byte[]> record : jobs.poll(Duration.ofMillis(100))) {
                    Job job = json.readValue(record.value(), Job.class);
                    producer.send(new ProducerRecord<>(results, job.requestId(), json.writeValueAsBytes(
                            generate(job, producer, tokens, cancelReader)))).get();
                }
                jobs.commitSync();
            }
        } catch (Exception e) {
            if (running) {
                throw new IllegalStateException("stand-in worker failed", e);
            }
        }
    }

    private JobResult generate(Job job, KafkaProducer<String, byte[]> producer, String tokens,
            KafkaConsumer<String, byte[]> cancelReader) throws Exception {
        StringBuilder text = new StringBuilder();
        int promptTokens = job.prompt().split("\\s+").length;
        for (int i = 0; i < job.maxTokens(); i++) {
            Thread.sleep(TOKEN_MS);
            readCancels(cancelReader);
            if (cancelled.remove(job.requestId())) {
                return new JobResult(job.requestId(), GenerationResult.Status.FAILED, text.toString(), model(),
                        new GenerationResult.Usage(promptTokens, i), 0, i * TOKEN_MS,
                        ErrorInfo.of(ErrorCode.CANCELLED, "the client closed the stream after " + i + " tokens"), null);
            }
            String piece = job.prompt().contains(MEAN) ? MEAN_WORDS.get(i % MEAN_WORDS.size()) : " w" + i;
            text.append(piece);
            if (job.stream() && !(i == 2 && job.prompt().contains(GAP))) {
                producer.send(new ProducerRecord<>(tokens, job.requestId(), json.writeValueAsBytes(
                        new JobTokens(job.requestId(), i, 1, piece))));
            }
        }
        return new JobResult(job.requestId(), GenerationResult.Status.COMPLETED, text.toString(), model(),
                new GenerationResult.Usage(promptTokens, job.maxTokens()), 0, job.maxTokens() * TOKEN_MS, null,
                job.counterfactual() ? "unsteered" : null);
    }

    private KafkaConsumer<String, byte[]> cancelReader(String topic) {
        java.util.Properties props = kafka.consumer(Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false));
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = reader.partitionsFor(topic).stream()
                .map(info -> new TopicPartition(topic, info.partition())).toList();
        reader.assign(partitions);
        reader.seekToEnd(partitions);
        partitions.forEach(reader::position);
        return reader;
    }

    private void readCancels(KafkaConsumer<String, byte[]> reader) throws IOException {
        for (ConsumerRecord<String, byte[]> record : reader.poll(Duration.ZERO)) {
            cancelled.add(json.readValue(record.value(), JobCancel.class).requestId());
        }
    }

    private static ModelRef model() {
        return new ModelRef(MODEL, "stand-in");
    }
}
