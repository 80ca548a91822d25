package io.steergate.engine.model;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.commons.codec.binary.Hex;
import org.apache.commons.codec.digest.DigestUtils;

/**
 * Loads a Hugging Face Llama directory (config.json, model.safetensors or a sharded index, tokenizer.json) into a
 * {@link LlamaModel}: the tensors are converted to float32 and to llama2.c's checkpoint layout, with Hugging Face's
 * q/k row permutation undone, so that the same forward (interleaved-pair RoPE) computes the same function.
 */
public final class HfCheckpoint {

    static final String CONFIG = "config.json";
    static final String WEIGHTS = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    static final String TOKENIZER = "tokenizer.json";
    static final String LM_HEAD = "lm_head.weight";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The keys of config.json that {@link #config} and {@link #load} read. */
    private static final Set<String> READ_KEYS = Set.of("model_type", "hidden_size", "intermediate_size",
            "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size",
            "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling", "rope_parameters",
            "tie_word_embeddings", "attention_bias", "mlp_bias", "hidden_act", "bos_token_id", "eos_token_id");

    /**
     * Keys of Llama configs that do not change what inference computes: provenance, the stored dtype (read from the
     * safetensors headers instead), training-only settings, and pretraining_tp (the slicing of products in training,
     * the same function). Any other key is refused: a setting the forward ignored would change the model silently.
     */
    private static final Set<String> IGNORED_KEYS = Set.of("architectures", "_name_or_path", "transformers_version",
            "torch_dtype", "dtype", "initializer_range", "attention_dropout", "pretraining_tp", "use_cache",
            "pad_token_id");

    /** The keys that each rope type takes besides its name. */
    private static final Map<RopeScaling.Kind, Set<String>> ROPE_KEYS = Map.of(
            RopeScaling.Kind.NONE, Set.of(),
            RopeScaling.Kind.LINEAR, Set.of("factor"),
            RopeScaling.Kind.LLAMA3, Set.of("factor", "low_freq_factor", "high_freq_factor",
                    "original_max_position_embeddings"));

    private HfCheckpoint() {
    }

    /**
     * Loads the Hugging Face Llama model in {@code dir}.
     *
     * <p>config.json must give {@code model_type} "llama", {@code hidden_size}, {@code intermediate_size},
     * {@code num_hidden_layers}, {@code num_attention_heads}, {@code vocab_size}, {@code max_position_embeddings}
     * (the context) and {@code rms_norm_eps}; {@code num_key_value_heads} defaults to the number of heads,
     * {@code rope_theta} to 10000, {@code tie_word_embeddings} to false, {@code bos_token_id} to 1 and
     * {@code eos_token_id} to 2 (the first, when it is a list). RoPE scaling of types 'llama3' and 'linear' is
     * applied ({@link #rope}); other types, biases, a head size other than hidden_size / num_attention_heads and
     * keys the loader does not know are refused, naming the key. With tied embeddings the classifier is
     * embed_tokens: an lm_head.weight in the files is allowed only when it equals embed_tokens. The weights come
     * from {@code model.safetensors}, or from the shards that {@code model.safetensors.index.json} names; dtypes F32,
     * F16 and BF16 are read as float32.
     *
     * <p>The model's name is the directory's name; its fingerprint is {@code sha256:} and the hex sha256 of the
     * bytes of the weight files (the {@code .safetensors} files, not the index) read one after another in sorted
     * file-name order.
     *
     * @param dir the model directory
     * @param choice where to run: AUTO takes a GPU when DJL finds one, GPU fails when there is none
     * @return the loaded model; close it to free the weights and the tokenizer
     * @throws IOException when a file cannot be read or is not valid JSON or safetensors
     * @throws IllegalArgumentException when config.json lacks a key or holds an unsupported value, a tensor is
     *     missing, has another shape than the config implies, or an unsupported dtype (the message names it)
     * @throws IllegalStateException when GPU is asked for and DJL finds none
     */
    public static LlamaModel load(Path dir, DeviceChoice choice) throws IOException {
        Device device = LlamaModel.device(choice);
        JsonNode json = readJson(dir.resolve(CONFIG));
        LlamaConfig config = config(json);
        if (!Files.isRegularFile(dir.resolve(TOKENIZER))) {
            throw new IllegalArgumentException(dir.resolve(TOKENIZER) + " is missing");
        }
        Map<String, Tensor> tensors = tensors(dir);
        FloatBuffer weights = llama2cLayout(config, tensors);
        String fingerprint = fingerprint(tensors);
        String name = dir.toAbsolutePath().normalize().getFileName().toString();
        HfTokenizer tokenizer = HfTokenizer.read(dir.resolve(TOKENIZER), optionalToken(json, "bos_token_id", 1),
                optionalToken(json, "eos_token_id", 2), config.vocabSize());
        try {
            return LlamaModel.fromWeights(config, name, fingerprint, tokenizer, device, weights);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /** The {@link LlamaConfig} that config.json describes, refusing what the forward does not implement. */
    static LlamaConfig config(JsonNode json) {
        for (Iterator<String> keys = json.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!READ_KEYS.contains(key) && !IGNORED_KEYS.contains(key)) {
                throw new IllegalArgumentException(CONFIG + " has the key " + key + ", which this loader does not "
                        + "know: ignoring it could change the model (README, Models, lists the keys it reads and "
                        + "ignores)");
            }
        }
        String modelType = json.path("model_type").asText(null);
        if (modelType == null) {
            throw new IllegalArgumentException(CONFIG + " lacks the key model_type");
        }
        if (!modelType.equals("llama")) {
            throw new IllegalArgumentException(CONFIG + " has model_type '" + modelType
                    + "'; only 'llama' is supported");
        }
        int dim = requiredInt(json, "hidden_size");
        int hiddenDim = requiredInt(json, "intermediate_size");
        int nLayers = requiredInt(json, "num_hidden_layers");
        int nHeads = requiredInt(json, "num_attention_heads");
        int vocabSize = requiredInt(json, "vocab_size");
        int seqLen = requiredInt(json, "max_position_embeddings");
        float normEps = (float) requiredNumber(json, "rms_norm_eps");
        int nKvHeads = json.hasNonNull("num_key_value_heads") ? requiredInt(json, "num_key_value_heads") : nHeads;
        boolean tied = json.hasNonNull("tie_word_embeddings") && requiredBoolean(json, "tie_word_embeddings");
        if (json.hasNonNull("head_dim") && nHeads > 0 && json.get("head_dim").asInt() * nHeads != dim) {
            throw new IllegalArgumentException(CONFIG + " sets head_dim " + json.get("head_dim")
                    + "; only hidden_size / num_attention_heads = " + dim / nHeads + " is supported");
        }
        for (String bias : new String[] {"attention_bias", "mlp_bias"}) {
            if (json.hasNonNull(bias) && requiredBoolean(json, bias)) {
                throw new IllegalArgumentException(CONFIG + " sets " + bias + "; biases are not supported");
            }
        }
        String act = json.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new IllegalArgumentException(CONFIG + " sets hidden_act '" + act + "'; only 'silu' is supported");
        }
        Rope rope = rope(json);
        return new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, tied, normEps,
                rope.theta(), rope.scaling());
    }

