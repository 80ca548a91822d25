package io.steergate.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The canonical form and the chain check, without a database. */
class AuditChainTest {

    static AuditEntry entry(long id, String tenant, long seq, String output) {
        return new AuditEntry(id, tenant, seq, "req-" + id, AuditChain.recordedAt(Instant.parse("2026-01-02T03:04:05.123456789Z")),
                "COMPLETED", "stories260K", "abc", "kids", "v1", "[]", "{\"meanness\":0.0}", null, output, null, null,
                3L, 40L, 45L, null);
    }

    /** A chain of n records of one tenant, hashed as AuditLog writes them. */
    static List<AuditEntry> chain(String tenant, int n) {
        List<AuditEntry> entries = new ArrayList<>();
        String previous = AuditChain.GENESIS;
        for (int i = 1; i <= n; i++) {
            AuditEntry e = entry(100 + i, tenant, i, "text " + i + " ü");
            e = e.withHash(AuditChain.hash(previous, e));
            previous = e.hash();
            entries.add(e);
        }
        return entries;
    }

    /** A form 2 record: one escalated attempt and a counterfactual. */
    static AuditEntry entryV2(long id, String tenant, long seq, String output) {
        return new AuditEntry(id, tenant, seq, "req-" + id, AuditChain.recordedAt(Instant.parse("2026-01-02T03:04:05.123456789Z")),
                "COMPLETED", "stories260K", "abc", "kids", "v1", "[]", "{\"meanness\":0.0}", null, output, null, null,
                3L, 40L, 45L, AuditChain.FORM_V2, ATTEMPTS, "the unsteered text " + id, null);
    }

    static final String ATTEMPTS = "[{\"rung\":0,\"plan\":[{\"intervention\":\"kindness\",\"version\":1,\"strength\":0.5}],"
            + "\"scores\":{\"meanness\":0.2},\"flagged\":[\"meanness\"],\"outcome\":\"flagged\",\"text\":\"mean\"},"
            + "{\"rung\":1,\"plan\":[{\"intervention\":\"kindness\",\"version\":1,\"strength\":1.0}],"
            + "\"scores\":{\"meanness\":0.0},\"flagged\":[],\"outcome\":\"passed\"}]";

    /** A chain of n records, form 1 for the first {@code v1} of them (written before V14), form 2 after. */
    static List<AuditEntry> mixedChain(String tenant, int n, int v1) {
        List<AuditEntry> entries = new ArrayList<>();
        String previous = AuditChain.GENESIS;
        for (int i = 1; i <= n; i++) {
            AuditEntry e = i <= v1 ? entry(100 + i, tenant, i, "text " + i) : entryV2(100 + i, tenant, i, "text " + i);
            e = e.withHash(AuditChain.hash(previous, e));
            previous = e.hash();
            entries.add(e);
        }
        return entries;
    }

    static AuditEntry with(AuditEntry o, Integer form, String attemptsJson, String counterfactualText) {
        return new AuditEntry(o.id(), o.tenant(), o.seq(), o.requestId(), o.recordedAt(), o.status(), o.modelName(),
                o.modelFingerprint(), o.policyId(), o.policyVersion(), o.appliedJson(), o.scoresJson(),
                o.decisionTraceJson(), o.outputText(), o.errorCode(), o.errorMessage(), o.queueMs(), o.generateMs(),
                o.totalMs(), form, attemptsJson, counterfactualText, o.hash());
    }

    static AuditChain.Check walk(String tenant, List<AuditEntry> entries, Long headRecords, Long headLastId, String headHash) {
        AuditChain.Walker walker = new AuditChain.Walker(tenant);
        entries.forEach(walker::accept);
        return walker.finish(headRecords, headLastId, headHash);
    }

    @Test
    void recordedAtKeepsExactlySixFractionDigitsInUtc() {
        assertEquals("2026-01-02T03:04:05.123456Z", AuditChain.recordedAt(Instant.parse("2026-01-02T03:04:05.123456789Z")));
        assertEquals("2026-01-02T03:04:05.000000Z", AuditChain.recordedAt(Instant.parse("2026-01-02T03:04:05Z")));
    }

    @Test
    void canonicalBytesAreLengthPrefixedFieldsWithNullMarkers() {
        AuditEntry e = new AuditEntry(7, null, 1, "r", "t", "OK", null, null, null, null, "", "{}", null, "é", null, null,
                null, 12L, null, "ignored");
        assertArrayEquals(fields("steergate.audit/v1", "7", null, "1", "r", "t", "OK", null, null, null, null, "",
                "{}", null, "é", null, null, null, "12", null), AuditChain.canonical(e));
    }

