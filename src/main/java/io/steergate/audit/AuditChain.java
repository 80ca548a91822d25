package io.steergate.audit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Objects;
import org.apache.commons.codec.digest.DigestUtils;

/**
 * The hash chain of a tenant's audit records (plain Java: the offline verifier uses it without a database).
 *
 * <p><b>Canonical form v1.</b> The canonical bytes of a record are its fields in this order, each encoded as
 * {@code 0x00} when null, else {@code 0x01}, the length of its UTF-8 bytes as a 4-byte big-endian integer, and those
 * bytes: the format tag {@code "steergate.audit/v1"}, id, tenant, chain position (seq), requestId, recordedAt (UTC,
 * {@code yyyy-MM-ddTHH:mm:ss.ffffffZ}, always six fraction digits: PostgreSQL keeps microseconds), status, modelName,
 * modelFingerprint, policyId, policyVersion, appliedJson, scoresJson, decisionTraceJson, outputText, errorCode,
 * errorMessage, queueMs, generateMs, totalMs. Numbers are decimal ASCII; JSON columns are their stored text.
 *
 * <p><b>Canonical form v2</b> (records written since V14): the format tag {@code "steergate.audit/v2"}, the same fields
 * as v1 in the same order, then attemptsJson (every generation attempt: rung, plan, scores, flagged scorers, outcome)
 * and counterfactualText (the unsteered continuation), encoded alike. Each record says its form (column
 * canonical_form, {@code form} in a bundle line); a form 1 record carries neither of the two fields, since its hash
 * would not cover them.
 *
 * <p><b>Chain.</b> {@code hash(n) = sha256(hash(n-1) || canonical(n))} over the raw 32-byte digests, written as
 * lowercase hex; {@code hash(0)} is 32 zero bytes. Positions run 1, 2, ... per tenant without gaps; records without a
 * tenant form one chain of their own. V9 computed the chains of records written before it with the same definition.
 */
public final class AuditChain {

    /** The tag of canonical form 1, and the chain format of export bundles written before form 2. */
    public static final String FORMAT = "steergate.audit/v1";
    /** The tag of canonical form 2, and the chain format of export bundles written since (records of both forms). */
    public static final String FORMAT_V2 = "steergate.audit/v2";
    public static final int FORM_V1 = 1;
    public static final int FORM_V2 = 2;
    /** The hash before the first record of a chain: 32 zero bytes. */
    public static final String GENESIS = "0".repeat(64);
    private static final DateTimeFormatter RECORDED_AT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final HexFormat HEX = HexFormat.of();

    private AuditChain() {}

    /** recordedAt as the canonical form writes it (nanoseconds beyond the microsecond are dropped, as PostgreSQL does). */
    public static String recordedAt(Instant instant) {
        return RECORDED_AT.format(instant);
    }

