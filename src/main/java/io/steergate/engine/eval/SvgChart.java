package io.steergate.engine.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A line chart written as standalone SVG, without a plotting library: title, axis labels, ticks, several named
 * series with a legend. Evaluation reports use it for concept rate against steering strength.
 */
public final class SvgChart {

    private static final int WIDTH = 720;
    private static final int HEIGHT = 420;
    private static final int LEFT = 70;
    private static final int RIGHT = 190;
    private static final int TOP = 45;
    private static final int BOTTOM = 60;
    private static final String[] COLOURS = {
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

    private record Series(String name, double[] x, double[] y) {
    }

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series = new ArrayList<>();

    /** An empty chart with a title and axis labels. */
    public SvgChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /**
     * Adds a series drawn as a line through (x[i], y[i]) in the given order, with a marker at each point.
     *
     * @return this chart
     * @throws IllegalArgumentException if x and y differ in length, are empty, or hold a value that is not finite
     */
    public SvgChart series(String name, double[] x, double[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("series " + name + ": " + x.length + " x values, " + y.length + " y");
        }
        if (x.length == 0) {
            throw new IllegalArgumentException("series " + name + " has no points");
        }
        for (int i = 0; i < x.length; i++) {
            if (!Double.isFinite(x[i]) || !Double.isFinite(y[i])) {
                throw new IllegalArgumentException("series " + name + " point " + i + " is not finite");
            }
        }
        series.add(new Series(name, x.clone(), y.clone()));
        return this;
    }

    /**
     * The chart as an SVG document.
     *
     * @throws IllegalStateException if no series was added
     */
    public String render() {
        if (series.isEmpty()) {
            throw new IllegalStateException("chart '" + title + "' has no series");
        }
        Axis xAxis = Axis.of(series.stream().flatMapToDouble(s -> Arrays.stream(s.x)).toArray());
        Axis yAxis = Axis.of(series.stream().flatMapToDouble(s -> Arrays.stream(s.y)).toArray());
        int plotWidth = WIDTH - LEFT - RIGHT;
        int plotHeight = HEIGHT - TOP - BOTTOM;

        StringBuilder svg = new StringBuilder();
        svg.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT, WIDTH,
                HEIGHT));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, HEIGHT));
        text(svg, LEFT + plotWidth / 2.0, 25, "middle", "font-size=\"16\" font-weight=\"bold\"", title);

        // grid lines and tick labels
        svg.append("<g class=\"ticks\" stroke=\"#dddddd\">\n");
        for (double t : xAxis.ticks) {
            double px = LEFT + xAxis.fraction(t) * plotWidth;
            line(svg, px, TOP, px, TOP + plotHeight);
        }
        for (double t : yAxis.ticks) {
            double py = TOP + plotHeight - yAxis.fraction(t) * plotHeight;
            line(svg, LEFT, py, LEFT + plotWidth, py);
        }
        svg.append("</g>\n");
        for (double t : xAxis.ticks) {
            double px = LEFT + xAxis.fraction(t) * plotWidth;
            text(svg, px, TOP + plotHeight + 18, "middle", "", xAxis.label(t));
        }
        for (double t : yAxis.ticks) {
            double py = TOP + plotHeight - yAxis.fraction(t) * plotHeight;
            text(svg, LEFT - 8, py + 4, "end", "", yAxis.label(t));
        }

        // axes and their labels
        svg.append("<g class=\"axes\" stroke=\"black\">\n");
        line(svg, LEFT, TOP + plotHeight, LEFT + plotWidth, TOP + plotHeight);
        line(svg, LEFT, TOP, LEFT, TOP + plotHeight);
        svg.append("</g>\n");
        text(svg, LEFT + plotWidth / 2.0, HEIGHT - 15, "middle", "", xLabel);
        double yMid = TOP + plotHeight / 2.0;
        text(svg, 18, yMid, "middle", String.format(Locale.ROOT, "transform=\"rotate(-90 18 %.1f)\"", yMid), yLabel);

        // series, then legend
        for (int s = 0; s < series.size(); s++) {
            Series one = series.get(s);
            String colour = COLOURS[s % COLOURS.length];
            svg.append("<g class=\"series\">\n<title>").append(escape(one.name)).append("</title>\n");
            StringBuilder points = new StringBuilder();
            for (int i = 0; i < one.x.length; i++) {
                double px = LEFT + xAxis.fraction(one.x[i]) * plotWidth;
                double py = TOP + plotHeight - yAxis.fraction(one.y[i]) * plotHeight;
                points.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.1f,%.1f", px, py));
                svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n", px,
                        py, colour));
            }
            svg.append(String.format(Locale.ROOT,
                    "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>%n</g>%n", points,
                    colour));
        }
        svg.append("<g class=\"legend\">\n");
        for (int s = 0; s < series.size(); s++) {
            double ly = TOP + 10 + s * 20;
            double lx = WIDTH - RIGHT + 15;
            svg.append(String.format(Locale.ROOT,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>%n", lx,
                    ly, lx + 20, ly, COLOURS[s % COLOURS.length]));
            text(svg, lx + 26, ly + 4, "start", "", series.get(s).name);
        }
        svg.append("</g>\n</svg>\n");
        return svg.toString();
    }

    /** Writes {@link #render()} to {@code file} as UTF-8. */
    public void write(Path file) throws IOException {
        Files.writeString(file, render(), StandardCharsets.UTF_8);
    }

    private static void line(StringBuilder svg, double x1, double y1, double x2, double y2) {
        svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>%n", x1, y1, x2,
                y2));
    }

    private static void text(StringBuilder svg, double x, double y, String anchor, String extra, String content) {
        svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>%s</text>%n", x, y,
                anchor, extra.isEmpty() ? "" : " " + extra, escape(content)));
    }

    // XML text and attribute escaping; characters XML 1.0 forbids are dropped.
    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> {
                    if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    /** An axis over "nice" ticks (1, 2 or 5 times a power of ten) that cover the data. */
    private static final class Axis {

        final double lo;
        final double hi;
        final double step;
        final List<Double> ticks = new ArrayList<>();

        private Axis(double lo, double hi, double step) {
            this.lo = lo;
            this.hi = hi;
            this.step = step;
            long n = Math.round((hi - lo) / step);
            for (long i = 0; i <= n; i++) {
                ticks.add(lo + i * step);
            }
        }

        static Axis of(double[] values) {
            double min = Arrays.stream(values).min().orElseThrow();
            double max = Arrays.stream(values).max().orElseThrow();
            if (max - min < 1e-12 * Math.max(1, Math.abs(max))) {
                double pad = min == 0 ? 1 : Math.abs(min) * 0.5;
                min -= pad;
                max += pad;
            }
            double step = niceStep((max - min) / 5);
            return new Axis(Math.floor(min / step + 1e-9) * step, Math.ceil(max / step - 1e-9) * step, step);
        }

        static double niceStep(double rough) {
            double power = Math.pow(10, Math.floor(Math.log10(rough)));
            double f = rough / power;
            double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
            return nice * power;
        }

        double fraction(double v) {
            return (v - lo) / (hi - lo);
        }

        String label(double v) {
            int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
            double shown = Math.abs(v) < step * 1e-9 ? 0 : v;
            return String.format(Locale.ROOT, "%." + decimals + "f", shown);
        }
    }
}
