package io.steergate.engine.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Writes a llama2.c checkpoint out as a Hugging Face Llama directory (config.json, safetensors, tokenizer.json), as
 * llama2.c's export.py and convert_llama_weights_to_hf do: W stays (out, in), q and k rows get the rotate-half
 * permutation. The fixture from which {@link HfCheckpointTest} checks the loader.
 */
final class HfExport {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor to write: W (out, in) row-major, as in both formats. */
    record Tensor(long[] shape, float[] data) {
    }

    private HfExport() {
    }

    /** The config.json of a llama2.c checkpoint. */
    static ObjectNode config(ReferenceLlama m, boolean tied) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("hidden_size", m.dim);
        c.put("intermediate_size", m.hiddenDim);
        c.put("num_hidden_layers", m.nLayers);
        c.put("num_attention_heads", m.nHeads);
        c.put("num_key_value_heads", m.nKvHeads);
        c.put("vocab_size", m.vocabSize);
        c.put("max_position_embeddings", m.seqLen);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", tied);
        c.put("hidden_act", "silu");
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", "float32");
        return c;
    }

    /** The tensors of a llama2.c checkpoint under their Hugging Face names; lm_head only when not tied. */
    static Map<String, Tensor> tensors(ReferenceLlama m, boolean tied) {
        int dim = m.dim;
        int kvDim = m.kvDim;
        int hidden = m.hiddenDim;
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("model.embed_tokens.weight", new Tensor(new long[] {m.vocabSize, dim}, m.tokenEmbeddingTable.clone()));
        for (int l = 0; l < m.nLayers; l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "input_layernorm.weight", new Tensor(new long[] {dim}, slice(m.rmsAttWeight, l, dim)));
            t.put(p + "self_attn.q_proj.weight",
                    new Tensor(new long[] {dim, dim}, permute(slice(m.wq, l, dim * dim), m.nHeads, dim, dim)));
            t.put(p + "self_attn.k_proj.weight", new Tensor(new long[] {kvDim, dim},
                    permute(slice(m.wk, l, kvDim * dim), m.nKvHeads, kvDim, dim)));
            t.put(p + "self_attn.v_proj.weight", new Tensor(new long[] {kvDim, dim}, slice(m.wv, l, kvDim * dim)));
            t.put(p + "self_attn.o_proj.weight", new Tensor(new long[] {dim, dim}, slice(m.wo, l, dim * dim)));
            t.put(p + "post_attention_layernorm.weight", new Tensor(new long[] {dim}, slice(m.rmsFfnWeight, l, dim)));
            t.put(p + "mlp.gate_proj.weight", new Tensor(new long[] {hidden, dim}, slice(m.w1, l, hidden * dim)));
            t.put(p + "mlp.down_proj.weight", new Tensor(new long[] {dim, hidden}, slice(m.w2, l, dim * hidden)));
            t.put(p + "mlp.up_proj.weight", new Tensor(new long[] {hidden, dim}, slice(m.w3, l, hidden * dim)));
        }
        t.put("model.norm.weight", new Tensor(new long[] {dim}, m.rmsFinalWeight.clone()));
        if (!tied) {
            t.put("lm_head.weight", new Tensor(new long[] {m.vocabSize, dim}, m.wcls.clone()));
        }
        return t;
    }

    /**
     * convert_llama_weights_to_hf's permute, transcribed literally:
     * {@code w.view(heads, rows // heads // 2, 2, cols).transpose(1, 2).reshape(rows, cols)}.
     */
    static float[] permute(float[] w, int heads, int rows, int cols) {
        int half = rows / heads / 2;
        float[] out = new float[w.length];
        // view index (h, i, c, :) is source row h*2*half + i*2 + c; after transpose(1, 2) it sits at (h, c, i, :)
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int c = 0; c < 2; c++) {
                    int from = h * 2 * half + i * 2 + c;
                    int to = (h * 2 + c) * half + i;
                    System.arraycopy(w, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }

    /**
     * Exports {@code m} (its tokenizer.json from {@code tokenizerJson}) to {@code dir} after letting the caller edit
     * the config and the tensors; lm_head is written when the edited config does not tie the embeddings.
     */
    static Path export(ReferenceLlama m, Path dir, String dtype, int shards, Path tokenizerJson,
            Consumer<ObjectNode> editConfig, Consumer<Map<String, Tensor>> editTensors) throws IOException {
        ObjectNode config = config(m, true);
        editConfig.accept(config);
        Map<String, Tensor> tensors = tensors(m, config.path("tie_word_embeddings").asBoolean());
        editTensors.accept(tensors);
        write(dir, config, tensors, dtype, shards, tokenizerJson);
        return dir;
    }

    /**
     * Writes the whole directory: config.json, the tensors in {@code dtype} (F32, F16 or BF16) in one
     * model.safetensors or, with {@code shards} > 1, in that many shards plus model.safetensors.index.json, and
     * tokenizer.json copied from {@code tokenizerJson}.
     */
    static void write(Path dir, ObjectNode config, Map<String, Tensor> tensors, String dtype, int shards,
            Path tokenizerJson) throws IOException {
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config);
        Files.copy(tokenizerJson, dir.resolve("tokenizer.json"));
        if (shards == 1) {
            writeSafetensors(dir.resolve("model.safetensors"), tensors, dtype);
            return;
        }
        List<String> names = new ArrayList<>(tensors.keySet());
        ObjectNode index = JSON.createObjectNode();
        ObjectNode weightMap = index.putObject("weight_map");
        long totalSize = 0;
        for (int s = 0; s < shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            Map<String, Tensor> shard = new LinkedHashMap<>();
            for (String name : names.subList(s * names.size() / shards, (s + 1) * names.size() / shards)) {
                shard.put(name, tensors.get(name));
                weightMap.put(name, file);
            }
            totalSize += writeSafetensors(dir.resolve(file), shard, dtype);
        }
        index.putObject("metadata").put("total_size", totalSize);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
    }

    /**
     * The safetensors format: u64 little-endian N, an N-byte JSON header (name to dtype, shape, data_offsets
     * relative to the data; padded with spaces to a multiple of 8), then the raw little-endian data. Returns the
     * data's size in bytes.
     */
    static long writeSafetensors(Path file, Map<String, Tensor> tensors, String dtype) throws IOException {
        int bytesPer = dtype.equals("F32") ? 4 : 2;
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", dtype);
            var shape = entry.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            long size = (long) e.getValue().data().length * bytesPer;
            entry.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        StringBuilder json = new StringBuilder(JSON.writeValueAsString(header));
        while (json.length() % 8 != 0) {
            json.append(' ');
        }
        byte[] headerBytes = json.toString().getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).array());
            out.write(headerBytes);
            for (Tensor t : tensors.values()) {
                ByteBuffer data = ByteBuffer.allocate(t.data().length * bytesPer).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : t.data()) {
                    switch (dtype) {
                        case "F32" -> data.putFloat(f);
                        case "BF16" -> data.putShort(floatToBf16(f));
                        case "F16" -> data.putShort(floatToHalf(f));
                        default -> data.putShort((short) 0); // any other label: 2 bytes each, for refusal tests
                    }
                }
                out.write(data.array());
            }
        }
        return offset;
    }

    /** float32 to bfloat16, rounding to nearest even (finite values only). */
    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** float32 to IEEE binary16, rounding to nearest even (normal range only, ample for these weights). */
    static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        float abs = Math.abs(f);
        if (abs < 0x1p-14f) {
            return (short) (sign | Math.round(abs * 0x1p24f)); // subnormal: units of 2^-24
        }
        if (abs >= 65520f) {
            return (short) (sign | 0x7C00); // overflow: infinity
        }
        int rounded = (bits & 0x7FFFFFFF) + 0xFFF + ((bits >>> 13) & 1); // round the 13 dropped bits to even
        return (short) (sign | ((rounded >>> 13) - (112 << 10)));
    }

    private static float[] slice(float[] all, int layer, int size) {
        float[] out = new float[size];
        System.arraycopy(all, layer * size, out, 0, size);
        return out;
    }
}
