package io.steergate.policy;

import io.steergate.engine.eval.LexiconScorer;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.training.InterventionMethods;
import io.steergate.messages.Identifiers;
import io.steergate.messages.ProbeRequest;
import io.steergate.messages.SafeText;
import io.steergate.policy.Policy.Application;
import io.steergate.policy.Policy.Condition;
import io.steergate.policy.Policy.DisallowedStyles;
import io.steergate.policy.Policy.ExplicitSteering;
import io.steergate.policy.Policy.ReviewSampling;
import io.steergate.policy.Policy.Rule;
import io.steergate.policy.Policy.ScorerSpec;
import io.steergate.policy.Policy.StyleGrant;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.commons.codec.digest.DigestUtils;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads one policy file (format: policies/README.md) into a {@link Policy}, or into every error found in it, each at
 * file:line:column. Uses SnakeYAML's compose API (a node tree with marks) rather than binding to objects, so that
 * unknown and duplicate keys, wrong types and bad values are reported where they are written.
 */
public final class PolicyParser {

    private static final Pattern NAME = Identifiers.NAME;
    private static final Pattern TENANT = Identifiers.TENANT;
    private static final Pattern RULE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private static final Set<String> TOP_KEYS = Set.of("id", "description", "tenants", "explicitSteering",
            "explicitMaxStrength", "siteStrengthCap", "disallowedStyles", "styles", "conflicts", "rules", "scorers", "review",
            "escalation", "retraining");
    private static final Set<String> STYLE_KEYS = Set.of("intervention", "defaultStrength", "maxStrength");
    private static final Set<String> RULE_KEYS = Set.of("name", "when", "apply", "counterfactual");
    private static final Set<String> COUNTERFACTUAL_KEYS = Set.of("share", "deliver");
    private static final Set<String> ESCALATION_KEYS = Set.of("rungs", "onFailure");
    private static final Set<String> RUNG_KEYS = Set.of("apply");
    /** How every error about an intervention the catalog does not know begins (followed by the name and a quote). */
    private static final String UNKNOWN_INTERVENTION = "unknown intervention '";
    private static final Set<String> CONDITION_KEYS = Set.of("labels", "styles", "tenants", "steering");
    private static final Set<String> APPLY_KEYS = Set.of("intervention", "strength");
    private static final Set<String> SCORER_KEYS = Set.of("name", "type", "lexicon", "intervention", "site", "threshold");
    private static final Set<String> REVIEW_KEYS = Set.of("sample", "agreement");
    private static final Set<String> TRIGGER_KEYS = Set.of("name", "intervention", "when", "coolDown", "train", "promote", "watch");
    private static final Set<String> TRIGGER_WHEN_KEYS = Set.of("reviews", "scorer");
    private static final Set<String> REVIEWS_KEYS = Set.of("verdict", "atLeast", "minReviews", "window");
    private static final Set<String> SCORER_RULE_KEYS = Set.of("name", "above", "atLeast", "minOutputs", "window");
    private static final Set<String> TRAIN_KEYS = Set.of("method", "sites", "hyperparameters", "evaluation");
    private static final Set<String> EVALUATION_KEYS = Set.of("prompts", "concept", "desired", "strength");
    private static final Set<String> HYPERPARAMETER_KEYS = Set.of("steps", "learningRate", "l1", "groupLasso", "seed",
            "heldOut", "patience");
    private static final Set<String> WATCH_KEYS = Set.of("window", "minOutputs");
    /** A retraining duration: a whole number of seconds, minutes, hours or days. */
    private static final Pattern DURATION = Pattern.compile("([1-9][0-9]{0,5})([smhd])");

    private final Path policiesDir;
    private final InterventionCatalog catalog;

    /**
     * A parser that resolves lexicon paths against {@code policiesDir} and checks intervention names with
     * {@code catalog}.
     */
    public PolicyParser(Path policiesDir, InterventionCatalog catalog) {
        this.policiesDir = policiesDir;
        this.catalog = catalog;
    }

    /**
     * What parsing one file gave: the policy (null when any error was found) or the errors, every one of them, plus
     * where each tenant is written (for the store's cross-file check).
     */
    public record Result(String file, String version, Policy policy, List<PolicyError> errors, Map<String, PolicyError> tenantMarks) {

        public Result {
            errors = List.copyOf(errors);
            tenantMarks = Map.copyOf(tenantMarks);
        }

        public boolean ok() {
            return policy != null;
        }
    }

    /** Whether {@code error} is about an intervention the catalog did not know when the file was read. */
    static boolean namesUnknownIntervention(PolicyError error) {
        return error.message().contains(UNKNOWN_INTERVENTION);
    }

    /** Parses the file at {@code file}; the policy id must equal its name without {@code .yaml}. */
    public Result parse(Path file) {
        String name = file.getFileName().toString();
        try {
            return parse(name, Files.readAllBytes(file));
        } catch (IOException e) {
            return new Result(name, null, null, List.of(new PolicyError(name, 0, 0, "cannot read: " + e.getMessage())), Map.of());
        }
    }

