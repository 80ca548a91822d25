package io.steergate.engine.model;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.IntUnaryOperator;

/**
 * Mean-pools the activations of a generation at some hook sites over each row's generated positions, for scorers that
 * read the model's own activations (a probe) at almost no cost: nothing is run again, each forward step hands over the
 * (B, width) activation of its last column at each site, and a row adds it only when that step emitted one of its
 * tokens.
 *
 * <p>A row's n generated tokens are pooled at the n positions whose outputs chose them: the prompt's last position
 * (the prefill) and each generated token fed back but the last. The generator never feeds its last token back (the
 * cache has no column for it, and a row that fills the context has no position for it), so these are the positions a
 * generation computes anyway. The activation is the site's output after the row's own steering there: what the
 * model continued from. A row that generated nothing has no mean (its pooled vector is absent).
 */
public final class GeneratedPooling {

    private final int rows;
    private final Map<Integer, Integer> slotOf = new LinkedHashMap<>(); // site index -> slot
    private final int[] widths;
    private final boolean[][] wants; // [slot][row]
    private final double[][][] sums; // [slot][row][width]
    private final float[][] lastStep; // [slot][rows * width], the current step's last column
    private final int[] counts; // per row: positions pooled

    /**
     * @param sitesPerRow per row, the site indices ({@link SiteHook#index}) to pool; null or empty for none
     * @param widthOf the width of each site index
     */
    public GeneratedPooling(List<? extends Collection<Integer>> sitesPerRow, IntUnaryOperator widthOf) {
        this.rows = sitesPerRow.size();
        SortedSet<Integer> all = new TreeSet<>();
        sitesPerRow.forEach(sites -> {
            if (sites != null) {
                all.addAll(sites);
            }
        });
        widths = new int[all.size()];
        wants = new boolean[all.size()][rows];
        sums = new double[all.size()][][];
        lastStep = new float[all.size()][];
        int slot = 0;
        for (int site : all) {
            slotOf.put(site, slot);
            widths[slot] = widthOf.applyAsInt(site);
            sums[slot] = new double[rows][widths[slot]];
            slot++;
        }
        for (int b = 0; b < rows; b++) {
            Collection<Integer> sites = sitesPerRow.get(b);
            if (sites != null) {
                for (int site : sites) {
                    wants[slotOf.get(site)][b] = true;
                }
            }
        }
        counts = new int[rows];
    }

    /** Whether any row pools any site. */
    public boolean isEmpty() {
        return slotOf.isEmpty();
    }

    /** The site indices pooled for some row, in forward order. */
    public Set<Integer> sites() {
        return slotOf.keySet();
    }

    /** Hands over this step's activation at {@code site}: the last column of every row, (B * width) row-major. */
    public void observe(int site, float[] lastColumn) {
        int slot = slotOf.get(site);
        if (lastColumn.length != rows * widths[slot]) {
            throw new IllegalArgumentException("site " + site + ": expected " + rows + " x " + widths[slot]
                    + " values, got " + lastColumn.length);
        }
        lastStep[slot] = lastColumn;
    }

    /** Adds this step's activations to the rows that emitted a generated token from it. */
    public void emitted(boolean[] emitted) {
        for (int b = 0; b < rows; b++) {
            if (!emitted[b]) {
                continue;
            }
            counts[b]++;
            for (int slot = 0; slot < widths.length; slot++) {
                if (!wants[slot][b]) {
                    continue;
                }
                int width = widths[slot];
                double[] sum = sums[slot][b];
                float[] step = lastStep[slot];
                for (int j = 0; j < width; j++) {
                    sum[j] += step[b * width + j];
                }
            }
        }
    }

    /** Row {@code b}'s mean activation per pooled site index; empty when it pooled nothing or generated nothing. */
    public Map<Integer, float[]> means(int b) {
        Map<Integer, float[]> out = new LinkedHashMap<>();
        if (counts[b] == 0) {
            return out;
        }
        for (Map.Entry<Integer, Integer> e : slotOf.entrySet()) {
            int slot = e.getValue();
            if (!wants[slot][b]) {
                continue;
            }
            float[] mean = new float[widths[slot]];
            for (int j = 0; j < mean.length; j++) {
                mean[j] = (float) (sums[slot][b][j] / counts[b]);
            }
            out.put(e.getKey(), mean);
        }
        return out;
    }
}
