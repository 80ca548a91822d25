package io.steergate.worker;

import io.steergate.resilience.Failures;

/**
 * Failure reasons as they go into results, dead-letter headers, the attempts table and logs: one line, control
 * characters escaped (PostgreSQL refuses U+0000 in text), cut at about {@link #MAX_CHARS} characters.
 */
final class Reasons {

    static final int MAX_CHARS = 500;

    private Reasons() {}

    /** The innermost cause of {@code failure} as "Type: message", made safe. */
    static String of(Throwable failure) {
        return safe(Failures.rootMessage(failure));
    }

    static String safe(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(Math.min(text.length(), MAX_CHARS) + 8);
        int i = 0;
        for (; i < text.length() && out.length() < MAX_CHARS; i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r' || c == '\t') {
                out.append(' ');
            } else if (Character.isISOControl(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        if (i < text.length()) {
            out.setLength(Math.min(out.length(), MAX_CHARS - 3));
            out.append("...");
        }
        return out.toString();
    }
}
