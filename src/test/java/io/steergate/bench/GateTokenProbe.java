package io.steergate.bench;

import io.steergate.engine.eval.LexiconScorer;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.training.TokenGates;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a gated map's gates open, token by token: every site's gate at every token while the map steers at a strength
 * ({@link TokenGates#tokenGates}), and the mean over sites at the tokens of lexicon words (the concept's own tokens:
 * a word's tokens all count) against all other tokens. {@code steer gate --report} gives only each prompt's mean over
 * its tokens, which hides a gate that opens on one or two tokens of twenty.
 *
 * <pre>
 * java ... io.steergate.bench.GateTokenProbe MODEL_DIR MAP.safetensors PROMPTS.jsonl LEXICON.txt [STRENGTH] [SHOW]
 * </pre>
 * SHOW prompts are printed token by token with their gates.
 */
public final class GateTokenProbe {

    private static final Pattern WORD = Pattern.compile("[A-Za-z']+");

    private GateTokenProbe() {
    }

    public static void main(String[] args) throws Exception {
        double strength = args.length > 4 ? Double.parseDouble(args[4]) : 1.0;
        int show = args.length > 5 ? Integer.parseInt(args[5]) : 0;
        LexiconScorer lexicon = LexiconScorer.load(Path.of(args[3]));
        List<String> prompts = PromptSet.read(Path.of(args[2])).texts();
        try (LlamaModel model = LlamaModel.load(Path.of(args[0]), DeviceChoice.CPU)) {
            Intervention map = InterventionFile.read(Path.of(args[1]));
            map.checkCompatible(model.config(), model.fingerprint());
            List<SortedMap<HookSite, float[]>> gates = TokenGates.tokenGates(model, map, prompts, strength);
            double[] sum = new double[2]; // [other, concept]
            int[] count = new int[2];
            for (int i = 0; i < prompts.size(); i++) {
                int[] tokens = model.encodeTruncated(List.of(prompts.get(i)))[0];
                double[] gate = new double[tokens.length]; // per token, the mean over the gated sites
                for (float[] site : gates.get(i).values()) {
                    for (int t = 0; t < tokens.length; t++) {
                        gate[t] += site[t] / gates.get(i).size();
                    }
                }
                boolean[] concept = conceptTokens(model, tokens, lexicon);
                StringBuilder line = new StringBuilder();
                for (int t = 0; t < tokens.length; t++) {
                    int k = concept[t] ? 1 : 0;
                    sum[k] += gate[t];
                    count[k]++;
                    if (i < show) {
                        line.append(String.format(Locale.ROOT, "%s%s(%.2f) ", concept[t] ? "*" : "",
                                model.tokenizer().decode(new int[] {tokens[t]}).strip(), gate[t]));
                    }
                }
                if (i < show) {
                    System.out.println(line.toString().strip());
                }
            }
            System.out.printf(Locale.ROOT, "%s on %s at strength %s: mean gate over %d sites at concept-word tokens "
                    + "%.3f (%d tokens), at other tokens %.3f (%d tokens)%n", Path.of(args[1]).getFileName(),
                    Path.of(args[2]).getFileName(), strength, map.maps().size(), sum[1] / Math.max(1, count[1]),
                    count[1], sum[0] / Math.max(1, count[0]), count[0]);
        }
    }

    /** Which tokens belong to a lexicon word: each token's characters located by decoding the prompt's prefixes. */
    private static boolean[] conceptTokens(LlamaModel model, int[] tokens, LexiconScorer lexicon) {
        int[] end = new int[tokens.length];
        for (int t = 0; t < tokens.length; t++) {
            end[t] = model.tokenizer().decode(Arrays.copyOf(tokens, t + 1)).length();
        }
        String text = model.tokenizer().decode(tokens);
        boolean[] concept = new boolean[tokens.length];
        Matcher word = WORD.matcher(text);
        while (word.find()) {
            if (!lexicon.hits(word.group())) {
                continue;
            }
            for (int t = 0; t < tokens.length; t++) {
                int start = t == 0 ? 0 : end[t - 1];
                if (start < word.end() && end[t] > word.start()) {
                    concept[t] = true;
                }
            }
        }
        return concept;
    }
}
