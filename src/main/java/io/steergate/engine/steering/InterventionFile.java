package io.steergate.engine.steering;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import io.steergate.engine.model.LlamaConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Intervention maps as safetensors files (docs/architecture.md 4.5): an 8-byte little-endian header length N,
 * N bytes of JSON header padded with spaces to a multiple of 8, then the little-endian float32 data. Tensors
 * {@code <site>.omega}, {@code <site>.beta}, {@code <site>.lo}, {@code <site>.hi}, each of shape [width], and for a
 * token-gated map (DSAS) {@code <site>.gate} of shape [width] and {@code <site>.gate_bias} of shape [1], on every
 * site of the map or on none (an optional addition: a file without them reads and behaves as before);
 * {@code __metadata__} holds {@code format = steergate.intervention/v1}, name, method, model_fingerprint, concept,
 * sites (comma-separated, forward order) and the intervention's further metadata. The same files load with Python's
 * safetensors library.
 *
 * <p>Output is deterministic (metadata keys sorted, tensors sorted by name and laid out in that order, as the
 * reference library does for one dtype), so reading and writing a file gives back the same bytes.
 */
public final class InterventionFile {

    public static final String FORMAT = "steergate.intervention/v1";
    /** Metadata keys the format itself fills; an intervention's own metadata may not use them. */
    public static final Set<String> RESERVED_KEYS =
            Set.of("format", "name", "method", "model_fingerprint", "concept", "sites");

    /** safetensors' limit on the header (its MAX_HEADER_SIZE): a longer header is refused before it is read. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The header as serde_json reads it for safetensors: nothing after the object, and no key twice. */
    private static final ObjectReader HEADER = JSON.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final List<String> PARTS = List.of("omega", "beta", "lo", "hi", "gate", "gate_bias");

    private InterventionFile() {
    }

    /** The file's bytes for {@code intervention}. */
    public static byte[] write(Intervention intervention) {
        Map<String, float[]> tensors = new TreeMap<>(); // sorted by name: the data layout
        for (Map.Entry<HookSite, AffineMap> e : intervention.maps().entrySet()) {
            String site = e.getKey().name();
            AffineMap map = e.getValue();
            tensors.put(site + ".omega", map.omega());
            tensors.put(site + ".beta", map.beta());
            if (map.hasSupport()) {
                tensors.put(site + ".lo", map.lo());
                tensors.put(site + ".hi", map.hi());
            }
            if (map.isGated()) {
                tensors.put(site + ".gate", map.gate());
                tensors.put(site + ".gate_bias", new float[] {map.gateBias()});
            }
        }
        Map<String, String> metadata = new TreeMap<>(intervention.metadata());
        metadata.put("format", FORMAT);
        metadata.put("name", intervention.name());
        metadata.put("method", intervention.method());
        metadata.put("model_fingerprint", intervention.modelFingerprint());
        metadata.put("concept", intervention.concept());
        metadata.put("sites", intervention.maps().keySet().stream().map(HookSite::name)
                .collect(Collectors.joining(",")));

        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", metadata); // first, as the reference library writes it
        long offset = 0;
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            long bytes = (long) e.getValue().length * Float.BYTES;
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", "F32");
            info.put("shape", List.of(e.getValue().length));
            info.put("data_offsets", List.of(offset, offset + bytes));
            header.put(e.getKey(), info);
            offset += bytes;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the header", e);
        }
        int padded = (json.length + 7) / 8 * 8; // spaces to a multiple of 8, as the reference library pads
        ByteBuffer out = ByteBuffer.allocate(8 + padded + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (float[] t : tensors.values()) {
            for (float v : t) {
                out.putFloat(v);
            }
        }
        return out.array();
    }

    public static void write(Intervention intervention, Path file) throws IOException {
        Files.write(file, write(intervention));
    }