    /**
     * Parses {@code content} as the file {@code fileName} (used by the validate endpoint too). Never throws on bad
     * content: every problem found is in {@link Result#errors()}. A YAML syntax error stops the reading there, so it
     * is the only error reported for that file.
     */
    public Result parse(String fileName, byte[] content) {
        String version = "sha256:" + sha256(content);
        Reading reading = new Reading(fileName);
        Policy policy = null;
        try {
            Iterator<Node> documents = new Yaml(new LoaderOptions())
                    .composeAll(new InputStreamReader(new ByteArrayInputStream(content), StandardCharsets.UTF_8)).iterator();
            if (!documents.hasNext()) {
                reading.error(null, "the file is empty; expected a policy mapping");
            } else {
                Node root = documents.next();
                if (documents.hasNext()) {
                    reading.error(documents.next(), "one policy per file: a second YAML document starts here");
                }
                Node repeated = firstRepeated(root);
                if (repeated != null) {
                    reading.error(repeated, "anchors and aliases (&name, *name) are not supported in policies: this value"
                            + " is used more than once; write it out where it is needed");
                } else {
                    policy = reading.policy(root, version);
                }
            }
        } catch (MarkedYAMLException e) {
            var mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String problem = e.getProblem() != null ? e.getProblem() : e.getMessage();
            reading.errors.add(mark == null ? new PolicyError(fileName, 0, 0, "YAML syntax: " + problem)
                    : new PolicyError(fileName, mark.getLine() + 1, mark.getColumn() + 1, "YAML syntax: " + problem));
        } catch (YAMLException e) {
            reading.errors.add(new PolicyError(fileName, 0, 0, "YAML syntax: " + e.getMessage()));
        }
        return new Result(fileName, version, reading.errors.isEmpty() ? policy : null, reading.errors, reading.tenantMarks);
    }

    /**
     * The first node reached twice from {@code root}, or null. Only an alias reaches a node again. SnakeYAML bounds
     * aliases to collections but not to scalars, so a 3 MB file of {@code *s} repeating a 1 MB scalar would make every
     * error message that quotes it copy it again (hundreds of GB); a policy needs no aliases, so none is read.
     */
    private static Node firstRepeated(Node root) {
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Node> pending = new ArrayDeque<>(List.of(root));
        while (!pending.isEmpty()) {
            Node node = pending.pop();
            if (!seen.add(node)) {
                return node;
            }
            if (node instanceof MappingNode mapping) {
                for (NodeTuple tuple : mapping.getValue()) {
                    pending.push(tuple.getValueNode());
                    pending.push(tuple.getKeyNode());
                }
            } else if (node instanceof SequenceNode sequence) {
                sequence.getValue().forEach(pending::push);
            }
        }
        return null;
    }

    static String sha256(byte[] content) {
        return DigestUtils.sha256Hex(content);
    }

    /** The state of reading one file: its name and the errors so far. Each read method returns null on error. */
    private final class Reading {

        final String file;
        final List<PolicyError> errors = new ArrayList<>();
        final Map<String, PolicyError> tenantMarks = new LinkedHashMap<>();

        Reading(String file) {
            this.file = file;
        }

        void error(Node at, String message) {
            errors.add(at == null ? new PolicyError(file, 0, 0, message)
                    : new PolicyError(file, at.getStartMark().getLine() + 1, at.getStartMark().getColumn() + 1, message));
        }

        Policy policy(Node root, String version) {
            Map<String, NodeTuple> top = fields(root, "policy", TOP_KEYS, Set.of("id", "tenants"));
            if (top == null) {
                return null;
            }
            String id = name(value(top, "id"), "id", NAME);
            String expectedId = file.endsWith(".yaml") ? file.substring(0, file.length() - ".yaml".length()) : file;
            if (id != null && !id.equals(expectedId)) {
                error(value(top, "id"), "id '" + id + "' must equal the file name without .yaml ('" + expectedId + "')");
            }
            String description = top.containsKey("description") ? string(value(top, "description"), "description") : "";
            List<String> tenants = tenants(value(top, "tenants"), id);
            ExplicitSteering explicit = top.containsKey("explicitSteering")
                    ? choice(value(top, "explicitSteering"), "explicitSteering", ExplicitSteering.class) : ExplicitSteering.DENY;
            double explicitMax = 1.0;
            if (top.containsKey("explicitMaxStrength")) {
                Double max = strength(value(top, "explicitMaxStrength"), "explicitMaxStrength");
                explicitMax = max == null ? 1.0 : max;
                if (explicit != null && explicit != ExplicitSteering.CLAMP) {
                    error(value(top, "explicitMaxStrength"), "explicitMaxStrength applies only with explicitSteering: clamp");
                }
            } else if (explicit == ExplicitSteering.CLAMP) {
                error(root, "missing field 'explicitMaxStrength' (required with explicitSteering: clamp)");
            }
            double cap = Double.POSITIVE_INFINITY;
            if (top.containsKey("siteStrengthCap")) {
                Double value = number(value(top, "siteStrengthCap"), "siteStrengthCap");
                if (value != null && !(value > 0)) {
                    error(value(top, "siteStrengthCap"), "siteStrengthCap must be greater than 0, got " + value);
                } else if (value != null) {
                    cap = value;
                }
            }
            DisallowedStyles disallowed = top.containsKey("disallowedStyles")
                    ? choice(value(top, "disallowedStyles"), "disallowedStyles", DisallowedStyles.class) : DisallowedStyles.REJECT;
            Map<String, StyleGrant> styles = top.containsKey("styles") ? styles(value(top, "styles")) : Map.of();
            List<Set<String>> conflicts = top.containsKey("conflicts") ? conflicts(value(top, "conflicts"), styles) : List.of();
            List<Rule> rules = top.containsKey("rules") ? rules(value(top, "rules"), styles, tenants) : List.of();
            List<ScorerSpec> scorers = top.containsKey("scorers") ? scorers(value(top, "scorers")) : List.of();
            ReviewSampling review = top.containsKey("review") ? review(value(top, "review")) : ReviewSampling.NONE;
            Policy.Escalation escalation = top.containsKey("escalation")
                    ? escalation(value(top, "escalation"), scorers) : Policy.Escalation.NONE;
            List<RetrainingTrigger> retraining = top.containsKey("retraining")
                    ? retraining(value(top, "retraining"), scorers) : List.of();
            if (!errors.isEmpty()) {
                return null;
            }
            return new Policy(id, version, file, description, tenants, explicit, explicitMax, cap, disallowed, styles,
                    conflicts, rules, scorers, review, escalation, retraining);
        }

