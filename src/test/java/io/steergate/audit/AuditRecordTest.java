package io.steergate.audit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The Java half of {@link AuditRecord#DELIVERED_OUTPUT}; the SQL half is exercised by OpenAiStreamingQuarkusTest. */
class AuditRecordTest {

    @Test
    void aCancelledStreamIsADeliveredOutputOnlyWhenItsClientWasSentSomeText() {
        assertTrue(AuditRecord.cancelledStream("FAILED", "CANCELLED", " once"));
        assertFalse(AuditRecord.cancelledStream("FAILED", "CANCELLED", ""), "cancelled before its first token (44179ee)");
        assertFalse(AuditRecord.cancelledStream("FAILED", "CANCELLED", null));
        assertFalse(AuditRecord.cancelledStream("FAILED", "GENERATION_FAILED", " once"), "a failure is no delivery");
        assertFalse(AuditRecord.cancelledStream("COMPLETED", null, " once"), "the first half of the condition, not this one");
        assertFalse(AuditRecord.cancelledStream(null, null, null));
    }
}