    /**
     * The canonical bytes of {@code e} in its own form.
     *
     * @throws IllegalArgumentException for a form other than 1 and 2, or a form 1 record with form 2 fields
     */
    public static byte[] canonical(AuditEntry e) {
        int form = e.canonicalForm();
        if (form != FORM_V1 && form != FORM_V2) {
            throw new IllegalArgumentException("record " + e.id() + " has unknown canonical form " + form);
        }
        if (form == FORM_V1 && (e.attemptsJson() != null || e.counterfactualText() != null)) {
            throw new IllegalArgumentException("record " + e.id() + " is in canonical form 1 but carries attempts or a"
                    + " counterfactual, which its hash does not cover");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        field(out, form == FORM_V1 ? FORMAT : FORMAT_V2);
        field(out, Long.toString(e.id()));
        field(out, e.tenant());
        field(out, Long.toString(e.seq()));
        field(out, e.requestId());
        field(out, e.recordedAt());
        field(out, e.status());
        field(out, e.modelName());
        field(out, e.modelFingerprint());
        field(out, e.policyId());
        field(out, e.policyVersion());
        field(out, e.appliedJson());
        field(out, e.scoresJson());
        field(out, e.decisionTraceJson());
        field(out, e.outputText());
        field(out, e.errorCode());
        field(out, e.errorMessage());
        field(out, e.queueMs() == null ? null : e.queueMs().toString());
        field(out, e.generateMs() == null ? null : e.generateMs().toString());
        field(out, e.totalMs() == null ? null : e.totalMs().toString());
        if (form == FORM_V2) {
            field(out, e.attemptsJson());
            field(out, e.counterfactualText());
        }
        return out.toByteArray();
    }

    /** The hash of {@code e} following {@code previousHash} (hex); e's own hash field is ignored. */
    public static String hash(String previousHash, AuditEntry e) {
        MessageDigest sha256 = sha256();
        sha256.update(HEX.parseHex(previousHash));
        sha256.update(canonical(e));
        return HEX.formatHex(sha256.digest());
    }

    private static void field(ByteArrayOutputStream out, String value) {
        if (value == null) {
            out.write(0);
            return;
        }
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        out.write(1);
        out.write(bytes.length >>> 24);
        out.write(bytes.length >>> 16);
        out.write(bytes.length >>> 8);
        out.write(bytes.length);
        out.write(bytes, 0, bytes.length);
    }

    static MessageDigest sha256() {
        return DigestUtils.getSha256Digest();
    }

    /**
     * The outcome of checking one chain: how many records were read, whether every link held, and the first record
     * that broke it (null when none, or when what is missing is the end of the chain) with the reason.
     */
    public record Check(String tenant, long records, boolean ok, Long firstBrokenId, String reason) {}

    /** Checks one tenant's records fed in chain order; the first break is kept, later records are only counted. */
    public static final class Walker {

        private final String tenant;
        private long records;
        private long expectedSeq = 1;
        private String previousHash = GENESIS;
        private long lastId;
        private Long brokenId;
        private String reason;

        /** @param tenant the chain's tenant; null for the chain of records without one */
        public Walker(String tenant) {
            this.tenant = tenant;
        }

        /** Checks the next record; returns false when this record is the first one that breaks the chain. */
        public boolean accept(AuditEntry e) {
            records++;
            if (reason != null) {
                return true;
            }
            if (!Objects.equals(tenant, e.tenant())) {
                return broken(e.id(), "record " + e.id() + " belongs to tenant " + e.tenant() + ", not to this chain");
            }
            if (e.seq() > expectedSeq) {
                String missing = e.seq() == expectedSeq + 1 ? "position " + expectedSeq
                        : "positions " + expectedSeq + "-" + (e.seq() - 1);
                return broken(e.id(), "chain " + missing + " missing before record " + e.id() + " (deleted)");
            }
            if (e.seq() < expectedSeq) {
                return broken(e.id(), "record " + e.id() + " claims chain position " + e.seq() + ", expected "
                        + expectedSeq + " (a duplicate or reordered record)");
            }
            String computed;
            try {
                computed = hash(previousHash, e);
            } catch (IllegalArgumentException unreadable) {
                return broken(e.id(), unreadable.getMessage());
            }
            if (e.hash() == null || !computed.equals(e.hash())) {
                return broken(e.id(), "record " + e.id() + " (position " + e.seq() + ") does not match its hash: its"
                        + " content was changed after it was written, or the record before it was replaced");
            }
            // AuditLog draws each id from the sequence after locking the chain's head, and V9 chained older records in
            // id order: a hash binds position, not order of writing, so an old id at a later position was put there by
            // hand (recordedAt is taken before the lock, so it is not checked for order)
            if (expectedSeq > 1 && e.id() <= lastId) {
                return broken(e.id(), "record " + e.id() + " (position " + e.seq() + ") has an id not above record "
                        + lastId + "'s before it: ids only increase along a chain (a record inserted with an old id)");
            }
            previousHash = e.hash();
            expectedSeq++;
            lastId = e.id();
            return true;
        }

        /**
         * The verdict, given what the chain's head says (or null when there is no head to compare with): records
         * deleted from the end of a chain are visible only there.
         */
        public Check finish(Long headRecords, Long headLastId, String headLastHash) {
            if (reason == null && headRecords != null) {
                long found = expectedSeq - 1;
                if (headRecords > found) {
                    broken(headLastId, "the chain has " + headRecords + " records but " + found + " were found: position"
                            + (headRecords - found > 1 ? "s " + (found + 1) + "-" + headRecords : " " + headRecords)
                            + " missing at the end (deleted)" + (headLastId == null ? "" : "; the last was record " + headLastId));
                } else if (headRecords < found) {
                    broken(lastId, "the chain's head counts " + headRecords + " records but " + found + " were found");
                } else if (headLastHash != null && !headLastHash.equals(previousHash)) {
                    broken(lastId, "the last record's hash differs from the chain's head");
                }
            }
            return new Check(tenant, records, reason == null, brokenId, reason);
        }

        private boolean broken(Long id, String why) {
            brokenId = id;
            reason = why;
            return false;
        }

    }
}