    @Test
    void canonicalFormTwoIsFormOnesFieldsUnderItsOwnTagThenAttemptsAndCounterfactual() {
        AuditEntry e = new AuditEntry(7, null, 1, "r", "t", "OK", null, null, null, null, "", "{}", null, "é", null, null,
                null, 12L, null, AuditChain.FORM_V2, "[{\"rung\":0}]", null, "ignored");
        assertArrayEquals(fields("steergate.audit/v2", "7", null, "1", "r", "t", "OK", null, null, null, null, "",
                "{}", null, "é", null, null, null, "12", null, "[{\"rung\":0}]", null), AuditChain.canonical(e));
        // a record without a form (a bundle line written before form 2) is form 1
        AuditEntry v1 = entry(1, "t", 1, "x");
        assertArrayEquals(AuditChain.canonical(v1), AuditChain.canonical(with(v1, null, null, null)));
    }

    @Test
    void aChainOfFormOneRecordsThenFormTwoRecordsHolds() {
        List<AuditEntry> entries = mixedChain("acme", 5, 2);
        assertEquals(List.of(1, 1, 2, 2, 2), entries.stream().map(AuditEntry::canonicalForm).toList());
        AuditChain.Check check = walk("acme", entries, 5L, 105L, entries.get(4).hash());
        assertTrue(check.ok(), check.reason());
    }

    @Test
    void changedAttemptsOrCounterfactualOfAFormTwoRecordAreNamed() {
        List<AuditEntry> attempts = mixedChain("acme", 4, 1);
        AuditEntry third = attempts.get(2);
        attempts.set(2, with(third, 2, third.attemptsJson().replace("\"outcome\":\"flagged\"", "\"outcome\":\"passed\""),
                third.counterfactualText()));
        AuditChain.Check changedAttempts = walk("acme", attempts, 4L, 104L, attempts.get(3).hash());
        assertFalse(changedAttempts.ok());
        assertEquals(103L, changedAttempts.firstBrokenId());
        assertTrue(changedAttempts.reason().contains("does not match its hash"), changedAttempts.reason());

        List<AuditEntry> counterfactual = mixedChain("acme", 4, 1);
        AuditEntry second = counterfactual.get(1);
        counterfactual.set(1, with(second, 2, second.attemptsJson(), null));
        AuditChain.Check dropped = walk("acme", counterfactual, 4L, 104L, counterfactual.get(3).hash());
        assertFalse(dropped.ok());
        assertEquals(102L, dropped.firstBrokenId());
    }

    @Test
    void aFormTwoRecordPassedOffAsFormOneOrAnUnknownFormIsNamed() {
        List<AuditEntry> downgraded = mixedChain("acme", 3, 1);
        AuditEntry second = downgraded.get(1);
        // form 1 with the form 2 fields kept: its hash would not cover them
        downgraded.set(1, with(second, 1, second.attemptsJson(), second.counterfactualText()));
        AuditChain.Check keptFields = walk("acme", downgraded, 3L, 103L, downgraded.get(2).hash());
        assertFalse(keptFields.ok());
        assertEquals(102L, keptFields.firstBrokenId());
        assertTrue(keptFields.reason().contains("canonical form 1 but carries attempts"), keptFields.reason());

        // form 1 with the form 2 fields removed: the hash was over the v2 tag and fields
        downgraded.set(1, with(second, 1, null, null));
        assertEquals(102L, walk("acme", downgraded, 3L, 103L, downgraded.get(2).hash()).firstBrokenId());

        downgraded.set(1, with(second, 3, second.attemptsJson(), second.counterfactualText()));
        AuditChain.Check unknown = walk("acme", downgraded, 3L, 103L, downgraded.get(2).hash());
        assertEquals(102L, unknown.firstBrokenId());
        assertTrue(unknown.reason().contains("unknown canonical form 3"), unknown.reason());
    }

    /** Fields encoded by hand as the canonical form defines them (each shorter than 256 bytes). */
    static byte[] fields(String... fields) {
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (String field : fields) {
            if (field == null) {
                expected.write(0);
            } else {
                byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
                expected.write(1);
                expected.writeBytes(new byte[] {0, 0, 0, (byte) bytes.length});
                expected.writeBytes(bytes);
            }
        }
        return expected.toByteArray();
    }

