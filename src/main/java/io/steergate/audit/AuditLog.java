package io.steergate.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.steergate.messages.GenerationResult;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.transaction.Transactional;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.hibernate.Session;

/**
 * Writes the audit record of an outcome, inside the transaction that makes the outcome durable, as the next link of
 * its tenant's hash chain ({@link AuditChain}). The chain's head row is locked first, so the records of one tenant are
 * appended one transaction at a time and concurrent workers cannot fork the chain; the lock is held to commit.
 */
@ApplicationScoped
public class AuditLog {

    /** Locks (creating it when new) the chain's head and draws the record's id in one round trip. */
    private static final String LOCK_HEAD = """
            insert into audit_chain_heads (tenant, records, last_hash) values (?, 0, ?)
            on conflict (tenant) do update set tenant = excluded.tenant
            returning records, last_hash, nextval(pg_get_serial_sequence('audit_records', 'id'))""";
    private static final String INSERT = """
            insert into audit_records (id, tenant, chain_seq, request_id, recorded_at, status, model_name,
                model_fingerprint, policy_id, policy_version, applied_json, scores_json, decision_trace_json, output_text,
                error_code, error_message, queue_ms, generate_ms, total_ms, canonical_form, attempts_json,
                counterfactual_text, hash)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""";
    private static final String ADVANCE_HEAD = "update audit_chain_heads set records = ?, last_id = ?, last_hash = ? where tenant = ?";

    @Inject
    ObjectMapper json;

    @Inject
    EntityManager em;

    private Timer appendTime;

    @Inject
    void meters(MeterRegistry metrics) {
        appendTime = Timer.builder("steergate.audit.append")
                .description("Appending an outcome's audit record to its tenant's chain, the wait for the chain's head lock "
                        + "(held by another transaction of the tenant to its commit) included")
                .register(metrics);
    }

    /**
     * Appends the record of an outcome in canonical form 2.
     *
     * @param result the outcome as published
     * @param decisionTraceJson how the policy decided (a JSON array of lines), or null when no policy was consulted
     * @param attemptsJson every generation attempt (JSON array), or null when nothing was generated
     * @param counterfactualText the unsteered continuation, or null when none was generated
     */
    @Transactional(Transactional.TxType.MANDATORY)
    public void record(GenerationResult result, String decisionTraceJson, String attemptsJson, String counterfactualText) {
        // PostgreSQL keeps microseconds: the hash must cover the instant as it will be read back
        Instant recordedAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        long start = System.nanoTime();
        em.unwrap(Session.class).doWork(connection -> append(connection, result.tenant(),
                (id, seq) -> entry(id, seq, recordedAt, result, decisionTraceJson, attemptsJson, counterfactualText)));
        appendTime.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }

    /** The record to append, once its id and its place in the chain are drawn (its hash is computed by append). */
    public interface Draft {
        AuditEntry at(long id, long seq);
    }

    /**
     * Appends one record to its tenant's chain on {@code connection}, inside the caller's transaction: locks the chain's
     * head (until that transaction ends), draws the id, hashes, inserts, advances the head.
     *
     * @return the record as stored, with its hash
     */
    public static AuditEntry append(Connection connection, String tenant, Draft draft) throws SQLException {
        String chainKey = chainKey(tenant);
        long seq;
        String previousHash;
        long id;
        try (PreparedStatement lock = connection.prepareStatement(LOCK_HEAD)) {
            lock.setString(1, chainKey);
            lock.setString(2, AuditChain.GENESIS);
            try (ResultSet head = lock.executeQuery()) {
                head.next();
                seq = head.getLong(1) + 1;
                previousHash = head.getString(2);
                id = head.getLong(3);
            }
        }
        AuditEntry entry = draft.at(id, seq);
        if (!Objects.equals(entry.tenant(), tenant)) {
            throw new IllegalArgumentException("a record of tenant " + entry.tenant() + " cannot join the chain of " + tenant);
        }
        entry = entry.withHash(AuditChain.hash(previousHash, entry));
        insert(connection, entry);
        try (PreparedStatement advance = connection.prepareStatement(ADVANCE_HEAD)) {
            advance.setLong(1, seq);
            advance.setLong(2, id);
            advance.setString(3, entry.hash());
            advance.setString(4, chainKey);
            advance.executeUpdate();
        }
        return entry;
    }

    /** The key of a tenant's chain in audit_chain_heads: records without a tenant share the key "". */
    static String chainKey(String tenant) {
        return tenant == null ? "" : tenant;
    }

    private AuditEntry entry(long id, long seq, Instant recordedAt, GenerationResult result, String decisionTraceJson,
            String attemptsJson, String counterfactualText) {
        String modelName = result.model() == null ? null : result.model().name();
        String modelFingerprint = result.model() == null ? null : result.model().fingerprint();
        String policyId = result.policy() == null ? null : result.policy().id();
        String policyVersion = result.policy() == null ? null : result.policy().version();
        String errorCode = result.error() == null ? null : result.error().code();
        String errorMessage = result.error() == null ? null : result.error().message();
        Long queueMs = result.timings() == null ? null : result.timings().queueMs();
        Long generateMs = result.timings() == null ? null : result.timings().generateMs();
        Long totalMs = result.timings() == null ? null : result.timings().totalMs();
        return new AuditEntry(id, result.tenant(), seq, result.id(), AuditChain.recordedAt(recordedAt),
                result.status().name(), modelName, modelFingerprint, policyId, policyVersion, write(result.applied()),
                write(result.scores()), decisionTraceJson, result.text(), errorCode, errorMessage, queueMs, generateMs,
                totalMs, AuditChain.FORM_V2, attemptsJson, counterfactualText, null);
    }

    private static void insert(Connection connection, AuditEntry e) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement(INSERT)) {
            int i = 0;
            insert.setLong(++i, e.id());
            insert.setString(++i, e.tenant());
            insert.setLong(++i, e.seq());
            insert.setString(++i, e.requestId());
            // the instant exactly as hashed
            insert.setObject(++i, OffsetDateTime.parse(e.recordedAt()));
            insert.setString(++i, e.status());
            insert.setString(++i, e.modelName());
            insert.setString(++i, e.modelFingerprint());
            insert.setString(++i, e.policyId());
            insert.setString(++i, e.policyVersion());
            insert.setString(++i, e.appliedJson());
            insert.setString(++i, e.scoresJson());
            insert.setString(++i, e.decisionTraceJson());
            insert.setString(++i, e.outputText());
            insert.setString(++i, e.errorCode());
            insert.setString(++i, e.errorMessage());
            setLong(insert, ++i, e.queueMs());
            setLong(insert, ++i, e.generateMs());
            setLong(insert, ++i, e.totalMs());
            insert.setInt(++i, e.canonicalForm());
            insert.setString(++i, e.attemptsJson());
            insert.setString(++i, e.counterfactualText());
            insert.setString(++i, e.hash());
            insert.executeUpdate();
        }
    }

    private static void setLong(PreparedStatement statement, int index, Long value) throws SQLException {
        if (value == null) {
            statement.setNull(index, Types.BIGINT);
        } else {
            statement.setLong(index, value);
        }
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("audit field must serialise as JSON", e);
        }
    }
}
