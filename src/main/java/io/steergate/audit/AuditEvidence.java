package io.steergate.audit;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Checks a tenant's audit chain against the database, and exports it as a signed bundle ({@link AuditBundle}). Both
 * stop at the chain's head as read when they start (an export: when it is asked for), so records appended meanwhile
 * neither count as missing nor as extra: a verify walks in one read-only snapshot; an export reads a page per
 * transaction and writes it to its client between them (records up to that head never change: V1's trigger keeps
 * audit_records append-only, and a change behind it shows when the bundle is checked).
 */
@ApplicationScoped
public class AuditEvidence {

    private static final Logger LOG = Logger.getLogger(AuditEvidence.class);
    private static final int PAGE = 500;
    /** A verify of a long chain runs in one snapshot: give it time. */
    private static final Duration VERIFY_TIMEOUT = Duration.ofHours(1);

    /**
     * Chain walks (verifies and exports) running at once in this process. A verify holds a pooled connection and a
     * snapshot for its whole walk; an export one page at a time, but it reads the whole chain, as fast as its client.
     */
    @ConfigProperty(name = "steergate.audit.max-concurrent-walks", defaultValue = "2")
    int maxWalks;

    private Semaphore walks;

    @PostConstruct
    void limitWalks() {
        walks = new Semaphore(maxWalks);
    }

    @Inject
    EntityManager em;

    @Inject
    AuditSigningKey signingKey;

    /**
     * A chain's head as stored (null fields when the tenant never had a record) and the records the table holds under
     * its key, read in one snapshot. Each append adds a record and counts it in the head in one transaction, so the
     * two agree unless rows were added or the head changed behind the application's back.
     */
    private record Head(Long records, Long lastId, String lastHash, long stored) {
        long counted() {
            return records == null ? 0 : records;
        }
    }

    /**
     * @param tenant the tenant; "" for the chain of records without a tenant
     */
    public AuditChain.Check verify(String tenant) {
        String key = chainKey(tenant);
        startWalk();
        AuditChain.Check check;
        try {
            check = QuarkusTransaction.requiringNew().timeout((int) VERIFY_TIMEOUT.toSeconds()).call(() -> {
                Head head = snapshot(key);
                AuditChain.Walker walker = new AuditChain.Walker(key.isEmpty() ? null : key);
                walk(after -> page(key, after, Long.MAX_VALUE), walker::accept);
                AuditChain.Check walked = walker.finish(head.counted(), head.lastId(), head.lastHash());
                return walked.ok() && head.stored() != walked.records() ? outsideTheChain(key, walked, head.stored()) : walked;
            });
        } finally {
            walks.release();
        }
        if (!check.ok()) {
            // evidence of tampering (or of a fault): worth an operator's attention; the reason names ids, not content
            LOG.warnf("audit chain of tenant '%s' is broken at record %s: %s", key, check.firstBrokenId(), check.reason());
        }
        return check;
    }

    /**
     * The bundle of the tenant's chain as it stands now (its head's record count), to be written once. Its walk is
     * counted from now until it has been written (or failed), or until {@link Export#abandon()} when it never is.
     *
     * @throws ApiError 429 when {@code steergate.audit.max-concurrent-walks} walks are running; 409 when the chain's
     *                  head disagrees with the records the table holds for it
     */
    public Export export(String tenant) {
        String key = chainKey(tenant);
        startWalk();
        try {
            Head head = QuarkusTransaction.requiringNew().call(() -> snapshot(key));
            if (head.stored() != head.counted()) {
                // a bundle signed now would vouch for a chain the table contradicts (its newest records hidden by a
                // head moved back, or records outside the chain): nothing is signed until verify is clean
                LOG.warnf("audit export of tenant '%s' refused: its chain's head counts %d records, the table holds %d",
                        key, head.counted(), head.stored());
                throw new ApiError(409, ErrorCode.CONFLICT, "audit chain of tenant '" + key + "': its head counts "
                        + head.counted() + " records but the table holds " + head.stored() + "; nothing was exported"
                        + " (GET /v1/audit/verify names the problem)");
            }
            return new Export(key, head);
        } catch (RuntimeException refused) {
            walks.release();
            throw refused;
        }
    }

    /**
     * An export's body, holding a walk's place. The place is given back once: after the body is written, or when the
     * request ends with it unwritten (a HEAD, whose body is never written; a client gone before the body).
     */
    public final class Export implements StreamingOutput {
        private static final int HELD = 0;
        private static final int WRITING = 1;
        private static final int GIVEN_BACK = 2;

        private final String key;
        private final Head head;
        private final AtomicInteger state = new AtomicInteger(HELD);

        private Export(String key, Head head) {
            this.key = key;
            this.head = head;
        }

        @Override
        public void write(OutputStream out) throws IOException {
            if (!state.compareAndSet(HELD, WRITING)) {
                throw new IOException("audit export of '" + key + "': its request has already ended");
            }
            try {
                AuditEvidence.this.write(key, head, out);
            } finally {
                state.set(GIVEN_BACK);
                walks.release();
            }
        }

