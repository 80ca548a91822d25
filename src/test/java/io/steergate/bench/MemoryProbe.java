package io.steergate.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident set size of this process, now and at its peak, from /proc/self/status (Linux); -1 where unavailable. */
public final class MemoryProbe {

    private MemoryProbe() {
    }

    public static long rssKb() {
        return status("VmRSS:");
    }

    /** The peak resident set size since the process started or since {@link #resetPeak}; -1 where unavailable. */
    public static long peakRssKb() {
        return status("VmHWM:");
    }

    /** Resets the peak RSS to the current RSS (Linux 4.0+); false where the kernel does not allow it. */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