        List<String> tenants(Node node, String id) {
            List<Node> items = sequence(node, "tenants");
            if (items == null) {
                return List.of();
            }
            if (items.isEmpty()) {
                error(node, "tenants must list at least one tenant");
            }
            List<String> tenants = new ArrayList<>();
            for (Node item : items) {
                String tenant = string(item, "tenants[]");
                if (tenant == null) {
                    continue;
                }
                if (tenant.equals(Policy.ANY_TENANT)) {
                    if (!"default".equals(id)) {
                        error(item, "tenant '*' is allowed only in the policy 'default'");
                    }
                } else if (!TENANT.matcher(tenant).matches()) {
                    error(item, "tenant '" + tenant + "' must be 1-64 chars of [a-z0-9-]");
                }
                if (tenantMarks.containsKey(tenant)) {
                    error(item, "tenant '" + tenant + "' is listed twice");
                    continue;
                }
                tenantMarks.put(tenant, mark(item));
                tenants.add(tenant);
            }
            return tenants;
        }

        Map<String, StyleGrant> styles(Node node) {
            Map<String, NodeTuple> entries = fields(node, "styles", null, Set.of());
            if (entries == null) {
                return Map.of();
            }
            Map<String, StyleGrant> styles = new LinkedHashMap<>();
            for (NodeTuple entry : entries.values()) {
                String style = name(entry.getKeyNode(), "style name", NAME);
                String where = "styles." + style;
                Map<String, NodeTuple> grant = fields(entry.getValueNode(), where, STYLE_KEYS, Set.of("intervention"));
                if (style == null || grant == null) {
                    continue;
                }
                String intervention = intervention(value(grant, "intervention"), where + ".intervention");
                Double max = grant.containsKey("maxStrength") ? strength(value(grant, "maxStrength"), where + ".maxStrength") : Double.valueOf(1.0);
                Double dflt = grant.containsKey("defaultStrength") ? strength(value(grant, "defaultStrength"), where + ".defaultStrength") : max;
                if (max != null && dflt != null && dflt > max) {
                    error(value(grant, "defaultStrength"), where + ".defaultStrength " + dflt + " is above maxStrength " + max);
                }
                if (intervention != null && max != null && dflt != null) {
                    styles.put(style, new StyleGrant(style, intervention, dflt, max));
                }
            }
            return styles;
        }

        List<Set<String>> conflicts(Node node, Map<String, StyleGrant> styles) {
            List<Node> groups = sequence(node, "conflicts");
            if (groups == null) {
                return List.of();
            }
            List<Set<String>> conflicts = new ArrayList<>();
            for (Node groupNode : groups) {
                List<Node> members = sequence(groupNode, "conflicts[]");
                if (members == null) {
                    continue;
                }
                Set<String> group = new LinkedHashSet<>();
                for (Node member : members) {
                    String style = string(member, "conflicts[][]");
                    if (style != null && !styles.containsKey(style)) {
                        error(member, "conflicts: style '" + style + "' is not offered under styles");
                    } else if (style != null && !group.add(style)) {
                        error(member, "conflicts: style '" + style + "' is listed twice in one group");
                    }
                }
                if (members.size() < 2) {
                    error(groupNode, "conflicts: a group needs at least two styles");
                }
                conflicts.add(group);
            }
            return conflicts;
        }

        List<Rule> rules(Node node, Map<String, StyleGrant> styles, List<String> tenants) {
            List<Node> items = sequence(node, "rules");
            if (items == null) {
                return List.of();
            }
            List<Rule> rules = new ArrayList<>();
            Set<String> names = new LinkedHashSet<>();
            for (Node item : items) {
                Map<String, NodeTuple> rule = fields(item, "rule", RULE_KEYS, Set.of("name", "apply"));
                if (rule == null) {
                    continue;
                }
                String name = name(value(rule, "name"), "rule name", RULE_NAME);
                if (name != null && !names.add(name)) {
                    error(value(rule, "name"), "duplicate rule name '" + name + "'");
                }
                String where = "rule " + (name == null ? "?" : "'" + name + "'");
                Condition when = rule.containsKey("when") ? condition(value(rule, "when"), where, styles, tenants) : Condition.ALWAYS;
                List<Application> apply = applications(value(rule, "apply"), where, 1.0);
                Policy.Counterfactual counterfactual = rule.containsKey("counterfactual")
                        ? counterfactual(value(rule, "counterfactual"), where) : null;
                if (name != null && when != null) {
                    rules.add(new Rule(name, when, apply, counterfactual));
                }
            }
            return rules;
        }

