package io.steergate.policy;

import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationRequest;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Decides the plan for a request: finds the tenant's policy in a {@link PolicyStore} and evaluates it
 * ({@link PolicyEvaluator}) against an {@link InterventionCatalog}. Until the service layer constructs it with the
 * store of policies/ and the intervention registry, the CDI bean runs one built-in policy, {@code default}, that
 * covers every tenant and applies nothing (styles and explicit asks are dropped, so nothing is rejected).
 */
@ApplicationScoped
public class PolicyEngine {

    static final String BUILT_IN_DEFAULT = """
            id: default
            description: Built-in fallback until the policy store is wired; covers every tenant, applies nothing.
            tenants: ['*']
            explicitSteering: drop
            disallowedStyles: drop
            """;

    private final PolicyStore store;
    private final InterventionCatalog catalog;
    private final Policy builtIn;

    /** The CDI bean: the built-in default policy only. */
    public PolicyEngine() {
        this(null, InterventionCatalog.empty());
    }

    /** An engine deciding with the policies of {@code store} (null: the built-in default) and {@code catalog}. */
    public PolicyEngine(PolicyStore store, InterventionCatalog catalog) {
        this.store = store;
        this.catalog = catalog;
        PolicyParser.Result parsed = new PolicyParser(Path.of("."), InterventionCatalog.empty())
                .parse("default.yaml", BUILT_IN_DEFAULT.getBytes(StandardCharsets.UTF_8));
        if (!parsed.ok()) {
            throw new IllegalStateException("the built-in default policy must parse: " + parsed.errors());
        }
        this.builtIn = parsed.policy();
    }

    /**
     * The decision for {@code request}: a plan or a rejection (see {@link PolicyEvaluator#evaluate}); a tenant no
     * policy covers is rejected with POLICY_DENIED and a null policy ref.
     */
    public Decision decide(GenerationRequest request) {
        Optional<Policy> policy = store == null ? Optional.of(builtIn) : store.policyFor(request.tenant());
        if (policy.isEmpty()) {
            String message = "no policy covers tenant '" + request.tenant() + "'";
            return Decision.rejected(null, ErrorInfo.of(ErrorCode.POLICY_DENIED, message), List.of("rejected: " + message));
        }
        return PolicyEvaluator.evaluate(policy.get(), request, catalog);
    }
}
