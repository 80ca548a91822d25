package io.steergate.engine.steering;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.model.LlamaConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The safetensors layout byte for byte, deterministic round trips, and every refusal's message. */
class InterventionFileTest {

    private static final LlamaConfig STORIES = new LlamaConfig(64, 172, 5, 8, 4, 512, 512, true);
    private static final String FINGERPRINT = "sha256:b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696";

    @Test
    void aTinyFileHasExactlyTheSpecifiedBytes() {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        maps.put(HookSite.parse("layers.0.resid"), AffineMap.of(new float[] {2, 1}, new float[] {1, 0}));
        byte[] bytes = InterventionFile.write(new Intervention("n", "MEAN_SHIFT", "sha256:x", "c", Map.of(), maps));

        String json = "{\"__metadata__\":{\"concept\":\"c\",\"format\":\"steergate.intervention/v1\","
                + "\"method\":\"MEAN_SHIFT\",\"model_fingerprint\":\"sha256:x\",\"name\":\"n\","
                + "\"sites\":\"layers.0.resid\"},"
                + "\"layers.0.resid.beta\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"layers.0.resid.omega\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
        int padded = (json.length() + 7) / 8 * 8;
        ByteBuffer expected = ByteBuffer.allocate(8 + padded + 16).order(ByteOrder.LITTLE_ENDIAN);
        expected.putLong(padded).put(json.getBytes(StandardCharsets.US_ASCII));
        while (expected.position() < 8 + padded) {
            expected.put((byte) ' ');
        }
        expected.putFloat(1).putFloat(0).putFloat(2).putFloat(1); // beta, then omega: sorted by name
        assertEquals(0, padded % 8);
        assertArrayEquals(expected.array(), bytes);
        // the first bytes literally: header length 256 -> 00 01 00 ... (little-endian)
        assertEquals(padded, ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
    }

    @Test
    void writeReadWriteIsByteForByteIdentical() {
        Intervention original = sample(new Random(1));
        byte[] first = InterventionFile.write(original);
        Intervention read = InterventionFile.read(first, STORIES, FINGERPRINT);
        assertEquals(original, read);
        assertArrayEquals(first, InterventionFile.write(read));
        assertEquals("{\"steps\":3}", read.metadata().get("hyperparameters"));
    }

    @Test
    void aHeaderInAnotherKeyOrderAndSpacingStillReads() {
        String json = "{ \"layers.1.attn_norm.omega\": {\"data_offsets\": [8, 16], \"shape\": [2], \"dtype\": \"F32\"},"
                + " \"layers.1.attn_norm.beta\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"__metadata__\": {\"method\": \"LINEAS\", \"format\": \"steergate.intervention/v1\","
                + " \"name\": \"x\", \"model_fingerprint\": \"sha256:y\", \"extra\": \"1\"}}";
        ByteBuffer b = ByteBuffer.allocate(8 + json.length() + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length()).put(json.getBytes(StandardCharsets.US_ASCII));
        b.putFloat(0.5f).putFloat(-0.5f).putFloat(1.5f).putFloat(0.75f);
        Intervention i = InterventionFile.read(b.array());
        AffineMap map = i.maps().get(HookSite.parse("layers.1.attn_norm"));
        assertArrayEquals(new float[] {1.5f, 0.75f}, map.omega());
        assertArrayEquals(new float[] {0.5f, -0.5f}, map.beta());
        assertEquals(Map.of("extra", "1"), i.metadata());
        assertEquals("", i.concept());
    }

    @Test
    void refusesAWrongFormatTag() {
        byte[] bytes = InterventionFile.write(sample(new Random(2)));
        String header = new String(bytes, 8, (int) headerLength(bytes), StandardCharsets.US_ASCII);
        byte[] changed = bytes.clone();
        byte[] replaced = header.replace("steergate.intervention/v1", "steergate.intervention/v9")
                .getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(replaced, 0, changed, 8, replaced.length);
        assertMessage(changed, "format is 'steergate.intervention/v9', expected 'steergate.intervention/v1'");
    }

    @Test
    void refusesASiteNameThatDoesNotParse() {
        byte[] bytes = InterventionFile.write(sample(new Random(3)));
        byte[] changed = replaceAll(bytes, "layers.4.resid", "layers.4.resix");
        assertMessage(changed, "'layers.4.resix'");
    }

    @Test
    void refusesASiteBeyondTheModelsLayers() {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        maps.put(new HookSite(5, HookPoint.RESID), AffineMap.identity(64));
        byte[] bytes = InterventionFile.write(new Intervention("deep", "LINEAR_ACT", FINGERPRINT, "", Map.of(), maps));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InterventionFile.read(bytes, STORIES, FINGERPRINT));
        assertTrue(e.getMessage().contains("layers.5.resid") && e.getMessage().contains("5 layers"), e.getMessage());
    }