        Condition condition(Node node, String where, Map<String, StyleGrant> styles, List<String> tenants) {
            Map<String, NodeTuple> parts = fields(node, where + " when", CONDITION_KEYS, Set.of(), "condition key");
            if (parts == null) {
                return null;
            }
            if (parts.isEmpty()) {
                error(node, where + ": 'when' is empty; leave it out for a rule that always applies");
            }
            Map<String, Set<String>> labels = new LinkedHashMap<>();
            if (parts.containsKey("labels")) {
                Map<String, NodeTuple> labelNodes = fields(value(parts, "labels"), where + " when.labels", null, Set.of());
                if (labelNodes != null) {
                    if (labelNodes.isEmpty()) {
                        error(value(parts, "labels"), where + ": when.labels is empty");
                    }
                    labelNodes.forEach((key, tuple) -> labels.put(key, oneOrMany(tuple.getValueNode(), where + " when.labels." + key)));
                }
            }
            Set<String> styleSet = names(parts, "styles", where);
            for (String style : styleSet) {
                if (!styles.containsKey(style)) {
                    error(value(parts, "styles"), where + ": when.styles names '" + style + "', which the policy does not offer under styles");
                }
            }
            Set<String> tenantSet = names(parts, "tenants", where);
            for (String tenant : tenantSet) {
                if (!tenants.contains(tenant) && !tenants.contains(Policy.ANY_TENANT)) {
                    error(value(parts, "tenants"), where + ": when.tenants names '" + tenant + "', which the policy does not cover");
                }
            }
            Set<String> steering = names(parts, "steering", where);
            for (String intervention : steering) {
                if (!catalog.exists(intervention)) {
                    error(value(parts, "steering"), where + ": when.steering names " + UNKNOWN_INTERVENTION + intervention + "'");
                }
            }
            return new Condition(labels, styleSet, tenantSet, steering);
        }

        Set<String> names(Map<String, NodeTuple> parts, String key, String where) {
            if (!parts.containsKey(key)) {
                return Set.of();
            }
            Set<String> names = oneOrMany(value(parts, key), where + " when." + key);
            if (names.isEmpty()) {
                error(value(parts, key), where + ": when." + key + " is empty");
            }
            return names;
        }

        /** A scalar or a sequence of scalars, as a set. */
        Set<String> oneOrMany(Node node, String where) {
            Set<String> values = new LinkedHashSet<>();
            if (node instanceof SequenceNode sequence) {
                for (Node item : sequence.getValue()) {
                    String value = string(item, where);
                    if (value != null) {
                        values.add(value);
                    }
                }
                if (sequence.getValue().isEmpty()) {
                    error(node, where + " must not be an empty list");
                }
            } else {
                String value = string(node, where);
                if (value != null) {
                    values.add(value);
                }
            }
            return values;
        }

        /** An apply list: interventions with strengths in [0, maxStrength]. */
        List<Application> applications(Node node, String where, double maxStrength) {
            List<Node> items = sequence(node, where + " apply");
            if (items == null) {
                return List.of();
            }
            if (items.isEmpty()) {
                error(node, where + ": apply must list at least one intervention");
            }
            List<Application> apply = new ArrayList<>();
            for (Node item : items) {
                Map<String, NodeTuple> fields = fields(item, where + " apply[]", APPLY_KEYS, Set.of("intervention", "strength"));
                if (fields == null) {
                    continue;
                }
                String intervention = intervention(value(fields, "intervention"), where + " apply.intervention");
                Double strength = strength(value(fields, "strength"), where + " apply.strength", maxStrength);
                if (intervention != null && strength != null) {
                    apply.add(new Application(intervention, strength));
                }
            }
            return apply;
        }

        Policy.Counterfactual counterfactual(Node node, String where) {
            Map<String, NodeTuple> fields = fields(node, where + " counterfactual", COUNTERFACTUAL_KEYS, Set.of("share", "deliver"));
            if (fields == null) {
                return null;
            }
            Double share = number(value(fields, "share"), where + " counterfactual.share");
            if (share != null && !(share >= 0 && share <= 1)) {
                error(value(fields, "share"), where + " counterfactual.share must be in [0, 1] (a share of the requests"
                        + " the rule matches), got " + share);
                share = null;
            }
            Boolean deliver = bool(value(fields, "deliver"), where + " counterfactual.deliver");
            return share == null || deliver == null ? null : new Policy.Counterfactual(share, deliver);
        }

        /** The escalation block: rungs (each an apply list, strengths up to MAX_RUNG_STRENGTH) and onFailure. */
        Policy.Escalation escalation(Node node, List<ScorerSpec> scorers) {
            Map<String, NodeTuple> fields = fields(node, "escalation", ESCALATION_KEYS, Set.of("onFailure"));
            if (fields == null) {
                return null;
            }
            if (scorers.stream().noneMatch(scorer -> scorer.threshold() != null)) {
                error(node, "escalation: no scorer has a threshold, so no output is ever flagged (give a scorer a threshold)");
            }
            Policy.OnFailure onFailure = choice(value(fields, "onFailure"), "escalation.onFailure", Policy.OnFailure.class);
            List<Policy.Rung> rungs = new ArrayList<>();
            if (fields.containsKey("rungs")) {
                List<Node> items = sequence(value(fields, "rungs"), "escalation.rungs");
                if (items != null && items.size() > Policy.Escalation.MAX_RUNGS) {
                    error(value(fields, "rungs"), "escalation.rungs: at most " + Policy.Escalation.MAX_RUNGS
                            + " rungs (each is one more generation of the request), got " + items.size());
                }
                for (int i = 0; items != null && i < items.size(); i++) {
                    String where = "escalation.rungs[" + i + "]";
                    Map<String, NodeTuple> rung = fields(items.get(i), where, RUNG_KEYS, Set.of("apply"));
                    if (rung == null) {
                        continue;
                    }
                    List<Application> apply = applications(value(rung, "apply"), where, Policy.Escalation.MAX_RUNG_STRENGTH);
                    rungs.add(new Policy.Rung(apply));
                }
            }
            return onFailure == null ? null : new Policy.Escalation(rungs, onFailure);
        }

