package io.steergate.policy;

import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationRequest;
import io.steergate.messages.GenerationRequest.SteeringAsk;
import io.steergate.messages.PolicyRef;
import io.steergate.policy.Policy.Application;
import io.steergate.policy.Policy.Condition;
import io.steergate.policy.Policy.ExplicitSteering;
import io.steergate.policy.Policy.Rule;
import io.steergate.policy.Policy.StyleGrant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Pure policy evaluation: one policy and one request give a {@link Decision}, a plan or a rejection, with a trace.
 * The semantics are documented in policies/README.md ("How a plan is decided"); in short: styles are checked, then
 * explicit asks under deny, then rules in order, requested styles in request order and explicit asks in request order
 * are added; an intervention chosen twice keeps its first position and the largest strength; every entry gets the
 * catalog's active version; finally the strengths at each hook site are scaled down to the site cap.
 */
public final class PolicyEvaluator {

    /** Separates a style name from an optional strength in a request's styles ("cheerful:0.7"). */
    public static final char STYLE_STRENGTH_SEPARATOR = ':';

    /** Explicit asks without a strength are asked at full strength. */
    public static final double DEFAULT_EXPLICIT_STRENGTH = 1.0;

    private PolicyEvaluator() {}

    /**
     * Decides the plan for {@code request} under {@code policy}, pinning versions and reading sites from
     * {@code catalog}. Deterministic: the same inputs give an equal decision. Never throws on request content; a
     * request the policy refuses gives {@link Decision#rejected} with POLICY_DENIED, STYLE_NOT_ALLOWED, STYLE_CONFLICT,
     * UNKNOWN_INTERVENTION or INVALID_REQUEST (a malformed style strength).
     */
    public static Decision evaluate(Policy policy, GenerationRequest request, InterventionCatalog catalog) {
        return evaluate(policy, request, catalog, 0);
    }

