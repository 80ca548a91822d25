package io.steergate.messages;

import java.util.regex.Pattern;

/** The contract's shapes of the names that key everything (docs/architecture.md 4.2): one definition for every check. */
public final class Identifiers {

    /** A request id: with the tenant, the idempotency key. */
    public static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    /** A tenant. */
    public static final Pattern TENANT = Pattern.compile("[a-z0-9-]{1,64}");

    /** The name of an intervention, a policy (its id), a style or a scorer. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");

    private Identifiers() {}
}