        List<ScorerSpec> scorers(Node node) {
            List<Node> items = sequence(node, "scorers");
            if (items == null) {
                return List.of();
            }
            List<ScorerSpec> scorers = new ArrayList<>();
            Set<String> names = new LinkedHashSet<>();
            for (Node item : items) {
                Map<String, NodeTuple> fields = fields(item, "scorer", SCORER_KEYS, Set.of("name"));
                if (fields == null) {
                    continue;
                }
                String name = name(value(fields, "name"), "scorer name", NAME);
                if (name != null && !names.add(name)) {
                    error(value(fields, "name"), "duplicate scorer name '" + name + "'");
                }
                String type = fields.containsKey("type") ? string(value(fields, "type"), "scorer type") : "lexicon";
                if (type != null && !type.equals("lexicon") && !type.equals("probe")) {
                    error(value(fields, "type"), "scorer type: '" + type + "' is not one of lexicon | probe");
                    type = null;
                }
                Set<String> keys = "probe".equals(type) ? Set.of("intervention", "site") : Set.of("lexicon");
                for (String key : List.of("lexicon", "intervention", "site")) {
                    if (type != null && fields.containsKey(key) && !keys.contains(key)) {
                        error(fields.get(key).getKeyNode(), "scorer '" + name + "': " + key + " applies only to type: "
                                + ("lexicon".equals(key) ? "lexicon" : "probe"));
                    }
                }
                for (String key : keys.stream().sorted().toList()) {
                    if (type != null && !fields.containsKey(key)) {
                        error(item, "scorer: missing field '" + key + "' (required with type: " + type + ")");
                    }
                }
                String lexicon = "lexicon".equals(type) ? lexicon(value(fields, "lexicon")) : null;
                Policy.Probe probe = "probe".equals(type) ? probe(fields) : null;
                Double threshold = null;
                if (fields.containsKey("threshold")) {
                    threshold = number(value(fields, "threshold"), "scorer threshold");
                    if (threshold != null && !(threshold > 0 && threshold <= 1)) {
                        error(value(fields, "threshold"), "scorer threshold must be in (0, 1] (a share of words or a "
                                + "probability), got " + threshold);
                        threshold = null;
                    }
                }
                if (name != null && (lexicon != null || probe != null)) {
                    scorers.add(new ScorerSpec(name, lexicon, threshold, probe));
                }
            }
            if (scorers.stream().filter(ScorerSpec::isProbe).count() > ProbeRequest.MAX_PER_JOB) {
                error(node, "scorers: at most " + ProbeRequest.MAX_PER_JOB + " of type probe (each is read off every generation)");
            }
            return scorers;
        }

        /** A lexicon file inside the policies directory, as written. */
        String lexicon(Node node) {
            String lexicon = string(node, "scorer lexicon");
            if (lexicon == null) {
                return null;
            }
            Path base = policiesDir.toAbsolutePath().normalize();
            Path resolved = base.resolve(lexicon).normalize();
            if (!resolved.startsWith(base)) {
                error(node, "lexicon '" + lexicon + "' must lie inside the policies directory");
                return null;
            }
            if (!Files.isRegularFile(resolved)) {
                error(node, "unknown lexicon file '" + lexicon + "' (relative to " + policiesDir + ")");
                return null;
            }
            // read now, so that a list the scorer cannot use fails here and not on the first result it scores (where
            // the result could only be set aside and its request time out)
            try {
                LexiconScorer.load(resolved);
            } catch (CharacterCodingException e) {
                error(node, "lexicon '" + lexicon + "' is not UTF-8 text");
                return null;
            } catch (IOException | IllegalArgumentException e) {
                error(node, "lexicon '" + lexicon + "' cannot be used: " + SafeText.of(e.getMessage(), 200));
                return null;
            }
            return lexicon;
        }

        /**
         * A probe scorer's intervention (registered, with prompt sets to train on in prompts/), and site (a hook site
         * within the served models' layers when one is registered).
         */
        Policy.Probe probe(Map<String, NodeTuple> fields) {
            Node at = value(fields, "intervention");
            String intervention = intervention(at, "scorer intervention");
            String siteName = string(value(fields, "site"), "scorer site");
            HookSite site = null;
            if (siteName != null) {
                try {
                    site = HookSite.parse(siteName);
                } catch (IllegalArgumentException e) {
                    error(value(fields, "site"), "scorer site: " + e.getMessage());
                }
            }
            OptionalInt layers = catalog.modelLayers();
            if (site != null && layers.isPresent() && site.layer() >= layers.getAsInt()) {
                error(value(fields, "site"), "scorer site: '" + siteName + "' is beyond the served model's "
                        + layers.getAsInt() + " layers");
                site = null;
            }
            if (intervention == null || site == null) {
                return null;
            }
            PromptSet[] sets = new PromptSet[2];
            String[] sides = {"source", "target"};
            for (int i = 0; i < 2; i++) {
                Path file = policiesDir.resolve("prompts").resolve(intervention + "." + sides[i] + ".jsonl");
                try {
                    sets[i] = PromptSet.read(file);
                } catch (IOException | IllegalArgumentException e) {
                    error(at, "scorer intervention: a probe trains on prompts/" + intervention + "." + sides[i]
                            + ".jsonl (relative to " + policiesDir + "), which "
                            + (e instanceof NoSuchFileException ? "does not exist" : "cannot be read: " + e.getMessage()));
                    return null;
                }
            }
            return new Policy.Probe(intervention, site.name(), sets[0].sha256(), sets[1].sha256());
        }

