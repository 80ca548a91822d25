package io.steergate.engine.steering;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.engine.model.LlamaConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Intervention maps as safetensors files (DESIGN.md, intervention maps): an 8-byte little-endian header length N,
 * N bytes of JSON header padded with spaces to a multiple of 8, then the little-endian float32 data. Tensors
 * {@code <site>.omega}, {@code <site>.beta}, {@code <site>.lo}, {@code <site>.hi}, each of shape [width];
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

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> PARTS = List.of("omega", "beta", "lo", "hi");

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
     * Reads an intervention file without checking it against a model.
     *
     * @throws IllegalArgumentException when the bytes are not a steergate intervention file: the message says what
     *     is wrong (format tag, a site name, a tensor's dtype, shape or offsets, a missing omega or beta)
     */
    public static Intervention read(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 8) {
            throw new IllegalArgumentException("not a safetensors file: " + bytes.length + " bytes, no header length");
        }
        long n = in.getLong();
        if (n < 2 || n > bytes.length - 8L) {
            throw new IllegalArgumentException("not a safetensors file: header length " + Long.toUnsignedString(n)
                    + " does not fit in " + bytes.length + " bytes");
        }
        int dataStart = 8 + (int) n;
        JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8).stripTrailing());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a safetensors file: the header is not JSON: "
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

        // tensors, grouped by site
        Map<HookSite, float[][]> parts = new TreeMap<>(); // site -> omega, beta, lo, hi
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            String tensor = e.getKey();
            if (tensor.equals("__metadata__")) {
                continue;
            }
            int dot = tensor.lastIndexOf('.');
            int part = dot < 0 ? -1 : PARTS.indexOf(tensor.substring(dot + 1));
            if (part < 0) {
                throw new IllegalArgumentException("tensor '" + tensor + "': expected <site>.omega, .beta, .lo or .hi");
            }
            HookSite site = HookSite.parse(tensor.substring(0, dot));
            parts.computeIfAbsent(site, s -> new float[4][])[part] = tensor(tensor, e.getValue(), bytes, dataStart);
        }
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (Map.Entry<HookSite, float[][]> e : parts.entrySet()) {
            float[][] p = e.getValue();
            String site = e.getKey().name();
            if (p[0] == null || p[1] == null) {
                throw new IllegalArgumentException("site " + site + " needs both " + site + ".omega and "
                        + site + ".beta");
            }
            try {
                maps.put(e.getKey(), new AffineMap(p[0], p[1], p[2], p[3]));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("site " + site + ": " + ex.getMessage(), ex);
            }
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

    private static float[] tensor(String name, JsonNode info, byte[] bytes, int dataStart) {
        JsonNode dtype = info.get("dtype");
        if (dtype == null || !"F32".equals(dtype.asText())) {
            throw new IllegalArgumentException("tensor '" + name + "' has dtype " + dtype + "; only F32 is supported");
        }
        JsonNode shape = info.get("shape");
        if (shape == null || !shape.isArray() || shape.size() != 1 || !shape.get(0).canConvertToLong()) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + shape + "; expected [width]");
        }
        long width = shape.get(0).asLong();
        JsonNode offsets = info.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw new IllegalArgumentException("tensor '" + name + "' has data_offsets " + offsets);
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end - begin != width * Float.BYTES || dataStart + end > bytes.length) {
            throw new IllegalArgumentException("tensor '" + name + "' has data_offsets [" + begin + ", " + end
                    + "]: not " + width + " floats inside the " + (bytes.length - dataStart) + " data bytes");
        }
        float[] values = new float[(int) width];
        ByteBuffer.wrap(bytes, dataStart + (int) begin, (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer().get(values);
        return values;
    }

    private static String require(Map<String, String> metadata, String key) {
        String value = metadata.get(key);
        if (value == null) {
            throw new IllegalArgumentException("metadata '" + key + "' is missing");
        }
        return value;
    }
}