        /** Gives the place back if the body's writing never began; a body being written gives it back itself. */
        public void abandon() {
            if (state.compareAndSet(HELD, GIVEN_BACK)) {
                walks.release();
            }
        }
    }

    private void startWalk() {
        if (!walks.tryAcquire()) {
            throw new ApiError(429, ErrorCode.UNAVAILABLE, "audit: " + maxWalks + " chain verifies or exports are running"
                    + " (steergate.audit.max-concurrent-walks); try again when one has finished");
        }
    }

    /** Writes to the client outside any transaction: a client that reads slowly holds no pooled connection. */
    private void write(String key, Head head, OutputStream out) throws IOException {
        long records = head.counted();
        AuditBundle.Writer writer = new AuditBundle.Writer(out);
        writer.line(new AuditBundle.Header(AuditBundle.FORMAT, AuditChain.FORMAT_V2, key.isEmpty() ? null : key,
                records, head.lastHash() == null ? AuditChain.GENESIS : head.lastHash(), Instant.now().toString()));
        walk(after -> QuarkusTransaction.requiringNew().call(() -> page(key, after, records)), writer::line);
        writer.sign(signingKey);
    }

    /** Validates the tenant parameter; the chain key of records without a tenant is "". */
    static String chainKey(String tenant) {
        if (tenant == null) {
            throw ApiError.badField("tenant", "required (empty for the records without a tenant)");
        }
        if (!tenant.isEmpty() && !AuditQuery.TENANT.matcher(tenant).matches()) {
            throw ApiError.badField("tenant", "must be 1-64 characters of [a-z0-9-]");
        }
        return tenant;
    }

    /** Starts the snapshot (the transaction's first statement) and reads the chain's head in it. */
    private Head snapshot(String key) {
        em.createNativeQuery("set transaction isolation level repeatable read, read only").executeUpdate();
        @SuppressWarnings("unchecked")
        List<Object[]> rows = em.createNativeQuery("select records, last_id, last_hash from audit_chain_heads where tenant = :t")
                .setParameter("t", key).getResultList();
        long stored = ((Number) em.createNativeQuery("select count(*) from audit_records where coalesce(tenant, '') = :k")
                .setParameter("k", key).getSingleResult()).longValue();
        if (rows.isEmpty()) {
            return new Head(null, null, null, stored);
        }
        Object[] row = rows.get(0);
        return new Head(((Number) row[0]).longValue(), row[1] == null ? null : ((Number) row[1]).longValue(), (String) row[2],
                stored);
    }

    /**
     * The check of a chain whose walk was whole while the table holds more records under its key: rows at positions
     * below 1, which no walk reads (V23 refuses new ones; one added before it stays).
     */
    private AuditChain.Check outsideTheChain(String key, AuditChain.Check walked, long stored) {
        List<?> first = em.createNativeQuery("select id from audit_records where coalesce(tenant, '') = :k and chain_seq < 1"
                + " order by id limit 1").setParameter("k", key).getResultList();
        Long id = first.isEmpty() ? null : ((Number) first.get(0)).longValue();
        return new AuditChain.Check(walked.tenant(), walked.records(), false, id, (stored - walked.records())
                + " record(s) of this chain are stored outside its positions 1-" + walked.records()
                + (id == null ? "" : ", the first record " + id) + " (added behind the application's back)");
    }

    /** A page of records after a chain position. */
    private interface Pages {
        List<AuditEntry> after(long seq);
    }

    /** Where a walk's records go, in chain order. */
    private interface Entries<E extends Exception> {
        void accept(AuditEntry entry) throws E;
    }

    /** Feeds every record {@code pages} gives to {@code entries}, a page at a time, until a page is not full. */
    private static <E extends Exception> void walk(Pages pages, Entries<E> entries) throws E {
        long after = 0;
        List<AuditEntry> page;
        do {
            page = pages.after(after);
            for (AuditEntry entry : page) {
                entries.accept(entry);
                after = entry.seq();
            }
        } while (page.size() == PAGE);
    }

    /** Up to {@value #PAGE} of the chain's records after position {@code after} and up to {@code maxSeq}, in chain order. */
    private List<AuditEntry> page(String key, long after, long maxSeq) {
        @SuppressWarnings("unchecked")
        List<AuditRecord> rows = em.createNativeQuery("select * from audit_records where coalesce(tenant, '') = :k"
                        + " and chain_seq > :after and chain_seq <= :max order by chain_seq limit :n", AuditRecord.class)
                .setParameter("k", key).setParameter("after", after).setParameter("max", maxSeq)
                .setParameter("n", PAGE).getResultList();
        List<AuditEntry> page = rows.stream().map(AuditRecord::entry).toList();
        em.clear();
        return page;
    }
}
