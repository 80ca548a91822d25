package io.steergate.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The C libraries the image needs, copied from the build machine (a glibc x86_64 Linux, such as the Debian the
 * project builds on) instead of a base image: the jlink'd JVM, libtorch (its own libgomp is in the DJL jar), the JNI
 * glue and the Hugging Face tokenizers library link against these and nothing else (ImageTarIT checks that a run from
 * the unpacked image loads no library from outside it).
 */
final class SystemLibraries {

    /** Where Debian's multiarch glibc looks without an ld.so.cache, so the image needs neither ldconfig nor a shell. */
    static final String LIBRARY_DIR = "/lib/x86_64-linux-gnu";
    /** The ELF interpreter every x86_64 binary names. */
    static final String LOADER = "/lib64/ld-linux-x86-64.so.2";

    static final List<String> REQUIRED = List.of(
            "ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
            "libz.so.1",           // the JDK's zip support links the system zlib on Debian
            "libstdc++.so.6", "libgcc_s.so.1");  // libtorch, the DJL JNI library, tokenizers
    /** Name service modules glibc may load for user and host lookups (built into libc on newer glibc, absent then). */
    static final List<String> OPTIONAL = List.of("libnss_files.so.2", "libnss_dns.so.2", "libresolv.so.2");

    private static final List<Path> SEARCH = List.of(
            Path.of("/lib/x86_64-linux-gnu"), Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/lib64"),
            Path.of("/usr/lib64"));

    private SystemLibraries() {
    }

    /** soname -> the real file on this machine (links resolved). */
    static Map<String, Path> find() throws IOException {
        String arch = System.getProperty("os.arch");
        if (!"Linux".equals(System.getProperty("os.name")) || !("amd64".equals(arch) || "x86_64".equals(arch))) {
            throw new IllegalStateException("the images are linux/amd64 and take their C libraries from the build "
                    + "machine: build them on an x86_64 Linux with glibc (this is " + System.getProperty("os.name")
                    + "/" + arch + ")");
        }
        Map<String, Path> found = new LinkedHashMap<>();
        for (String soname : REQUIRED) {
            found.put(soname, locate(soname).orElseThrow(() -> new IllegalStateException(
                    "C library " + soname + " not found in " + SEARCH + " (Debian: apt-get install libc6 zlib1g "
                            + "libstdc++6 libgcc-s1)")));
        }
        for (String soname : OPTIONAL) {
            locate(soname).ifPresent(path -> found.put(soname, path));
        }
        return found;
    }

    private static Optional<Path> locate(String soname) throws IOException {
        for (Path dir : SEARCH) {
            Path candidate = dir.resolve(soname);
            if (Files.exists(candidate)) {
                return Optional.of(candidate.toRealPath());
            }
        }
        return Optional.empty();
    }

    /** A short description of where the libraries came from, for an image label. */
    static String origin() {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/os-release"))) {
                if (line.startsWith("PRETTY_NAME=")) {
                    return line.substring("PRETTY_NAME=".length()).replace("\"", "");
                }
            }
        } catch (IOException e) {
            // no os-release: say only that they came from the build machine
        }
        return "the build machine";
    }
}
