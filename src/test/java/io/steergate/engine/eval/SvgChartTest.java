package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** SvgChart writes well-formed SVG with its title, labels, ticks, series and legend. */
class SvgChartTest {

    private final SvgChart chart = new SvgChart("Dog rate vs strength", "strength λ", "concept rate")
            .series("no steering", new double[] {0, 0.5, 1}, new double[] {0.1, 0.1, 0.1})
            .series("Linear-AcT <resid & attn>", new double[] {0, 0.5, 1}, new double[] {0.1, 0.06, 0.02})
            .series("LinEAS \"resid\"", new double[] {0, 0.5, 1, 2}, new double[] {0.1, 0.04, 0.015, 0.0});

    @Test
    void isWellFormedXmlWithSeriesNamesAndLegend() throws Exception {
        Document doc = parse(chart.render());
        Element root = doc.getDocumentElement();
        assertEquals("svg", root.getLocalName());
        assertEquals("http://www.w3.org/2000/svg", root.getNamespaceURI());
        List<String> texts = texts(doc);
        assertTrue(texts.contains("Dog rate vs strength"), texts.toString());
        assertTrue(texts.contains("strength λ"), texts.toString());
        assertTrue(texts.contains("concept rate"), texts.toString());
        for (String name : List.of("no steering", "Linear-AcT <resid & attn>", "LinEAS \"resid\"")) {
            assertTrue(texts.contains(name), name + " not in " + texts);
        }
        NodeList lines = doc.getElementsByTagNameNS("*", "polyline");
        assertEquals(3, lines.getLength());
        assertEquals(4, ((Element) lines.item(2)).getAttribute("points").split(" ").length);
        assertEquals(10, doc.getElementsByTagNameNS("*", "circle").getLength());
    }

    @Test
    void ticksAreNiceNumbersCoveringTheData() throws Exception {
        List<String> texts = texts(parse(chart.render()));
        // x over [0, 2]: step 0.5; y over [0, 0.1]: step 0.02
        for (String tick : List.of("0.0", "0.5", "1.0", "1.5", "2.0", "0.00", "0.02", "0.10")) {
            assertTrue(texts.contains(tick), tick + " not in " + texts);
        }
    }

    @Test
    void aSinglePointOrFlatSeriesStillRenders() throws Exception {
        String svg = new SvgChart("one", "x", "y").series("p", new double[] {3}, new double[] {0.25}).render();
        assertEquals(1, parse(svg).getElementsByTagNameNS("*", "circle").getLength());
        assertTrue(!svg.contains("NaN") && !svg.contains("Infinity"), svg);
    }

    @Test
    void writesAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("chart.svg");
        chart.write(file);
        parse(Files.readString(file, StandardCharsets.UTF_8));
    }

    @Test
    void rejectsBadSeriesAndAnEmptyChart() {
        SvgChart empty = new SvgChart("t", "x", "y");
        assertThrows(IllegalStateException.class, empty::render);
        assertThrows(IllegalArgumentException.class, () -> empty.series("a", new double[] {1}, new double[] {1, 2}));
        assertThrows(IllegalArgumentException.class, () -> empty.series("a", new double[0], new double[0]));
        assertThrows(IllegalArgumentException.class,
                () -> empty.series("a", new double[] {Double.NaN}, new double[] {1}));
    }

    private static Document parse(String svg) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<String> texts(Document doc) {
        NodeList nodes = doc.getElementsByTagNameNS("*", "text");
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            texts.add(nodes.item(i).getTextContent());
        }
        return texts;
    }
}
