package io.steergate.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.Identifiers;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.resilience.Failures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jboss.logging.Logger;

/** What both job loops read and write: a job from its record, its result's record, a dead letter with its reason. */
final class JobRecords {

    private static final Logger LOG = Logger.getLogger(JobRecords.class);

    /** The request id of docs/architecture.md 4.2: a job without a valid one cannot be answered, so it is dead-lettered. */
    private static final Pattern REQUEST_ID = Identifiers.REQUEST_ID;
    /**
     * A dead letter keeps at most this many of the original bytes (header steergate-truncated-from says how many there
     * were), so that a job too large for the DLQ's broker limit is still set aside with its reason.
     */
    static final int DEAD_LETTER_MAX_BYTES = 512 * 1024;

    /** A record that is not a job anyone can be answered for. */
    static final class Unreadable extends Exception {
        final ErrorInfo error;

        Unreadable(ErrorCode code, String message) {
            super(message, null, false, false);
            this.error = ErrorInfo.of(code, message);
        }
    }

    /** A job with the record it came in. */
    record Delivery(ConsumerRecord<String, byte[]> record, Job job) {}

    private final ObjectMapper json;
    private final String jobResultsTopic;
    private final String jobDlqTopic;

    JobRecords(ObjectMapper json, String jobResultsTopic, String jobDlqTopic) {
        this.json = json;
        this.jobResultsTopic = jobResultsTopic;
        this.jobDlqTopic = jobDlqTopic;
    }

    String jobDlqTopic() {
        return jobDlqTopic;
    }

    /**
     * The jobs among {@code records}, in order; each record that is not one goes to {@code letters} as a dead letter
     * with the reason.
     */
    List<Delivery> readable(List<ConsumerRecord<String, byte[]>> records, List<ProducerRecord<String, byte[]>> letters) {
        List<Delivery> jobs = new ArrayList<>(records.size());
        for (ConsumerRecord<String, byte[]> record : records) {
            try {
                jobs.add(new Delivery(record, decode(record.value())));
            } catch (Unreadable e) {
                letters.add(deadLetter(record, e.error));
                LOG.warnf("unreadable job at %s-%d@%d dead-lettered to %s: %s %s", record.topic(), record.partition(),
                        record.offset(), jobDlqTopic, e.error.code(), e.error.message());
            }
        }
        return jobs;
    }

    /** Why the delivery of a job at its attempt {@code attempt}, max-attempts or more, is dead-lettered. */
    static ErrorInfo attemptsUsedUp(JobLoop.Attempt attempt, int maxAttempts) {
        return ErrorInfo.of(ErrorCode.JOB_DEAD_LETTERED, "attempt " + attempt.count()
                + " of steergate.worker.max-attempts=" + maxAttempts + ": the earlier attempts ended without"
                + " a result (a failed batch or a worker that stopped while generating it); last error: "
                + (attempt.lastError() == null ? "none recorded" : attempt.lastError()));
    }

    Job decode(byte[] value) throws Unreadable {
        if (value == null) {
            throw new Unreadable(ErrorCode.NOT_JSON, "not a job: the record has no value");
        }
        Job job;
        try {
            job = json.readValue(value, Job.class);
        } catch (StreamReadException e) {
            throw new Unreadable(ErrorCode.NOT_JSON, "not JSON: " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw new Unreadable(ErrorCode.NOT_AN_OBJECT, "not a job: " + e.getOriginalMessage());
        } catch (IOException | RuntimeException e) {
            throw new Unreadable(ErrorCode.NOT_AN_OBJECT, "not a job: " + Failures.rootMessage(e));
        }
        if (job == null) {
            throw new Unreadable(ErrorCode.NOT_AN_OBJECT, "not a job: null");
        }
        if (job.requestId() == null || !REQUEST_ID.matcher(job.requestId()).matches()) {
            throw new Unreadable(ErrorCode.INVALID_ID, job.requestId() == null ? "requestId: missing"
                    : "requestId: must be 1-128 characters of [A-Za-z0-9._:-]");
        }
        return job;
    }

    ProducerRecord<String, byte[]> resultRecord(JobResult result) {
        try {
            return new ProducerRecord<>(jobResultsTopic, result.requestId(), json.writeValueAsBytes(result));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the result of job " + result.requestId() + " cannot be written as JSON", e);
        }
    }

    /** The original record, key and bytes, for the job DLQ with the reason in the headers the gateway's DLQ uses. */
    ProducerRecord<String, byte[]> deadLetter(ConsumerRecord<String, byte[]> record, ErrorInfo error) {
        byte[] value = record.value();
        boolean cut = value != null && value.length > DEAD_LETTER_MAX_BYTES;
        ProducerRecord<String, byte[]> letter = new ProducerRecord<>(jobDlqTopic, record.key(),
                cut ? Arrays.copyOf(value, DEAD_LETTER_MAX_BYTES) : value);
        letter.headers().add("steergate-error-code", error.code().getBytes(StandardCharsets.UTF_8));
        letter.headers().add("steergate-error-message", error.message().getBytes(StandardCharsets.UTF_8));
        if (cut) {
            letter.headers().add("steergate-truncated-from", String.valueOf(value.length).getBytes(StandardCharsets.UTF_8));
        }
        return letter;
    }
}
