package io.steergate.policy;

/** One problem in a policy file, at a 1-based line and column (0, 0 when it concerns the whole file). */
public record PolicyError(String file, int line, int column, String message) {

    @Override
    public String toString() {
        return line > 0 ? file + ":" + line + ":" + column + ": " + message : file + ": " + message;
    }
}
