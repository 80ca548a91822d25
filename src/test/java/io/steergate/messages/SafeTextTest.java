package io.steergate.messages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class SafeTextTest {

    @Test
    void controlCharactersAndLoneSurrogatesAreEscapedOtherTextIsKept() {
        assertEquals("a\\u0000b\\u000ac", SafeText.of("a\u0000b\nc", 100));
        assertEquals("x\\ud800y", SafeText.of("x\ud800y", 100));
        assertEquals("emoji \uD83D\uDE00 and \u05E9\u05DC\u05D5\u05DD stay", SafeText.of("emoji \uD83D\uDE00 and \u05E9\u05DC\u05D5\u05DD stay", 100));
        assertNull(SafeText.of(null, 10));
    }

    @Test
    void longTextIsCutToTheLimitAndApplyingItTwiceChangesNothing() {
        String once = SafeText.of("z".repeat(5_000), 1_000);
        assertEquals(1_000, once.length());
        assertEquals("z".repeat(991) + "... (cut)", once);
        assertEquals(once, SafeText.of(once, 1_000));
        assertEquals(new ErrorInfo("X", once), new ErrorInfo("X", "z".repeat(5_000)));
    }
}