        /** The review block: {sample, agreement}, each a share in [0, 1], each 0 when left out. */
        ReviewSampling review(Node node) {
            Map<String, NodeTuple> fields = fields(node, "review", REVIEW_KEYS, Set.of());
            if (fields == null) {
                return ReviewSampling.NONE;
            }
            Double sample = fields.containsKey("sample") ? share(value(fields, "sample"), "review.sample") : Double.valueOf(0);
            Double agreement = fields.containsKey("agreement") ? share(value(fields, "agreement"), "review.agreement") : Double.valueOf(0);
            return sample == null || agreement == null ? ReviewSampling.NONE : new ReviewSampling(sample, agreement);
        }

        Double share(Node node, String where) {
            Double value = number(node, where);
            if (value != null && !(value >= 0 && value <= 1)) {
                error(node, where + ": must be a share in [0, 1], got " + scalarText(node));
                return null;
            }
            return value;
        }

        // ---- retraining triggers ----

        List<RetrainingTrigger> retraining(Node node, List<ScorerSpec> scorers) {
            List<Node> items = sequence(node, "retraining");
            if (items == null) {
                return List.of();
            }
            List<RetrainingTrigger> triggers = new ArrayList<>();
            Set<String> names = new LinkedHashSet<>();
            for (Node item : items) {
                Map<String, NodeTuple> fields = fields(item, "retraining[]", TRIGGER_KEYS,
                        Set.of("name", "intervention", "when", "coolDown", "train"));
                if (fields == null) {
                    continue;
                }
                String name = name(value(fields, "name"), "retraining name", RULE_NAME);
                if (name != null && !names.add(name)) {
                    error(value(fields, "name"), "duplicate retraining trigger name '" + name + "'");
                }
                String where = "retraining " + (name == null ? "?" : "'" + name + "'");
                String intervention = intervention(value(fields, "intervention"), where + " intervention");
                RetrainingTrigger.Measure when = triggerWhen(value(fields, "when"), where, scorers);
                Duration coolDown = duration(value(fields, "coolDown"), where + " coolDown");
                RetrainingTrigger.Train train = train(value(fields, "train"), where);
                RetrainingTrigger.Promote promote = fields.containsKey("promote")
                        ? choice(value(fields, "promote"), where + " promote", RetrainingTrigger.Promote.class)
                        : RetrainingTrigger.Promote.APPROVAL;
                RetrainingTrigger.Watch watch = fields.containsKey("watch") ? watch(value(fields, "watch"), where) : null;
                if (name != null && intervention != null && when != null && coolDown != null && train != null
                        && promote != null && (watch != null || !fields.containsKey("watch"))) {
                    triggers.add(new RetrainingTrigger(name, intervention, when, coolDown, train, promote, watch));
                }
            }
            return triggers;
        }

        RetrainingTrigger.Measure triggerWhen(Node node, String where, List<ScorerSpec> scorers) {
            Map<String, NodeTuple> parts = fields(node, where + " when", TRIGGER_WHEN_KEYS, Set.of());
            if (parts == null) {
                return null;
            }
            if (parts.size() != 1) {
                error(node, where + " when: give exactly one of reviews, scorer");
                return null;
            }
            if (parts.containsKey("reviews")) {
                String at = where + " when.reviews";
                Map<String, NodeTuple> rule = fields(value(parts, "reviews"), at, REVIEWS_KEYS, Set.of("atLeast", "minReviews", "window"));
                if (rule == null) {
                    return null;
                }
                String verdict = rule.containsKey("verdict") ? string(value(rule, "verdict"), at + ".verdict") : "violation";
                if (verdict != null && !Set.of("violation", "unsure").contains(verdict)) {
                    error(value(rule, "verdict"), at + ".verdict: '" + verdict + "' is not one of violation | unsure");
                    verdict = null;
                }
                Double atLeast = positiveShare(value(rule, "atLeast"), at + ".atLeast");
                Integer min = count(value(rule, "minReviews"), at + ".minReviews");
                Duration window = duration(value(rule, "window"), at + ".window");
                return verdict == null || atLeast == null || min == null || window == null ? null
                        : new RetrainingTrigger.Measure(RetrainingTrigger.Kind.REVIEWS, verdict, null, 0, atLeast, min, window);
            }
            String at = where + " when.scorer";
            Map<String, NodeTuple> rule = fields(value(parts, "scorer"), at, SCORER_RULE_KEYS,
                    Set.of("name", "above", "atLeast", "minOutputs", "window"));
            if (rule == null) {
                return null;
            }
            String scorer = string(value(rule, "name"), at + ".name");
            if (scorer != null && scorers.stream().noneMatch(s -> s.name().equals(scorer))) {
                error(value(rule, "name"), at + ".name: '" + scorer + "' is not one of this policy's scorers");
                return null;
            }
            Double above = number(value(rule, "above"), at + ".above");
            Double atLeast = positiveShare(value(rule, "atLeast"), at + ".atLeast");
            Integer min = count(value(rule, "minOutputs"), at + ".minOutputs");
            Duration window = duration(value(rule, "window"), at + ".window");
            return scorer == null || above == null || atLeast == null || min == null || window == null ? null
                    : new RetrainingTrigger.Measure(RetrainingTrigger.Kind.SCORER, null, scorer, above, atLeast, min, window);
        }

