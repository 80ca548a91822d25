package io.steergate.security;

import java.util.List;
import java.util.Set;

/** The four roles of docs/architecture.md 4.6 and the tenant name that stands for every tenant. */
public final class Roles {

    /** Generates and reads its own tenants' generations. */
    public static final String CLIENT = "client";
    /** Reads its tenants' audit records and appends review verdicts. */
    public static final String REVIEWER = "reviewer";
    /** Reads its tenants' audit records. */
    public static final String AUDITOR = "auditor";
    /** Registry, policies, training, keys; every tenant. */
    public static final String OPERATOR = "operator";

    public static final List<String> ALL = List.of(CLIENT, REVIEWER, AUDITOR, OPERATOR);

    /** In a credential's tenant list: every tenant (the operator's bootstrap key, a trusted platform's client key). */
    public static final String ALL_TENANTS = "*";

    private Roles() {}

    static boolean known(String role) {
        return ALL.contains(role);
    }

    static Set<String> known(Set<String> roles) {
        return Set.copyOf(roles.stream().filter(Roles::known).toList());
    }
}
