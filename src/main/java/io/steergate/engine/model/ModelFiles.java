package io.steergate.engine.model;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.apache.commons.codec.digest.DigestUtils;

/**
 * The files of the default model, stories260K from Karpathy's tinyllamas, with their sha256: checks a local copy
 * and fetches the originals from Hugging Face when they are absent.
 */
public final class ModelFiles {

    /** The default model's name and its checkpoint file. */
    public static final String NAME = "stories260K";
    public static final String CHECKPOINT = "stories260K.bin";
    public static final String TOKENIZER = "tok512.bin";
    /** Where the original files are published. */
    public static final String SOURCE = "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/";

    /** File name to sha256 (hex) of the original files. */
    public static final Map<String, String> SHA256 = Map.of(
            CHECKPOINT, "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696",
            TOKENIZER, "037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312");

    private ModelFiles() {
    }

    /**
     * Checks that {@code dir} holds the default model's files with their published sha256.
     *
     * @throws IOException naming the file that is missing or whose sha256 differs
     */
    public static void verify(Path dir) throws IOException {
        for (Map.Entry<String, String> file : SHA256.entrySet()) {
            Path path = dir.resolve(file.getKey());
            if (!Files.isRegularFile(path)) {
                throw new IOException("model file " + path + " is missing");
            }
            String actual = sha256(path);
            if (!actual.equals(file.getValue())) {
                throw new IOException("model file " + path + " has sha256 " + actual + ", expected " + file.getValue());
            }
        }
    }

    /**
     * Downloads the files of the default model that {@code dir} lacks from {@link #SOURCE}, then verifies all of
     * them. A download goes to a temporary file first and is moved in place only once its sha256 matches.
     *
     * @throws IOException on a failed request or a sha256 mismatch, naming the file
     * @throws InterruptedException when interrupted while downloading
     */
    public static void download(Path dir, HttpClient http) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        for (Map.Entry<String, String> file : SHA256.entrySet()) {
            Path target = dir.resolve(file.getKey());
            if (Files.isRegularFile(target)) {
                continue;
            }
            URI uri = URI.create(SOURCE + file.getKey());
            Path part = Files.createTempFile(dir, file.getKey(), ".part");
            try {
                HttpResponse<Path> response = http.send(HttpRequest.newBuilder(uri).GET().build(),
                        HttpResponse.BodyHandlers.ofFile(part));
                if (response.statusCode() != 200) {
                    throw new IOException("downloading " + uri + " answered HTTP " + response.statusCode());
                }
                String actual = sha256(part);
                if (!actual.equals(file.getValue())) {
                    throw new IOException("downloaded " + file.getKey() + " from " + uri + " has sha256 " + actual
                            + ", expected " + file.getValue());
                }
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(part);
            }
        }
        verify(dir);
    }

    /** Hex sha256 of a file. */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return DigestUtils.sha256Hex(in);
        }
    }

    static String sha256(byte[] bytes) {
        return DigestUtils.sha256Hex(bytes);
    }
}
