package io.steergate.engine.model;

import java.util.Arrays;
import java.util.Locale;

/** Where the model runs: a GPU when one is found (AUTO), or always the CPU, or a GPU or nothing. */
public enum DeviceChoice {
    AUTO, CPU, GPU;

    /** Parses {@code auto}, {@code cpu} or {@code gpu} in any case. */
    public static DeviceChoice parse(String value) {
        if (value != null) {
            for (DeviceChoice choice : values()) {
                if (choice.name().equalsIgnoreCase(value.trim())) {
                    return choice;
                }
            }
        }
        throw new IllegalArgumentException("unknown device '" + value + "'; expected one of "
                + Arrays.toString(values()).toLowerCase(Locale.ROOT));
    }
}