        RetrainingTrigger.Train train(Node node, String where) {
            String at = where + " train";
            Map<String, NodeTuple> fields = fields(node, at, TRAIN_KEYS, Set.of("method"));
            if (fields == null) {
                return null;
            }
            String method = string(value(fields, "method"), at + ".method");
            if (method != null && InterventionMethods.find(method).isEmpty()) {
                error(value(fields, "method"), at + ".method: '" + method + "' is not one of " + InterventionMethods.wireNames());
                method = null;
            }
            String sites = fields.containsKey("sites") ? string(value(fields, "sites"), at + ".sites") : null;
            Map<String, NodeTuple> hp = fields.containsKey("hyperparameters")
                    ? fields(value(fields, "hyperparameters"), at + ".hyperparameters", HYPERPARAMETER_KEYS, Set.of())
                    : Map.of();
            if (hp == null) {
                return null;
            }
            String hpAt = at + ".hyperparameters.";
            Integer steps = hp.containsKey("steps") ? count(value(hp, "steps"), hpAt + "steps") : null;
            Double learningRate = hp.containsKey("learningRate") ? number(value(hp, "learningRate"), hpAt + "learningRate") : null;
            Double l1 = hp.containsKey("l1") ? number(value(hp, "l1"), hpAt + "l1") : null;
            Double groupLasso = hp.containsKey("groupLasso") ? number(value(hp, "groupLasso"), hpAt + "groupLasso") : null;
            Double seed = hp.containsKey("seed") ? number(value(hp, "seed"), hpAt + "seed") : null;
            Double heldOut = hp.containsKey("heldOut") ? number(value(hp, "heldOut"), hpAt + "heldOut") : null;
            Integer patience = hp.containsKey("patience") ? count(value(hp, "patience"), hpAt + "patience") : null;
            if (seed != null && (seed != Math.rint(seed) || Math.abs(seed) > 1e15)) {
                error(value(hp, "seed"), hpAt + "seed: must be a whole number, got " + scalarText(value(hp, "seed")));
                return null;
            }
            RetrainingTrigger.Evaluation evaluation = null;
            if (fields.containsKey("evaluation")) {
                evaluation = evaluation(value(fields, "evaluation"), at + ".evaluation");
                if (evaluation == null) {
                    return null;
                }
            }
            if (method == null || (hp.containsKey("steps") && steps == null) || (hp.containsKey("learningRate") && learningRate == null)
                    || (hp.containsKey("l1") && l1 == null) || (hp.containsKey("groupLasso") && groupLasso == null)
                    || (hp.containsKey("seed") && seed == null) || (hp.containsKey("heldOut") && heldOut == null)
                    || (hp.containsKey("patience") && patience == null)) {
                return null;
            }
            // ranges per method (e.g. a positive learning rate) are the method's own check, run when the job is queued
            return new RetrainingTrigger.Train(method, sites, steps, learningRate, l1, groupLasso,
                    seed == null ? null : seed.longValue(), heldOut, patience, evaluation);
        }

        /** A trigger job's gate evaluation; whether the prompt set and lexicons exist is checked when the job is queued. */
        RetrainingTrigger.Evaluation evaluation(Node node, String at) {
            Map<String, NodeTuple> fields = fields(node, at, EVALUATION_KEYS, Set.of("prompts", "concept"));
            if (fields == null) {
                return null;
            }
            String prompts = string(value(fields, "prompts"), at + ".prompts");
            String concept = string(value(fields, "concept"), at + ".concept");
            String desired = fields.containsKey("desired") ? string(value(fields, "desired"), at + ".desired") : null;
            Double strength = fields.containsKey("strength") ? number(value(fields, "strength"), at + ".strength") : null;
            if (strength != null && !(strength > 0)) {
                error(value(fields, "strength"), at + ".strength: must be positive, got " + scalarText(value(fields, "strength")));
                return null;
            }
            if (prompts == null || concept == null || (fields.containsKey("desired") && desired == null)
                    || (fields.containsKey("strength") && strength == null)) {
                return null;
            }
            return new RetrainingTrigger.Evaluation(prompts, concept, desired, strength);
        }

        RetrainingTrigger.Watch watch(Node node, String where) {
            String at = where + " watch";
            Map<String, NodeTuple> fields = fields(node, at, WATCH_KEYS, Set.of("window", "minOutputs"));
            if (fields == null) {
                return null;
            }
            Duration window = duration(value(fields, "window"), at + ".window");
            Integer min = count(value(fields, "minOutputs"), at + ".minOutputs");
            return window == null || min == null ? null : new RetrainingTrigger.Watch(window, min);
        }

        /** A share in (0, 1]. */
        Double positiveShare(Node node, String where) {
            Double value = number(node, where);
            if (value != null && !(value > 0 && value <= 1)) {
                error(node, where + ": must be in (0, 1], got " + scalarText(node));
                return null;
            }
            return value;
        }

        /** A whole number of at least 1. */
        Integer count(Node node, String where) {
            if (node == null) {
                return null;
            }
            if (node instanceof ScalarNode scalar && scalar.getTag().equals(Tag.INT)) {
                try {
                    int value = Integer.parseInt(scalar.getValue().replace("_", ""));
                    if (value >= 1) {
                        return value;
                    }
                } catch (NumberFormatException e) {
                    // fall through to the error: too large, or a YAML 1.1 hex or sexagesimal form
                }
            }
            error(node, where + ": must be a whole number of at least 1, got " + describe(node));
            return null;
        }

        /** {@code <n>s|m|h|d}, e.g. 7d or 30m. */
        Duration duration(Node node, String where) {
            String text = string(node, where);
            if (text == null) {
                return null;
            }
            var match = DURATION.matcher(text);
            if (!match.matches()) {
                error(node, where + ": '" + text + "' is not a duration like 30m, 12h or 7d (a whole number and s, m, h or d)");
                return null;
            }
            long amount = Long.parseLong(match.group(1));
            return switch (match.group(2)) {
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofDays(amount);
            };
        }

        // ---- typed scalars ----

