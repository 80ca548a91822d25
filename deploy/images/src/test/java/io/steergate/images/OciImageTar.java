package io.steergate.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * An OCI image archive read the way a runtime reads it (image-layout spec): {@code index.json} names the manifest,
 * the manifest names the config and the layers, each a blob under {@code blobs/sha256/}. Nothing of the builder is used.
 */
final class OciImageTar implements AutoCloseable {

    /** One file of a layer: its path (no leading slash), mode bits, owner ids and size. */
    record Entry(String path, int mode, long uid, long gid, long size, boolean directory) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TarFile tar;
    private final Map<String, TarArchiveEntry> byName = new LinkedHashMap<>();
    final JsonNode index;
    final JsonNode manifest;
    final JsonNode config;

    OciImageTar(Path file) throws IOException {
        tar = new TarFile(file.toFile());
        for (TarArchiveEntry e : tar.getEntries()) {
            byName.put(e.getName(), e);
        }
        index = json("index.json");
        manifest = json(blobPath(index.path("manifests").path(0).path("digest").asText()));
        config = json(blobPath(manifest.path("config").path("digest").asText()));
    }

    boolean has(String name) {
        return byName.containsKey(name);
    }

    JsonNode json(String name) throws IOException {
        TarArchiveEntry e = byName.get(name);
        if (e == null) {
            throw new IOException("no " + name + " in the image archive");
        }
        try (InputStream in = tar.getInputStream(e)) {
            return JSON.readTree(in);
        }
    }

    static String blobPath(String digest) {
        if (!digest.startsWith("sha256:")) {
            throw new IllegalArgumentException("not a sha256 digest: '" + digest + "'");
        }
        return "blobs/sha256/" + digest.substring("sha256:".length());
    }

    List<String> layerDigests() {
        List<String> digests = new ArrayList<>();
        manifest.path("layers").forEach(layer -> digests.add(layer.path("digest").asText()));
        return digests;
    }

    /** Every entry of every layer, in layer order. */
    List<Entry> entries() throws IOException {
        List<Entry> entries = new ArrayList<>();
        for (String digest : layerDigests()) {
            try (TarArchiveInputStream layer = openLayer(digest)) {
                TarArchiveEntry e;
                while ((e = layer.getNextEntry()) != null) {
                    entries.add(new Entry(strip(e.getName()), e.getMode(), e.getLongUserId(), e.getLongGroupId(),
                            e.getSize(), e.isDirectory()));
                }
            }
        }
        return entries;
    }

    /** The content of one file of the image (the last layer's, as a runtime would see it). */
    byte[] read(String path) throws IOException {
        byte[] content = null;
        for (String digest : layerDigests()) {
            try (TarArchiveInputStream layer = openLayer(digest)) {
                TarArchiveEntry e;
                while ((e = layer.getNextEntry()) != null) {
                    if (!e.isDirectory() && strip(e.getName()).equals(path)) {
                        content = layer.readAllBytes();
                    }
                }
            }
        }
        if (content == null) {
            throw new IOException("no /" + path + " in the image");
        }
        return content;
    }

    /**
     * Unpacks the layers into {@code rootfs} as a runtime would (this image has no links and no whiteouts), with each
     * entry's mode and, when {@code owners} (which needs root), its owner.
     */
    void unpack(Path rootfs, boolean owners) throws IOException {
        for (String digest : layerDigests()) {
            try (TarArchiveInputStream layer = openLayer(digest)) {
                TarArchiveEntry e;
                while ((e = layer.getNextEntry()) != null) {
                    Path target = rootfs.resolve(strip(e.getName())).normalize();
                    if (!target.startsWith(rootfs)) {
                        throw new IOException("layer entry outside the root: " + e.getName());
                    }
                    if (e.isDirectory()) {
                        Files.createDirectories(target);
                    } else {
                        Files.createDirectories(target.getParent());
                        Files.copy(layer, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                    Files.setPosixFilePermissions(target, permissions(e.getMode()));
                    if (owners) {
                        Files.setAttribute(target, "unix:uid", (int) e.getLongUserId());
                        Files.setAttribute(target, "unix:gid", (int) e.getLongGroupId());
                    }
                }
            }
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE, high bit first
        for (int i = 0; i < 9; i++) {
            if ((mode & (0400 >> i)) != 0) {
                perms.add(bits[i]);
            }
        }
        return perms;
    }

    private TarArchiveInputStream openLayer(String digest) throws IOException {
        TarArchiveEntry blob = byName.get(blobPath(digest));
        if (blob == null) {
            throw new IOException("layer " + digest + " is named by the manifest but not in the archive");
        }
        return new TarArchiveInputStream(new GZIPInputStream(tar.getInputStream(blob), 1 << 16));
    }

    private static String strip(String name) {
        String n = name.startsWith("./") ? name.substring(2) : name.startsWith("/") ? name.substring(1) : name;
        return n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
    }

    @Override
    public void close() throws IOException {
        tar.close();
    }
}
