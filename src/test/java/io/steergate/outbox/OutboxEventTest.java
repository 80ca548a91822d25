package io.steergate.outbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OutboxEventTest {

    @Test
    void aKeyTextCanHoldStaysInTheTextColumnAndIsSentAsItsUtf8Bytes() {
        OutboxEvent row = new OutboxEvent();
        row.key("req-é-1");
        assertEquals("req-é-1", row.messageKey, "what a gateway of the previous release reads");
        assertNull(row.messageKeyBytes);
        assertArrayEquals("req-é-1".getBytes(StandardCharsets.UTF_8), row.keyBytes());
    }

    @Test
    void aKeyHoldingNulGoesToTheBytesColumnOnly() {
        OutboxEvent row = new OutboxEvent();
        row.key("a\u0000b");
        assertNull(row.messageKey, "PostgreSQL text refuses U+0000");
        assertArrayEquals(new byte[] {'a', 0, 'b'}, row.messageKeyBytes);
        assertArrayEquals(new byte[] {'a', 0, 'b'}, row.keyBytes());
    }

    @Test
    void keyBytesThatAreNotUtf8GoToTheBytesColumnAndAreSentUnchanged() {
        byte[] key = {(byte) 0xff, (byte) 0xfe, 'a'};
        OutboxEvent row = new OutboxEvent();
        row.keyFromBytes(key);
        assertNull(row.messageKey, "no text gives these bytes back");
        assertArrayEquals(key, row.keyBytes());
    }

    @Test
    void keyBytesThatAreUtf8TextCanHoldStayInTheTextColumn() {
        OutboxEvent row = new OutboxEvent();
        row.keyFromBytes("req-é-1".getBytes(StandardCharsets.UTF_8));
        assertEquals("req-é-1", row.messageKey, "what a gateway of the previous release reads");
        assertNull(row.messageKeyBytes);
        row.keyFromBytes(new byte[] {'a', 0, 'b'});
        assertNull(row.messageKey, "PostgreSQL text refuses U+0000");
        assertArrayEquals(new byte[] {'a', 0, 'b'}, row.keyBytes());
    }

    @Test
    void noKeyIsSentAsNoKey() {
        OutboxEvent row = new OutboxEvent();
        row.key(null);
        assertNull(row.messageKey);
        assertNull(row.messageKeyBytes);
        assertNull(row.keyBytes());
    }
}
