package io.steergate.engine.training;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The registry of intervention methods: the one list the command line, the training API and the trainer look methods
 * up in. Adding a method is one class implementing {@link InterventionMethod} and one entry in {@link #ALL}.
 */
public final class InterventionMethods {

    /** Every method, in the order messages list them. */
    private static final List<InterventionMethod> ALL = List.of(LinearAct.METHOD, MeanShift.METHOD, Lineas.METHOD);

    private InterventionMethods() {
    }

    public static List<InterventionMethod> all() {
        return ALL;
    }

    /** The method requests call {@code wireName}, if any. */
    public static Optional<InterventionMethod> find(String wireName) {
        return ALL.stream().filter(m -> m.wireName().equals(wireName)).findFirst();
    }

    /**
     * The method requests call {@code wireName}.
     *
     * @throws IllegalArgumentException "unknown method 'pca'; expected linear-act, mean-shift or lineas"
     */
    public static InterventionMethod byWireName(String wireName) {
        return find(wireName).orElseThrow(() -> new IllegalArgumentException("unknown method '" + wireName
                + "'; expected " + wireNames()));
    }

    /** The wire names for a message: "linear-act, mean-shift or lineas". */
    public static String wireNames() {
        List<String> names = ALL.stream().map(InterventionMethod::wireName).toList();
        if (names.size() == 1) {
            return names.get(0);
        }
        return names.subList(0, names.size() - 1).stream().collect(Collectors.joining(", ")) + " or "
                + names.get(names.size() - 1);
    }
}