        String intervention(Node node, String where) {
            String name = string(node, where);
            if (name != null && !catalog.exists(name)) {
                error(node, where + ": " + UNKNOWN_INTERVENTION + name + "'");
                return null;
            }
            return name;
        }

        Double strength(Node node, String where) {
            return strength(node, where, 1.0);
        }

        Double strength(Node node, String where, double max) {
            Double value = number(node, where);
            if (value != null && !(value >= 0 && value <= max)) {
                String bound = max == Math.rint(max) ? Long.toString((long) max) : Double.toString(max);
                error(node, where + ": strength must be in [0, " + bound + "], got " + scalarText(node));
                return null;
            }
            return value;
        }

        Double number(Node node, String where) {
            if (node == null) {
                return null;
            }
            if (node instanceof ScalarNode scalar && (scalar.getTag().equals(Tag.INT) || scalar.getTag().equals(Tag.FLOAT))) {
                try {
                    double value = Double.parseDouble(scalar.getValue().replace("_", ""));
                    if (Double.isFinite(value)) {
                        return value;
                    }
                } catch (NumberFormatException e) {
                    // fall through: YAML 1.1 also allows hex and sexagesimal ints, which no strength needs
                }
            }
            error(node, where + ": must be a number, got " + describe(node));
            return null;
        }

        Boolean bool(Node node, String where) {
            if (node == null) {
                return null;
            }
            if (node instanceof ScalarNode scalar && scalar.getTag().equals(Tag.BOOL)) {
                return Boolean.valueOf(scalar.getValue().toLowerCase(Locale.ROOT).matches("true|yes|on|y"));
            }
            error(node, where + ": must be true or false, got " + describe(node));
            return null;
        }

        <E extends Enum<E>> E choice(Node node, String where, Class<E> type) {
            String text = string(node, where);
            if (text == null) {
                return null;
            }
            for (E constant : type.getEnumConstants()) {
                if (constant.name().toLowerCase(Locale.ROOT).equals(text)) {
                    return constant;
                }
            }
            List<String> allowed = new ArrayList<>();
            for (E constant : type.getEnumConstants()) {
                allowed.add(constant.name().toLowerCase(Locale.ROOT));
            }
            error(node, where + ": '" + text + "' is not one of " + String.join(" | ", allowed));
            return null;
        }

        String name(Node node, String where, Pattern pattern) {
            String text = string(node, where);
            if (text != null && !pattern.matcher(text).matches()) {
                error(node, where + " '" + text + "' must match " + pattern.pattern());
                return null;
            }
            return text;
        }

        // Each reader below returns null for a missing node without a second error: the missing field is reported.

        /** Any non-null scalar, as written: "yes" stays the string "yes" rather than YAML 1.1's boolean. */
        String string(Node node, String where) {
            if (node == null) {
                return null;
            }
            if (node instanceof ScalarNode scalar && !scalar.getTag().equals(Tag.NULL)) {
                return scalar.getValue();
            }
            error(node, where + ": must be a string, got " + describe(node));
            return null;
        }

        List<Node> sequence(Node node, String where) {
            if (node == null) {
                return null;
            }
            if (node instanceof SequenceNode sequence) {
                return sequence.getValue();
            }
            error(node, where + ": must be a list, got " + describe(node));
            return null;
        }

        Map<String, NodeTuple> fields(Node node, String where, Set<String> allowed, Set<String> required) {
            return fields(node, where, allowed, required, "key");
        }

        /**
         * The entries of a mapping by key, after checking that every key is a string, none is repeated, each is
         * {@code allowed} (null: any) and every {@code required} one is there. Null when the node is not a mapping.
         */
        Map<String, NodeTuple> fields(Node node, String where, Set<String> allowed, Set<String> required, String keyWord) {
            if (node == null) {
                return null;
            }
            if (!(node instanceof MappingNode mapping)) {
                error(node, where + ": must be a mapping, got " + describe(node));
                return null;
            }
            Map<String, NodeTuple> fields = new LinkedHashMap<>();
            for (NodeTuple tuple : mapping.getValue()) {
                String key = string(tuple.getKeyNode(), where + " key");
                if (key == null) {
                    continue;
                }
                if (fields.containsKey(key)) {
                    error(tuple.getKeyNode(), where + ": duplicate key '" + key + "' (first at line "
                            + (fields.get(key).getKeyNode().getStartMark().getLine() + 1) + ")");
                    continue;
                }
                if (allowed != null && !allowed.contains(key)) {
                    error(tuple.getKeyNode(), where + ": unknown " + keyWord + " '" + key + "' (allowed: "
                            + String.join(", ", allowed.stream().sorted().toList()) + ")");
                    continue;
                }
                fields.put(key, tuple);
            }
            for (String key : required.stream().sorted().toList()) {
                if (!fields.containsKey(key)) {
                    error(node, where + ": missing field '" + key + "'");
                }
            }
            return fields;
        }

        Node value(Map<String, NodeTuple> fields, String key) {
            NodeTuple tuple = fields.get(key);
            return tuple == null ? null : tuple.getValueNode();
        }

        PolicyError mark(Node node) {
            return new PolicyError(file, node.getStartMark().getLine() + 1, node.getStartMark().getColumn() + 1, "");
        }

        String describe(Node node) {
            if (node == null) {
                return "nothing";
            }
            if (node instanceof MappingNode) {
                return "a mapping";
            }
            if (node instanceof SequenceNode) {
                return "a list";
            }
            return node.getTag().equals(Tag.NULL) ? "null" : "'" + scalarText(node) + "'";
        }

        String scalarText(Node node) {
            return node instanceof ScalarNode scalar ? scalar.getValue() : describe(node);
        }
    }
}
