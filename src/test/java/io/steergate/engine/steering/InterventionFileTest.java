package io.steergate.engine.steering;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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

    // Refusals as Python's safetensors refuses (SafeTensors::read_metadata, README "Format"), one per rule. Each bad
    // file differs by one thing from VALID, a file built the same way that reads.

    private static final String META = "\"__metadata__\":{\"format\":\"steergate.intervention/v1\",\"name\":\"n\","
            + "\"method\":\"MEAN_SHIFT\",\"model_fingerprint\":\"sha256:x\"}";
    private static final String BETA = entry("layers.0.resid.beta", "[2]", "[0,8]");
    private static final String OMEGA = entry("layers.0.resid.omega", "[2]", "[8,16]");

    @Test
    void everyMapInTheRepositoryPassesTheStricterReading() throws IOException {
        List<Path> maps;
        try (Stream<Path> files = Files.walk(Path.of("policies"))) {
            maps = files.filter(f -> f.toString().endsWith(".safetensors")).sorted().toList();
        }
        assertTrue(maps.size() >= 3, maps.toString());
        for (Path file : maps) {
            Intervention map = InterventionFile.read(Files.readAllBytes(file), STORIES, FINGERPRINT);
            assertArrayEquals(Files.readAllBytes(file), InterventionFile.write(map), file.toString());
        }
    }

    @Test
    void theHandBuiltBaselineReads() {
        Intervention read = InterventionFile.read(file(header(BETA, OMEGA), floats(0.5f, -0.5f, 2f, 1f)));
        AffineMap map = read.maps().get(HookSite.parse("layers.0.resid"));
        assertArrayEquals(new float[] {2f, 1f}, map.omega());
        assertArrayEquals(new float[] {0.5f, -0.5f}, map.beta());
        Intervention supported = InterventionFile.read(file(header(BETA, OMEGA, entry("layers.0.resid.lo", "[2]",
                "[16,24]"), entry("layers.0.resid.hi", "[2]", "[24,32]")), floats(0, 0, 1, 1, -1, -1, 1, 1)));
        assertArrayEquals(new float[] {-1f, -1f}, supported.maps().get(HookSite.parse("layers.0.resid")).lo());
    }

    @ParameterizedTest
    @CsvSource({"0, layers.0.resid.beta, NaN", "3, layers.0.resid.omega, Infinity",
            "4, layers.0.resid.lo, -Infinity", "7, layers.0.resid.hi, NaN"})
    void refusesNaNAndInfinityInAnyPart(int index, String tensor, String value) {
        float[] values = {0, 0, 1, 1, -1, -1, 1, 1};
        values[index] = Float.parseFloat(value);
        byte[] bytes = file(header(BETA, OMEGA, entry("layers.0.resid.lo", "[2]", "[16,24]"),
                entry("layers.0.resid.hi", "[2]", "[24,32]")), floats(values));
        assertMessage(bytes, "tensor '" + tensor + "' holds " + value + " at index " + (index % 2));
    }

    @Test
    void refusesANegativeDimension() {
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[-2]", "[8,16]")), floats(0, 0, 1, 1)),
                "tensor 'layers.0.resid.omega' has shape [-2]: -2 is negative");
    }

    @Test
    void refusesADimensionThatOverflowsALong() {
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[18446744073709551616]", "[8,16]")),
                floats(0, 0, 1, 1)), "tensor 'layers.0.resid.omega' has shape [18446744073709551616]: "
                + "18446744073709551616 overflows a long");
    }

    @Test
    void refusesAnElementCountThatOverflowsALong() {
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[4294967296,4294967296]", "[8,16]")),
                floats(0, 0, 1, 1)), "tensor 'layers.0.resid.omega' has shape [4294967296,4294967296]: its element "
                + "count overflows a long");
    }

    @Test
    void refusesAByteSizeThatOverflowsALong() {
        // 2^62 elements fit in a long; their 2^64 bytes of F32 do not
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[4611686018427387904]", "[8,16]")),
                floats(0, 0, 1, 1)), "tensor 'layers.0.resid.omega' has shape [4611686018427387904]: "
                + "4611686018427387904 F32 elements are more bytes than a long counts");
    }

    @Test
    void refusesAShapeThatDoesNotMatchItsDataOffsets() {
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[3]", "[8,16]")), floats(0, 0, 1, 1)),
                "tensor 'layers.0.resid.omega' has data_offsets [8,16]: 8 bytes, but shape [3] of F32 holds 12");
    }

    @Test
    void refusesAShapeOrOffsetThatIsNotAWholeNumber() {
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[2.0]", "[8,16]")), floats(0, 0, 1, 1)),
                "tensor 'layers.0.resid.omega' has shape [2.0]: 2.0 is not a whole number");
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[2]", "[8,\"16\"]")), floats(0, 0, 1, 1)),
                "tensor 'layers.0.resid.omega' has data_offsets [8,\"16\"]: \"16\" is not a whole number");
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[2]", "[-8,0]")), floats(0, 0, 1, 1)),
                "tensor 'layers.0.resid.omega' has data_offsets [-8,0]: -8 is negative");
    }

    @Test
    void refusesDataOffsetsOutOfOrder() {
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[2]", "[16,8]")), floats(0, 0, 1, 1)),
                "tensor 'layers.0.resid.omega' has data_offsets [16,8]: the end comes before the begin");
    }

    @Test
    void refusesOverlappingTensors() {
        // omega reuses beta's last 4 bytes: each range has the right size, together they overlap
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[2]", "[4,12]")), floats(0, 0, 1)),
                "tensor 'layers.0.resid.omega' has data_offsets [4, 12], which overlap tensor 'layers.0.resid.beta' "
                        + "at [0, 8]");
        // the same range twice
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[2]", "[0,8]")), floats(0, 0)),
                "which overlap tensor");
    }

    @Test
    void refusesAGapBetweenTensors() {
        assertMessage(file(header(BETA, entry("layers.0.resid.omega", "[2]", "[12,20]")), floats(0, 0, 9, 1, 1)),
                "tensor 'layers.0.resid.omega' has data_offsets [12, 20], which leave a gap of 4 bytes before it, "
                        + "after tensor 'layers.0.resid.beta'");
        // nor before the first tensor
        assertMessage(file(header(entry("layers.0.resid.beta", "[2]", "[4,12]"), entry("layers.0.resid.omega",
                "[2]", "[12,20]")), floats(9, 0, 0, 1, 1)), "tensor 'layers.0.resid.beta' has data_offsets [4, 12], "
                + "which leave a gap of 4 bytes before it");
    }

    @Test
    void refusesTrailingBytes() {
        assertMessage(file(header(BETA, OMEGA), floats(0, 0, 1, 1, 7)), "4 trailing bytes after the last tensor "
                + "('layers.0.resid.omega', data_offsets [8, 16])");
        assertMessage(file("{" + META + "}", floats(7)), "4 trailing bytes after the last tensor:");
        byte[] valid = InterventionFile.write(sample(new Random(6)));
        assertMessage(Arrays.copyOf(valid, valid.length + 1), "1 trailing bytes");
    }

    @Test
    void refusesDataOffsetsPastTheEndOfTheFile() {
        assertMessage(file(header(BETA, OMEGA), floats(0, 0, 1)), "tensor 'layers.0.resid.omega' has data_offsets "
                + "[8, 16], past the end of the 12 data bytes");
    }

    @Test
    void refusesAnAbsurdHeaderLength() {
        byte[] valid = file(header(BETA, OMEGA), floats(0, 0, 1, 1));
        assertMessage(withHeaderLength(valid, -1L), "header length 18446744073709551615 is over safetensors' "
                + "limit of 100000000 bytes");
        assertMessage(withHeaderLength(valid, Long.MIN_VALUE), "header length 9223372036854775808 is over");
        assertMessage(withHeaderLength(valid, 100_000_001L), "header length 100000001 is over");
        assertMessage(withHeaderLength(valid, valid.length - 7), "header length " + (valid.length - 7)
                + " does not fit in " + valid.length + " bytes");
    }

    @Test
    void refusesAHeaderThatIsNotAJsonObject() {
        for (String notAnObject : new String[] {"[1,2]", "null", "42", "\"text\"", " "}) {
            assertMessage(file(notAnObject, new byte[0]), "not a safetensors file: the header is not a JSON object");
        }
        assertMessage(file("{" + META + ",", new byte[0]), "not a safetensors file: the header is not valid JSON");
        // serde_json reads one value: anything after it is an error, not ignored
        assertMessage(file(header(BETA, OMEGA) + "{}", floats(0, 0, 1, 1)), "the header is not valid JSON");
        byte[] latin1 = file(header(BETA, OMEGA).replace("\"n\"", "\"n\u00e9\""), floats(0, 0, 1, 1));
        byte[] notUtf8 = replaceFirst(latin1, "n\u00c3\u00a9", "n\u00e9 ");
        assertMessage(notUtf8, "not a safetensors file: the header is not UTF-8");
    }

    @Test
    void refusesATensorNameGivenTwice() {
        assertMessage(file(header(BETA, OMEGA, entry("layers.0.resid.omega", "[2]", "[16,24]")),
                floats(0, 0, 1, 1, 3, 3)), "Duplicate field 'layers.0.resid.omega'");
        // the same name spelled with an escape is the same name
        assertMessage(file(header(BETA, OMEGA, entry("layers.0.resid\\u002eomega", "[2]", "[16,24]")),
                floats(0, 0, 1, 1, 3, 3)), "Duplicate field 'layers.0.resid.omega'");
        // and no key repeats inside the metadata either
        assertMessage(file("{" + META.replace("\"name\":\"n\",", "\"name\":\"n\",\"name\":\"m\",") + ","
                + BETA + "," + OMEGA + "}", floats(0, 0, 1, 1)), "Duplicate field 'name'");
    }

    @Test
    void refusesATensorEntryThatIsNotAnObject() {
        assertMessage(file(header(BETA, "\"layers.0.resid.omega\":[8,16]"), floats(0, 0)),
                "tensor 'layers.0.resid.omega' is [8,16]; expected {dtype, shape, data_offsets}");
    }

    /** One tensor's header entry, F32, with shape and offsets as raw JSON. */
    private static String entry(String name, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    private static String header(String... entries) {
        return "{" + META + "," + String.join(",", entries) + "}";
    }

    /** A safetensors file as the writer lays it out, from a header taken as given: no check of any kind. */
    private static byte[] file(String header, byte[] data) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(json);
        while (out.position() < 8 + padded) {
            out.put((byte) ' ');
        }
        return out.put(data).array();
    }

    private static byte[] floats(float... values) {
        ByteBuffer out = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            out.putFloat(v);
        }
        return out.array();
    }

    private static byte[] withHeaderLength(byte[] bytes, long length) {
        byte[] out = bytes.clone();
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
        return out;
    }

    /** Replaces the first occurrence of {@code from} (ISO-8859-1 bytes) by {@code to}, of the same length. */
    private static byte[] replaceFirst(byte[] bytes, String from, String to) {
        assertEquals(from.length(), to.length());
        String all = new String(bytes, StandardCharsets.ISO_8859_1);
        int at = all.indexOf(from);
        assertTrue(at >= 0, from);
        byte[] out = bytes.clone();
        System.arraycopy(to.getBytes(StandardCharsets.ISO_8859_1), 0, out, at, to.length());
        return out;
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
