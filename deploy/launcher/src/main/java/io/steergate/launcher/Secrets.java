package io.steergate.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;

/**
 * The launcher's secret files under {@code <data-dir>/credentials}: random passwords created once and settings files
 * holding them, each readable by its owner only (file 0600, directory 0700). A file is written beside its final
 * name and moved into place, so a crash never leaves half a password.
 */
final class Secrets {

    private static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Secrets() {
    }

    /** The password in {@code file}, created (24 random letters and digits) when the file is missing. */
    static String passwordOf(Path file) throws IOException {
        return Files.isRegularFile(file) ? readPassword(file) : createPassword(file);
    }

    /** The first line of an existing password file; its mode is tightened to 0600 on the way. */
    static String readPassword(Path file) throws IOException {
        String password = Files.readAllLines(file, StandardCharsets.UTF_8).stream().findFirst().orElse("").strip();
        if (password.isEmpty()) {
            throw new IllegalStateException(file + " is empty: delete it and start again to set a new password");
        }
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing to tighten
        }
        return password;
    }

    /** A random password in a new file only its owner can read. */
    static String createPassword(Path file) throws IOException {
        StringBuilder password = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            password.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        writePrivate(file, password + "\n");
        return password.toString();
    }

    /** Writes (or replaces) {@code file} with {@code text}, readable by its owner only from its first byte. */
    static void writePrivate(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp);
        }
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