    /** The RoPE base and scaling that config.json gives. */
    record Rope(float theta, RopeScaling scaling) {
    }

    /**
     * The RoPE of config.json: {@code rope_theta} (default 10000) and {@code rope_scaling} (transformers 4: Llama 3.1's
     * {@code {"rope_type": "llama3", "factor", "low_freq_factor", "high_freq_factor",
     * "original_max_position_embeddings"}}, or {@code "linear"} with a factor; the older key {@code type} names the
     * type too), or transformers 5's {@code rope_parameters}, the same object with {@code rope_theta} inside. What both
     * forms give must agree.
     */
    static Rope rope(JsonNode json) {
        float theta = LlamaConfig.ROPE_THETA;
        RopeScaling scaling = RopeScaling.NONE;
        JsonNode parameters = json.hasNonNull("rope_parameters") ? json.get("rope_parameters") : null;
        if (parameters != null) {
            scaling = ropeScaling(parameters, "rope_parameters", Set.of("rope_theta"));
            if (parameters.hasNonNull("rope_theta")) {
                theta = ropeTheta(parameters.get("rope_theta"), "rope_parameters.rope_theta");
            }
        }
        if (json.hasNonNull("rope_theta")) {
            float legacy = ropeTheta(json.get("rope_theta"), "rope_theta");
            if (parameters != null && parameters.hasNonNull("rope_theta") && legacy != theta) {
                throw new IllegalArgumentException(CONFIG + " sets rope_theta " + json.get("rope_theta")
                        + ", which contradicts rope_parameters.rope_theta " + parameters.get("rope_theta"));
            }
            theta = legacy;
        }
        if (json.hasNonNull("rope_scaling")) {
            RopeScaling legacy = ropeScaling(json.get("rope_scaling"), "rope_scaling", Set.of());
            if (parameters != null && !legacy.equals(scaling)) {
                throw new IllegalArgumentException(CONFIG + " sets rope_scaling " + json.get("rope_scaling")
                        + ", which contradicts rope_parameters " + parameters);
            }
            scaling = legacy;
        }
        return new Rope(theta, scaling);
    }

