package io.steergate.messages;

/**
 * Text that is safe to store in a PostgreSQL text column and to write on one log line: control characters (U+0000,
 * which PostgreSQL refuses, newlines, escapes) and lone surrogates are written as {@code \\uXXXX}, and the result is
 * at most a given length. Applying it twice changes nothing.
 */
public final class SafeText {

    private static final String CUT = "... (cut)";
    /** How long a failure reason may be in results, dead-letter headers, tables and logs. */
    public static final int REASON_CHARS = 500;

    private SafeText() {}

    /** {@code text} escaped and cut to at most {@code maxChars} characters (null stays null). */
    public static String of(String text, int maxChars) {
        if (text == null) {
            return null;
        }
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean unsafe = Character.isISOControl(c)
                    || (Character.isHighSurrogate(c) && (i + 1 == text.length() || !Character.isLowSurrogate(text.charAt(i + 1))))
                    || (Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(text.charAt(i - 1))));
            if (unsafe && out == null) {
                out = new StringBuilder(text.length() + 16).append(text, 0, i);
            }
            if (out != null) {
                if (unsafe) {
                    out.append(String.format("\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
        }
        String safe = out == null ? text : out.toString();
        if (safe.length() <= maxChars) {
            return safe;
        }
        int keep = Math.max(0, maxChars - CUT.length());
        if (keep > 0 && Character.isHighSurrogate(safe.charAt(keep - 1))) {
            keep--;
        }
        return safe.substring(0, keep) + CUT;
    }
}