    /**
     * The plan of escalation attempt {@code attempt} (0: the decided plan): the same evaluation, with the rung's
     * interventions chosen after the explicit asks (so raised to the rung's strength, or added), before versions are
     * pinned and the site cap applies. Each rung stands on the decided plan alone, not on the rungs below it.
     *
     * @throws IllegalArgumentException when the policy's ladder has no rung {@code attempt}
     */
    public static Decision evaluate(Policy policy, GenerationRequest request, InterventionCatalog catalog, int attempt) {
        Policy.Rung rung = attempt == 0 ? null : policy.escalation().rung(attempt).orElseThrow(() ->
                new IllegalArgumentException("policy '" + policy.id() + "' has no escalation rung " + attempt));
        PolicyRef ref = new PolicyRef(policy.id(), policy.version());
        List<String> trace = new ArrayList<>();

        // 1. requested styles: offered, well-formed, not contradicting each other
        Map<String, Double> styles = new LinkedHashMap<>(); // style -> asked strength, NaN when none given
        List<String> rawStyles = request.styles() == null ? List.of() : request.styles();
        for (int i = 0; i < rawStyles.size(); i++) {
            String raw = rawStyles.get(i);
            int at = raw.indexOf(STYLE_STRENGTH_SEPARATOR);
            String style = at < 0 ? raw : raw.substring(0, at);
            double asked = Double.NaN;
            if (at >= 0) {
                asked = parseStrength(raw.substring(at + 1));
                if (Double.isNaN(asked)) {
                    return reject(ref, ErrorCode.INVALID_REQUEST, "styles[" + i + "]: the strength after ':' must be a number in [0, 1], got '"
                            + raw.substring(at + 1) + "'", trace);
                }
            }
            if (!policy.styles().containsKey(style)) {
                if (policy.disallowedStyles() == Policy.DisallowedStyles.REJECT) {
                    return reject(ref, ErrorCode.STYLE_NOT_ALLOWED, "style '" + style + "' is not allowed by policy '" + policy.id()
                            + "' (offered: " + offered(policy) + ")", trace);
                }
                trace.add("style " + style + " dropped: not offered (disallowedStyles: drop)");
                continue;
            }
            if (styles.containsKey(style)) {
                // no index in the step: 60,000 repeats of one style are one line of the trace with a count
                trace.add("style " + style + " asked again: the first ask counts");
                continue;
            }
            styles.put(style, asked);
        }
        for (Set<String> group : policy.conflicts()) {
            List<String> clash = styles.keySet().stream().filter(group::contains).toList();
            if (clash.size() >= 2) {
                return reject(ref, ErrorCode.STYLE_CONFLICT, "styles '" + clash.get(0) + "' and '" + clash.get(1)
                        + "' contradict each other under policy '" + policy.id() + "'", trace);
            }
        }

        // 2. explicit asks: denied before anything is planned
        List<SteeringAsk> asks = request.steering() == null ? List.of() : request.steering();
        if (!asks.isEmpty() && policy.explicitSteering() == ExplicitSteering.DENY) {
            return reject(ref, ErrorCode.POLICY_DENIED, "explicit steering with '" + asks.get(0).intervention()
                    + "' is denied by policy '" + policy.id() + "'", trace);
        }

        // 3. rules in order, then styles in request order, then explicit asks in request order
        Map<String, Chosen> chosen = new LinkedHashMap<>();
        Map<String, String> labels = request.labels() == null ? Map.of() : request.labels();
        Policy.Counterfactual counterfactual = null;
        for (Rule rule : policy.rules()) {
            String miss = miss(rule.when(), request.tenant(), labels, styles.keySet(), asks);
            if (miss != null) {
                trace.add("rule " + rule.name() + " skipped: " + miss);
                continue;
            }
            trace.add("rule " + rule.name() + " matched" + (rule.when().always() ? " (no condition)" : ""));
            for (Application application : rule.apply()) {
                choose(chosen, application.intervention(), application.strength(), "rule:" + rule.name(), trace);
            }
            if (rule.counterfactual() != null && counterfactual == null) {
                counterfactual = rule.counterfactual();
                trace.add("rule " + rule.name() + " samples counterfactuals: share " + counterfactual.share()
                        + (counterfactual.deliver() ? ", delivered" : ", audit only"));
            }
        }
        for (Map.Entry<String, Double> style : styles.entrySet()) {
            StyleGrant grant = policy.styles().get(style.getKey());
            double strength = grant.defaultStrength();
            if (!Double.isNaN(style.getValue())) {
                strength = style.getValue();
                if (strength > grant.maxStrength()) {
                    trace.add("style " + grant.style() + " asked at " + strength + ": clamped to its maxStrength " + grant.maxStrength());
                    strength = grant.maxStrength();
                }
            }
            choose(chosen, grant.intervention(), strength, "style:" + grant.style(), trace);
        }
        for (SteeringAsk ask : asks) {
            double asked = ask.strength() == null ? DEFAULT_EXPLICIT_STRENGTH : ask.strength();
            if (!(asked >= 0 && asked <= 1)) {
                double bounded = Double.isNaN(asked) ? 0 : Math.max(0, Math.min(1, asked));
                trace.add("explicit " + ask.intervention() + " asked at " + asked + ": bounded to " + bounded);
                asked = bounded;
            }
            switch (policy.explicitSteering()) {
                case DROP -> {
                    trace.add("explicit " + ask.intervention() + " dropped (explicitSteering: drop)");
                    continue;
                }
                case CLAMP -> {
                    if (asked > policy.explicitMaxStrength()) {
                        trace.add("explicit " + ask.intervention() + " asked at " + asked + ": clamped to " + policy.explicitMaxStrength());
                        asked = policy.explicitMaxStrength();
                    }
                }
                default -> { }
            }
            choose(chosen, ask.intervention(), asked, "explicit", trace);
        }
        if (rung != null) {
            trace.add("escalation rung " + attempt + " of " + policy.escalation().rungs().size());
            for (Application application : rung.apply()) {
                choose(chosen, application.intervention(), application.strength(), "escalation:" + attempt, trace);
            }
        }

        // 4. pin versions; every intervention must be known and active
        List<String> unknown = new ArrayList<>();
        Map<String, Integer> versions = new HashMap<>();
        for (Chosen entry : chosen.values()) {
            var version = catalog.activeVersion(entry.intervention);
            if (version.isPresent()) {
                versions.put(entry.intervention, version.get());
            } else {
                unknown.add(entry.intervention + " (" + entry.reason + ")");
            }
        }
        if (!unknown.isEmpty()) {
            return reject(ref, ErrorCode.UNKNOWN_INTERVENTION, "no active version of intervention " + String.join(", ", unknown), trace);
        }

        // 5. the site cap
        if (policy.hasSiteCap()) {
            capSites(chosen, policy.siteStrengthCap(), catalog, trace);
        }

        List<PlanEntry> plan = new ArrayList<>(chosen.size());
        for (Chosen entry : chosen.values()) {
            plan.add(new PlanEntry(entry.intervention, versions.get(entry.intervention), entry.strength, entry.reason));
        }
        return Decision.planned(ref, plan, trace, counterfactual);
    }