    @Test
    void anEmptyStringAndANullHashDifferently() {
        AuditEntry withEmpty = entry(1, "t", 1, "");
        AuditEntry withNull = entry(1, "t", 1, null);
        assertNotEquals(AuditChain.hash(AuditChain.GENESIS, withEmpty), AuditChain.hash(AuditChain.GENESIS, withNull));
    }

    @Test
    void anIntactChainHolds() {
        List<AuditEntry> entries = chain("acme", 5);
        AuditChain.Check check = walk("acme", entries, 5L, 105L, entries.get(4).hash());
        assertTrue(check.ok(), check.reason());
        assertEquals(5, check.records());
        assertNull(check.firstBrokenId());
    }

    @Test
    void aChangedRecordIsNamed() {
        List<AuditEntry> entries = chain("acme", 5);
        AuditEntry original = entries.get(2);
        entries.set(2, new AuditEntry(original.id(), original.tenant(), original.seq(), original.requestId(),
                original.recordedAt(), original.status(), original.modelName(), original.modelFingerprint(),
                original.policyId(), original.policyVersion(), original.appliedJson(), original.scoresJson(),
                original.decisionTraceJson(), "a kinder text", original.errorCode(), original.errorMessage(),
                original.queueMs(), original.generateMs(), original.totalMs(), original.hash()));
        AuditChain.Check check = walk("acme", entries, 5L, 105L, entries.get(4).hash());
        assertFalse(check.ok());
        assertEquals(103L, check.firstBrokenId());
        assertTrue(check.reason().contains("does not match its hash"), check.reason());
        assertEquals(5, check.records());
    }

    @Test
    void aRecordRehashedAfterAChangeBreaksTheLinkOfTheNextOne() {
        List<AuditEntry> entries = chain("acme", 4);
        AuditEntry forged = entry(102, "acme", 2, "forged");
        entries.set(1, forged.withHash(AuditChain.hash(entries.get(0).hash(), forged)));
        AuditChain.Check check = walk("acme", entries, 4L, 104L, entries.get(3).hash());
        assertFalse(check.ok());
        assertEquals(103L, check.firstBrokenId());
    }

    @Test
    void aDeletedRecordInTheMiddleIsNamedByItsPosition() {
        List<AuditEntry> entries = chain("acme", 5);
        entries.remove(1);
        AuditChain.Check check = walk("acme", entries, 5L, 105L, entries.get(3).hash());
        assertFalse(check.ok());
        assertEquals(103L, check.firstBrokenId());
        assertTrue(check.reason().contains("position 2 missing"), check.reason());
    }

    @Test
    void recordsDeletedFromTheEndShowAgainstTheHead() {
        List<AuditEntry> entries = chain("acme", 5);
        String lastHash = entries.get(4).hash();
        entries.remove(4);
        entries.remove(3);
        AuditChain.Check check = walk("acme", entries, 5L, 105L, lastHash);
        assertFalse(check.ok());
        assertEquals(105L, check.firstBrokenId());
        assertTrue(check.reason().contains("positions 4-5 missing at the end"), check.reason());
    }

    @Test
    void aRecordWithAnOldIdAppendedAtTheEndIsNamed() {
        // ids along a chain only increase (AuditLog draws them under the head's lock): an old id at the end was
        // inserted by hand, and would list among older records wherever records are ordered by id
        List<AuditEntry> entries = chain("acme", 3);
        AuditEntry appended = entry(7, "acme", 4, "back-dated");
        entries.add(appended.withHash(AuditChain.hash(entries.get(2).hash(), appended)));
        AuditChain.Check check = walk("acme", entries, 4L, 7L, entries.get(3).hash());
        assertFalse(check.ok());
        assertEquals(7L, check.firstBrokenId());
        assertEquals("record 7 (position 4) has an id not above record 103's before it: ids only increase along a chain"
                + " (a record inserted with an old id)", check.reason());
    }

    @Test
    void aRecordOfAnotherTenantDoesNotBelong() {
        List<AuditEntry> entries = chain("acme", 2);
        AuditChain.Check check = walk("kids-co", entries, 2L, 102L, entries.get(1).hash());
        assertFalse(check.ok());
        assertEquals(101L, check.firstBrokenId());
    }

    @Test
    void anEmptyChainHolds() {
        assertTrue(walk("nobody", List.of(), 0L, null, null).ok());
    }
}