    /**
     * Reads an intervention file without checking it against a model. Refuses what Python's safetensors refuses
     * (its README's format section and {@code SafeTensors::read_metadata}): a header length over 100,000,000 bytes
     * or past the end of the file, a header that is not UTF-8 JSON or not an object, a key given twice, a shape or
     * offset that is not a non-negative whole number, an element count or byte size that overflows, data_offsets
     * that do not match the shape, and tensors that overlap, leave a gap or do not end exactly at the end of the
     * file. Then what a steergate map cannot hold: a dtype other than F32, a shape other than [width], NaN or
     * infinity in any tensor (safetensors itself does not check values), a gate without its gate_bias or the other
     * way round, a gate_bias of other than one value, and a gate on some sites of the map but not on all.
     *
     * @throws IllegalArgumentException when the bytes are not a steergate intervention file: the message names the
     *     tensor, where there is one, and says what is wrong
     */
    public static Intervention read(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 8) {
            throw new IllegalArgumentException("not a safetensors file: " + bytes.length + " bytes, no header length");
        }
        long n = in.getLong(); // an unsigned 64-bit length: a negative long is a length beyond 2^63
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("not a safetensors file: header length " + Long.toUnsignedString(n)
                    + " is over safetensors' limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (n > bytes.length - 8L) {
            throw new IllegalArgumentException("not a safetensors file: header length " + n + " does not fit in "
                    + bytes.length + " bytes");
        }
        int dataStart = 8 + (int) n;
        String headerText;
        try {
            headerText = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 8, (int) n))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("not a safetensors file: the header is not UTF-8", e);
        }
        JsonNode header;
        try {
            header = HEADER.readTree(headerText);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a safetensors file: the header is not valid JSON: "
                    + e.getOriginalMessage(), e);
        }
        if (header == null || !header.isObject()) {
            throw new IllegalArgumentException("not a safetensors file: the header is not a JSON object");
        }
        JsonNode meta = header.get("__metadata__");
        if (meta == null || !meta.isObject()) {
            throw new IllegalArgumentException("not a steergate intervention file: no __metadata__ (expected format "
                    + FORMAT + ")");
        }
        Map<String, String> metadata = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = meta.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new IllegalArgumentException("metadata '" + e.getKey() + "' must be a string");
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
        String format = metadata.get("format");
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("not a steergate intervention file: format is "
                    + (format == null ? "missing" : "'" + format + "'") + ", expected '" + FORMAT + "'");
        }

        // tensors: their entries first, checked as safetensors checks them, then their values, grouped by site
        List<TensorEntry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals("__metadata__")) {
                entries.add(TensorEntry.of(e.getKey(), e.getValue()));
            }
        }
        checkLayout(entries, bytes.length - (long) dataStart);
        Map<HookSite, float[][]> parts = new TreeMap<>(); // site -> omega, beta, lo, hi
        for (TensorEntry entry : entries) {
            String tensor = entry.name();
            int dot = tensor.lastIndexOf('.');
            int part = dot < 0 ? -1 : PARTS.indexOf(tensor.substring(dot + 1));
            if (part < 0) {
                throw new IllegalArgumentException("tensor '" + tensor + "': expected <site>.omega, .beta, .lo, .hi, "
                        + ".gate or .gate_bias");
            }
            HookSite site = HookSite.parse(tensor.substring(0, dot));
            parts.computeIfAbsent(site, x -> new float[PARTS.size()][])[part] = entry.values(bytes, dataStart);
        }
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (Map.Entry<HookSite, float[][]> e : parts.entrySet()) {
            float[][] p = e.getValue();
            String site = e.getKey().name();
            if (p[0] == null || p[1] == null) {
                throw new IllegalArgumentException("site " + site + " needs both " + site + ".omega and "
                        + site + ".beta");
            }
            if ((p[4] == null) != (p[5] == null)) {
                throw new IllegalArgumentException("site " + site + " needs both " + site + ".gate and " + site
                        + ".gate_bias, or neither");
            }
            if (p[5] != null && p[5].length != 1) {
                throw new IllegalArgumentException("tensor '" + site + ".gate_bias' has " + p[5].length
                        + " values; a gate bias is one value");
            }
            try {
                maps.put(e.getKey(), p[4] == null ? new AffineMap(p[0], p[1], p[2], p[3])
                        : new AffineMap(p[0], p[1], p[2], p[3], p[4], p[5][0]));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("site " + site + ": " + ex.getMessage(), ex);
            }
        }
        List<String> gated = maps.entrySet().stream().filter(e -> e.getValue().isGated()).map(e -> e.getKey().name())
                .toList();
        if (!gated.isEmpty() && gated.size() != maps.size()) {
            throw new IllegalArgumentException("gates on sites " + String.join(",", gated) + " but not on "
                    + maps.entrySet().stream().filter(e -> !e.getValue().isGated()).map(e -> e.getKey().name())
                            .collect(Collectors.joining(","))
                    + ": a gated map has a gate on every site");
        }
        String sites = metadata.get("sites");
        if (sites != null) {
            String actual = maps.keySet().stream().map(HookSite::name).collect(Collectors.joining(","));
            String declared = Arrays.stream(sites.split(",")).map(String::strip).filter(s -> !s.isEmpty())
                    .map(HookSite::parse).sorted().map(HookSite::name).collect(Collectors.joining(","));
            if (!declared.equals(actual)) {
                throw new IllegalArgumentException("metadata sites '" + sites + "' do not match the tensors' sites '"
                        + actual + "'");
            }
        }
        String name = require(metadata, "name");
        String method = require(metadata, "method");
        String fingerprint = require(metadata, "model_fingerprint");
        String concept = metadata.getOrDefault("concept", "");
        RESERVED_KEYS.forEach(metadata::remove);
        return new Intervention(name, method, fingerprint, concept, metadata, maps);
    }

    /** Reads an intervention and refuses it unless it fits the model ({@link Intervention#checkCompatible}). */
    public static Intervention read(byte[] bytes, LlamaConfig config, String fingerprint) {
        Intervention intervention = read(bytes);
        intervention.checkCompatible(config, fingerprint);
        return intervention;
    }

    public static Intervention read(Path file) throws IOException {
        return read(Files.readAllBytes(file));
    }

    /**
     * safetensors' layout rule: the tensors, in order of data_offsets, tile the data section exactly, from byte 0 to
     * its last byte, without overlaps or gaps ("no holes").
     */
    private static void checkLayout(List<TensorEntry> entries, long dataBytes) {
        List<TensorEntry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        long covered = 0;
        TensorEntry previous = null;
        for (TensorEntry entry : byOffset) {
            if (entry.begin() < covered) {
                throw new IllegalArgumentException("tensor '" + entry.name() + "' has data_offsets " + entry.offsets()
                        + ", which overlap tensor '" + previous.name() + "' at " + previous.offsets());
            }
            if (entry.begin() > covered) {
                throw new IllegalArgumentException("tensor '" + entry.name() + "' has data_offsets " + entry.offsets()
                        + ", which leave a gap of " + (entry.begin() - covered) + " bytes before it"
                        + (previous == null ? "" : ", after tensor '" + previous.name() + "'"));
            }
            covered = entry.end();
            previous = entry;
        }
        if (covered > dataBytes) {
            throw new IllegalArgumentException("tensor '" + previous.name() + "' has data_offsets " + previous.offsets()
                    + ", past the end of the " + dataBytes + " data bytes");
        }
        if (covered < dataBytes) {
            throw new IllegalArgumentException((dataBytes - covered) + " trailing bytes after the last tensor"
                    + (previous == null ? "" : " ('" + previous.name() + "', data_offsets " + previous.offsets() + ")")
                    + ": the tensors' data_offsets must end at the end of the file");
        }
    }

    /**
     * One tensor's header entry, checked on its own: dtype F32, shape and data_offsets non-negative whole numbers
     * that fit in a long, an element count and byte size that do not overflow, and exactly as many bytes as the
     * shape needs; then shape [width].
     */
    private record TensorEntry(String name, long width, long begin, long end) {

        static TensorEntry of(String name, JsonNode info) {
            if (!info.isObject()) {
                throw new IllegalArgumentException("tensor '" + name + "' is " + info + "; expected {dtype, shape, "
                        + "data_offsets}");
            }
            JsonNode dtype = info.get("dtype");
            if (dtype == null || !"F32".equals(dtype.asText())) {
                throw new IllegalArgumentException("tensor '" + name + "' has dtype " + dtype
                        + "; only F32 is supported");
            }
            JsonNode shape = info.get("shape");
            if (shape == null || !shape.isArray()) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + shape + "; expected [width]");
            }
            long elements = 1;
            for (JsonNode dimension : shape) {
                long d = whole(name, "shape " + shape, dimension);
                try {
                    elements = Math.multiplyExact(elements, d);
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException("tensor '" + name + "' has shape " + shape
                            + ": its element count overflows a long");
                }
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(elements, (long) Float.BYTES);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + shape + ": " + elements
                        + " F32 elements are more bytes than a long counts");
            }
            JsonNode offsets = info.get("data_offsets");
            if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
                throw new IllegalArgumentException("tensor '" + name + "' has data_offsets " + offsets
                        + "; expected [begin, end]");
            }
            long begin = whole(name, "data_offsets " + offsets, offsets.get(0));
            long end = whole(name, "data_offsets " + offsets, offsets.get(1));
            if (end < begin) {
                throw new IllegalArgumentException("tensor '" + name + "' has data_offsets " + offsets
                        + ": the end comes before the begin");
            }
            if (end - begin != bytes) {
                throw new IllegalArgumentException("tensor '" + name + "' has data_offsets " + offsets + ": "
                        + (end - begin) + " bytes, but shape " + shape + " of F32 holds " + bytes);
            }
            if (shape.size() != 1) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + shape + "; expected [width]");
            }
            return new TensorEntry(name, elements, begin, end);
        }

        /** A non-negative whole number that fits in a long, as safetensors' usize fields (on 64 bits). */
        private static long whole(String name, String where, JsonNode value) {
            if (!value.isIntegralNumber()) {
                throw new IllegalArgumentException("tensor '" + name + "' has " + where + ": " + value
                        + " is not a whole number");
            }
            if (value.bigIntegerValue().signum() < 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has " + where + ": " + value
                        + " is negative");
            }
            if (!value.canConvertToLong()) {
                throw new IllegalArgumentException("tensor '" + name + "' has " + where + ": " + value
                        + " overflows a long");
            }
            return value.longValue();
        }

        String offsets() {
            return "[" + begin + ", " + end + "]";
        }

        /**
         * The values, once the layout has been checked (so they lie inside the file); each must be finite: a NaN or
         * an infinity in a map turns every steered activation into garbage.
         */
        float[] values(byte[] file, int dataStart) {
            float[] values = new float[(int) width];
            ByteBuffer.wrap(file, dataStart + (int) begin, (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer().get(values);
            for (int i = 0; i < values.length; i++) {
                if (!Float.isFinite(values[i])) {
                    throw new IllegalArgumentException("tensor '" + name + "' holds " + values[i] + " at index " + i
                            + ": omega, beta, lo, hi, gate and gate_bias must be finite");
                }
            }
            return values;
        }
    }

    private static String require(Map<String, String> metadata, String key) {
        String value = metadata.get(key);
        if (value == null) {
            throw new IllegalArgumentException("metadata '" + key + "' is missing");
        }
        return value;
    }
}