    /**
     * Scales down the entries touching a hook site whose summed strength is above {@code cap}. Each entry is scaled
     * by the smallest factor cap/sum over the sites it touches, computed from the unscaled sums: then no site sum
     * exceeds the cap, and the result does not depend on the order of sites or entries.
     */
    private static void capSites(Map<String, Chosen> chosen, double cap, InterventionCatalog catalog, List<String> trace) {
        Map<String, Double> sums = new TreeMap<>();
        Map<String, Set<String>> sitesOf = new HashMap<>();
        for (Chosen entry : chosen.values()) {
            Set<String> sites = catalog.sites(entry.intervention);
            sitesOf.put(entry.intervention, sites);
            for (String site : sites) {
                sums.merge(site, entry.strength, Double::sum);
            }
        }
        Map<String, Double> factors = new HashMap<>();
        for (Map.Entry<String, Double> site : sums.entrySet()) {
            if (site.getValue() <= cap) {
                continue;
            }
            double factor = cap / site.getValue();
            List<String> touching = new ArrayList<>();
            for (Chosen entry : chosen.values()) {
                if (sitesOf.get(entry.intervention).contains(site.getKey())) {
                    factors.merge(entry.intervention, factor, Math::min);
                    touching.add(entry.intervention);
                }
            }
            trace.add(String.format(Locale.ROOT, "site %s: summed strength %.4f above cap %.4f: %s scaled by at most %.4f",
                    site.getKey(), site.getValue(), cap, String.join(", ", touching), factor));
        }
        for (Map.Entry<String, Double> factor : factors.entrySet()) {
            Chosen entry = chosen.get(factor.getKey());
            entry.strength = entry.strength * factor.getValue();
        }
    }

    /** Adds an intervention, or, when it is already chosen, keeps its first position and the larger strength. */
    private static void choose(Map<String, Chosen> chosen, String intervention, double strength, String reason, List<String> trace) {
        Chosen existing = chosen.get(intervention);
        if (existing == null) {
            chosen.put(intervention, new Chosen(intervention, strength, reason));
            return;
        }
        if (strength > existing.strength) {
            trace.add(intervention + " chosen again by " + reason + " at " + strength + ": kept " + strength + " over "
                    + existing.strength + " (" + existing.reason + ")");
            existing.strength = strength;
            existing.reason = reason;
        } else {
            trace.add(intervention + " chosen again by " + reason + " at " + strength + ": kept " + existing.strength
                    + " (" + existing.reason + ")");
        }
    }

    /** Null when the condition holds; otherwise the first part that does not hold. */
    private static String miss(Condition when, String tenant, Map<String, String> labels, Set<String> styles, List<SteeringAsk> asks) {
        for (Map.Entry<String, Set<String>> label : when.labels().entrySet()) {
            String value = labels.get(label.getKey());
            if (value == null || !label.getValue().contains(value)) {
                return "labels." + label.getKey() + (value == null ? " absent" : " is '" + value + "'");
            }
        }
        if (!when.tenants().isEmpty() && !when.tenants().contains(tenant)) {
            return "tenant '" + tenant + "' not listed";
        }
        if (!when.styles().isEmpty() && styles.stream().noneMatch(when.styles()::contains)) {
            return "none of styles " + when.styles() + " asked";
        }
        if (!when.steering().isEmpty() && asks.stream().noneMatch(ask -> when.steering().contains(ask.intervention()))) {
            return "none of " + when.steering() + " explicitly asked";
        }
        return null;
    }

    private static double parseStrength(String text) {
        try {
            double value = Double.parseDouble(text.trim());
            return value >= 0 && value <= 1 ? value : Double.NaN;
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static String offered(Policy policy) {
        return policy.styles().isEmpty() ? "none" : String.join(", ", new TreeMap<>(policy.styles()).keySet());
    }

    private static Decision reject(PolicyRef ref, ErrorCode code, String message, List<String> trace) {
        trace.add("rejected: " + code + ": " + message);
        return Decision.rejected(ref, ErrorInfo.of(code, message), trace);
    }

    /** A plan entry under construction. */
    private static final class Chosen {
        final String intervention;
        double strength;
        String reason;

        Chosen(String intervention, double strength, String reason) {
            this.intervention = intervention;
            this.strength = strength;
            this.reason = reason;
        }
    }
}