    private static float ropeTheta(JsonNode value, String key) {
        if (!value.isNumber() || !(value.asDouble() > 0) || Double.isInfinite(value.asDouble())) {
            throw new IllegalArgumentException(CONFIG + " key " + key + " must be a positive number, got " + value);
        }
        return (float) value.asDouble();
    }

    /**
     * A {@code rope_scaling} (or {@code rope_parameters}) object at {@code key}; {@code alsoAllowed} are keys that
     * the caller reads. Refuses other rope types, naming the type, and keys the type does not take, naming the key.
     */
    private static RopeScaling ropeScaling(JsonNode node, String key, Set<String> alsoAllowed) {
        if (!node.isObject()) {
            throw new IllegalArgumentException(CONFIG + " key " + key + " must be an object, got " + node);
        }
        JsonNode ropeType = node.get("rope_type");
        JsonNode legacyType = node.get("type");
        if (ropeType != null && legacyType != null && !ropeType.equals(legacyType)) {
            throw new IllegalArgumentException(CONFIG + " " + key + " sets rope_type " + ropeType + " and type "
                    + legacyType + "; they must agree");
        }
        JsonNode typeNode = ropeType != null ? ropeType : legacyType;
        if (typeNode == null || !typeNode.isTextual()) {
            throw new IllegalArgumentException(CONFIG + " " + key + " must name its rope_type, got " + node);
        }
        String type = typeNode.asText();
        RopeScaling.Kind kind = null;
        for (RopeScaling.Kind k : RopeScaling.Kind.values()) {
            if (k.ropeType().equals(type)) {
                kind = k;
            }
        }
        if (kind == null) {
            throw new IllegalArgumentException(CONFIG + " " + key + " has rope_type '" + type
                    + "'; only 'default', 'linear' and 'llama3' are supported");
        }
        for (Iterator<String> keys = node.fieldNames(); keys.hasNext(); ) {
            String field = keys.next();
            if (!field.equals("rope_type") && !field.equals("type") && !alsoAllowed.contains(field)
                    && !ROPE_KEYS.get(kind).contains(field)) {
                throw new IllegalArgumentException(CONFIG + " " + key + " has the key " + field + ", which rope_type '"
                        + type + "' does not take; it takes " + new TreeSet<>(ROPE_KEYS.get(kind)));
            }
        }
        for (String field : ROPE_KEYS.get(kind)) {
            JsonNode value = node.get(field);
            boolean integral = field.equals("original_max_position_embeddings");
            if (value == null || value.isNull() || !value.isNumber() || integral && !value.canConvertToInt()
                    || integral && !value.isIntegralNumber()) {
                throw new IllegalArgumentException(CONFIG + " " + key + " (rope_type '" + type + "') needs "
                        + field + " as " + (integral ? "an integer" : "a number") + ", got " + value);
            }
        }
        try {
            return switch (kind) {
                case NONE -> RopeScaling.NONE;
                case LINEAR -> RopeScaling.linear(node.get("factor").asDouble());
                case LLAMA3 -> RopeScaling.llama3(node.get("factor").asDouble(),
                        node.get("low_freq_factor").asDouble(), node.get("high_freq_factor").asDouble(),
                        node.get("original_max_position_embeddings").asInt());
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(CONFIG + " " + key + ": " + e.getMessage(), e);
        }
    }

    /**
     * Undoes the row permutation that Hugging Face's convert_llama_weights_to_hf (and llama2.c's export) apply to
     * q_proj and k_proj, {@code w.view(heads, rows / heads / 2, 2, cols).transpose(1, 2).reshape(rows, cols)}: it
     * moves the interleaved RoPE pairs (2i, 2i+1) of each head to the rotate-half pairs (i, i + headSize/2). Returns
     * W (rows, cols) with row h*hs + 2i + c taken from row h*hs + c*hs/2 + i.
     */
    static float[] unpermute(float[] w, int heads, int rows, int cols) {
        int hs = rows / heads;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < hs / 2; i++) {
                for (int c = 0; c < 2; c++) {
                    System.arraycopy(w, (h * hs + c * hs / 2 + i) * cols, out, (h * hs + 2 * i + c) * cols, cols);
                }
            }
        }
        return out;
    }

    /** The weights in run.c's memory_map_weights order, W (layer, out, in), as {@link LlamaModel#fromWeights} reads. */
    private static FloatBuffer llama2cLayout(LlamaConfig c, Map<String, Tensor> tensors) throws IOException {
        int dim = c.dim();
        int hidden = c.hiddenDim();
        int kvDim = c.kvDim();
        int layers = c.nLayers();
        long total = (long) c.vocabSize() * dim * (c.sharedClassifier() ? 1 : 2)
                + layers * (2L * dim + 2L * dim * dim + 2L * kvDim * dim + 3L * dim * hidden) + dim
                + (long) c.seqLen() * c.headSize();
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the model needs " + total + " floats; at most "
                    + Integer.MAX_VALUE + " are supported");
        }
        FloatBuffer w = FloatBuffer.allocate((int) total);
        float[] embedding = read(tensors, "model.embed_tokens.weight", c.vocabSize(), dim);
        if (c.sharedClassifier() && tensors.containsKey(LM_HEAD)
                && !Arrays.equals(embedding, read(tensors, LM_HEAD, c.vocabSize(), dim))) {
            // transformers would tie the two and drop lm_head silently; which one the exporter meant is unknown
            throw new IllegalArgumentException(CONFIG + " sets tie_word_embeddings true, but the tensor " + LM_HEAD
                    + " differs from model.embed_tokens.weight; set tie_word_embeddings to false to use " + LM_HEAD);
        }
        w.put(embedding);
        for (int l = 0; l < layers; l++) {
            w.put(read(tensors, layer(l, "input_layernorm"), dim));
        }
        for (int l = 0; l < layers; l++) {
            w.put(unpermute(read(tensors, layer(l, "self_attn.q_proj"), dim, dim), c.nHeads(), dim, dim));
        }
        for (int l = 0; l < layers; l++) {
            w.put(unpermute(read(tensors, layer(l, "self_attn.k_proj"), kvDim, dim), c.nKvHeads(), kvDim, dim));
        }
        for (int l = 0; l < layers; l++) {
            w.put(read(tensors, layer(l, "self_attn.v_proj"), kvDim, dim));
        }
        for (int l = 0; l < layers; l++) {
            w.put(read(tensors, layer(l, "self_attn.o_proj"), dim, dim));
        }
        for (int l = 0; l < layers; l++) {
            w.put(read(tensors, layer(l, "post_attention_layernorm"), dim));
        }
        for (int l = 0; l < layers; l++) {
            w.put(read(tensors, layer(l, "mlp.gate_proj"), hidden, dim)); // w1
        }
        for (int l = 0; l < layers; l++) {
            w.put(read(tensors, layer(l, "mlp.down_proj"), dim, hidden)); // w2
        }
        for (int l = 0; l < layers; l++) {
            w.put(read(tensors, layer(l, "mlp.up_proj"), hidden, dim)); // w3
        }
        w.put(read(tensors, "model.norm.weight", dim));
        w.position(w.position() + c.seqLen() * c.headSize()); // freq_cis: unused, left zero
        if (!c.sharedClassifier()) {
            w.put(read(tensors, LM_HEAD, c.vocabSize(), dim));
        }
        return w.flip();
    }

    private static String layer(int l, String module) {
        return "model.layers." + l + "." + module + ".weight";
    }

    /** One tensor's entry in a safetensors header: where its bytes lie and how to read them. */
    record Tensor(String name, Path file, String dtype, long[] shape, long begin, long end) {
    }

    /** Every tensor of the directory's safetensors file(s), by name. */
    private static Map<String, Tensor> tensors(Path dir) throws IOException {
        TreeSet<String> files = new TreeSet<>();
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode weightMap = readJson(index).path("weight_map");
            if (!weightMap.isObject() || weightMap.isEmpty()) {
                throw new IllegalArgumentException(index + " lacks a weight_map");
            }
            weightMap.elements().forEachRemaining(file -> files.add(file.asText()));
        } else if (Files.isRegularFile(dir.resolve(WEIGHTS))) {
            files.add(WEIGHTS);
        } else {
            throw new IllegalArgumentException("model directory " + dir + " holds neither " + WEIGHTS + " nor "
                    + INDEX);
        }
        Map<String, Tensor> tensors = new HashMap<>();
        for (String file : files) {
            for (Tensor tensor : header(dir.resolve(file))) {
                Tensor earlier = tensors.put(tensor.name(), tensor);
                if (earlier != null) {
                    throw new IllegalArgumentException("tensor " + tensor.name() + " is in both " + earlier.file()
                            + " and " + tensor.file());
                }
            }
        }
        return tensors;
    }

    /** Reads a safetensors header: u64 little-endian length N, then N bytes of JSON; data follows at 8 + N. */
    static List<Tensor> header(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("weight file " + file + " is missing");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            if (size < 8 || channel.read(lengthBytes, 0) != 8) {
                throw new IOException(file + " is too short for a safetensors header");
            }
            long n = lengthBytes.flip().getLong();
            if (n <= 0 || n > 100_000_000 || 8 + n > size) {
                throw new IOException(file + " declares a safetensors header of " + n + " bytes in a file of " + size);
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) n);
            channel.read(headerBytes, 8);
            JsonNode json = JSON.readTree(headerBytes.array());
            long dataStart = 8 + n;
            List<Tensor> tensors = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                if (entry.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = entry.getValue();
                long[] shape = new long[t.path("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.path("shape").get(i).asLong();
                }
                JsonNode offsets = t.path("data_offsets");
                long begin = dataStart + offsets.path(0).asLong(-1);
                long end = dataStart + offsets.path(1).asLong(-1);
                if (!t.path("dtype").isTextual() || offsets.size() != 2 || begin < dataStart || end < begin
                        || end > size) {
                    throw new IOException(file + ": tensor " + entry.getKey() + " has an invalid header entry " + t);
                }
                tensors.add(new Tensor(entry.getKey(), file, t.get("dtype").asText(), shape, begin, end));
            }
            return tensors;
        }
    }

    /** The tensor {@code name} as float32, checked against the expected shape. */
    private static float[] read(Map<String, Tensor> tensors, String name, long... expected) throws IOException {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("tensor " + name + " is missing from the safetensors file(s)");
        }
        if (!Arrays.equals(t.shape(), expected)) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(expected));
        }
        int bytesPer = switch (t.dtype()) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new IllegalArgumentException("tensor " + name + " has dtype " + t.dtype()
                    + "; only F32, F16 and BF16 are supported");
        };
        long count = Arrays.stream(expected).reduce(1, (a, b) -> a * b);
        if (t.end() - t.begin() != count * bytesPer) {
            throw new IOException(t.file() + ": tensor " + name + " holds " + (t.end() - t.begin()) + " bytes; "
                    + t.dtype() + " " + Arrays.toString(expected) + " needs " + count * bytesPer);
        }
        ByteBuffer in;
        try (FileChannel channel = FileChannel.open(t.file(), StandardOpenOption.READ)) {
            in = channel.map(FileChannel.MapMode.READ_ONLY, t.begin(), t.end() - t.begin())
                    .order(ByteOrder.LITTLE_ENDIAN);
        }
        float[] out = new float[(int) count];
        switch (t.dtype()) {
            case "F32" -> in.asFloatBuffer().get(out);
            case "BF16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.intBitsToFloat((in.getShort() & 0xFFFF) << 16); // bfloat16: float32's top half
                }
            }
            default -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = halfToFloat(in.getShort());
                }
            }
        }
        return out;
    }

    /** IEEE 754 binary16 to float32 (Java 17 lacks Float.float16ToFloat). */
    static float halfToFloat(short half) {
        int sign = (half & 0x8000) << 16;
        int exponent = (half >>> 10) & 0x1F;
        int mantissa = half & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13)); // infinity or NaN
        }
        if (exponent == 0) {
            float subnormal = mantissa * 0x1p-24f; // 2^-14 * mantissa / 2^10
            return sign == 0 ? subnormal : -subnormal;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13)); // rebias 15 -> 127
    }

    /** sha256 over the weight files' bytes, one after another in sorted file-name order. */
    private static String fingerprint(Map<String, Tensor> tensors) throws IOException {
        TreeSet<Path> files = new TreeSet<>((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
        tensors.values().forEach(t -> files.add(t.file()));
        MessageDigest digest = DigestUtils.getSha256Digest();
        for (Path file : files) {
            try (InputStream in = Files.newInputStream(file)) {
                DigestUtils.updateDigest(digest, in);
            }
        }
        return "sha256:" + Hex.encodeHexString(digest.digest());
    }

    private static JsonNode readJson(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " is missing");
        }
        return JSON.readTree(file.toFile());
    }

    private static int requiredInt(JsonNode json, String key) {
        JsonNode value = json.get(key);
        if (value == null || value.isNull()) {
            throw new IllegalArgumentException(CONFIG + " lacks the key " + key);
        }
        if (!value.canConvertToInt() || !value.isIntegralNumber()) {
            throw new IllegalArgumentException(CONFIG + " key " + key + " must be an integer, got " + value);
        }
        return value.asInt();
    }

    private static double requiredNumber(JsonNode json, String key) {
        JsonNode value = json.get(key);
        if (value == null || value.isNull()) {
            throw new IllegalArgumentException(CONFIG + " lacks the key " + key);
        }
        if (!value.isNumber()) {
            throw new IllegalArgumentException(CONFIG + " key " + key + " must be a number, got " + value);
        }
        return value.asDouble();
    }

    private static boolean requiredBoolean(JsonNode json, String key) {
        JsonNode value = json.get(key);
        if (!value.isBoolean()) {
            throw new IllegalArgumentException(CONFIG + " key " + key + " must be true or false, got " + value);
        }
        return value.asBoolean();
    }

    private static int optionalToken(JsonNode json, String key, int fallback) {
        JsonNode value = json.get(key);
        if (value != null && value.isArray()) {
            value = value.get(0); // several EOS ids (Llama 3): the Tokenizer interface has one, the first
        }
        return value == null || value.isNull() ? fallback : value.asInt();
    }
}