    @Test
    void refusesAWidthOtherThanTheModels() {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        maps.put(new HookSite(1, HookPoint.MLP_OUT), AffineMap.identity(32));
        byte[] bytes = InterventionFile.write(new Intervention("narrow", "LINEAR_ACT", FINGERPRINT, "", Map.of(),
                maps));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InterventionFile.read(bytes, STORIES, FINGERPRINT));
        assertTrue(e.getMessage().contains("width 32") && e.getMessage().contains("64"), e.getMessage());
    }

    @Test
    void refusesAnotherModelsFingerprintNamingBoth() {
        byte[] bytes = InterventionFile.write(sample(new Random(4)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InterventionFile.read(bytes, STORIES, "sha256:other"));
        assertTrue(e.getMessage().contains(FINGERPRINT) && e.getMessage().contains("sha256:other"), e.getMessage());
    }

    @Test
    void refusesBrokenStructure() {
        assertMessage(new byte[] {1, 2, 3}, "no header length");
        byte[] tooLong = new byte[16];
        tooLong[0] = 100;
        assertMessage(tooLong, "does not fit");
        byte[] bytes = InterventionFile.write(sample(new Random(5)));
        assertMessage(replaceAll(bytes, "\"F32\"", "\"F16\""), "only F32");
        assertMessage(Arrays.copyOf(bytes, bytes.length - 4), "data_offsets");
        assertMessage(replaceAll(bytes, "layers.0.attn_norm.omega", "layers.0.attn_norm.gamma"),
                "expected <site>.omega");
    }

    @Test
    void reservedMetadataKeysAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Intervention("n", "LINEAS", "f", "", Map.of("format",
                "x"), new TreeMap<>()));
    }

    private static Intervention sample(Random random) {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (HookSite site : new HookSite[] {HookSite.parse("layers.0.attn_norm"), HookSite.parse("layers.4.resid"),
                HookSite.parse("layers.2.mlp_out")}) {
            float[] omega = new float[64];
            float[] beta = new float[64];
            float[] lo = new float[64];
            float[] hi = new float[64];
            for (int i = 0; i < 64; i++) {
                omega[i] = 1 + 0.1f * (float) random.nextGaussian();
                beta[i] = (float) random.nextGaussian();
                lo[i] = -1 - random.nextFloat();
                hi[i] = 1 + random.nextFloat();
            }
            maps.put(site, site.point() == HookPoint.RESID ? new AffineMap(omega, beta, lo, hi)
                    : AffineMap.of(omega, beta));
        }
        return new Intervention("no-dogs", Intervention.LINEAR_ACT, FINGERPRINT, "dogs",
                Map.of("hyperparameters", "{\"steps\":3}", "training_data_sha256", "{\"source\":\"ab\"}"), maps);
    }

    private static long headerLength(byte[] bytes) {
        return ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Replaces same-length ASCII text inside the header. */
    private static byte[] replaceAll(byte[] bytes, String from, String to) {
        assertEquals(from.length(), to.length());
        int n = (int) headerLength(bytes);
        String header = new String(bytes, 8, n, StandardCharsets.ISO_8859_1).replace(from, to);
        byte[] out = bytes.clone();
        System.arraycopy(header.getBytes(StandardCharsets.ISO_8859_1), 0, out, 8, n);
        return out;
    }

    private static void assertMessage(byte[] bytes, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InterventionFile.read(bytes));
        assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' should contain '" + part + "'");
    }
}
