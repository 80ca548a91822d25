package io.steergate.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.policy.Policy.ExplicitSteering;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PolicyParser: the shipped policies parse; every kind of bad file is reported at file:line:column, all at once. */
class PolicyParserTest {

    static final InterventionCatalog CATALOG = InterventionCatalog.of(
            Map.of("kindness", 3, "cheerful", 1, "no-dogs", 2, "gloomy", 1), Map.of());
    private final PolicyParser parser = new PolicyParser(Path.of("policies"), CATALOG);

    @Test
    void shippedPoliciesParse() {
        Policy kids = parseFile("kids-platform");
        assertEquals(List.of("kids-co"), kids.tenants());
        assertEquals(ExplicitSteering.DENY, kids.explicitSteering());
        assertEquals(List.of("always-kind", "kids-channel-no-dogs"), kids.rules().stream().map(Policy.Rule::name).toList());
        assertEquals(Map.of("channel", Set.of("kids")), kids.rules().get(1).when().labels());
        assertEquals(0.8, kids.rules().get(1).apply().get(0).strength());
        assertEquals(new Policy.ScorerSpec("meanness", "lexicons/meanness.txt", 0.05), kids.scorers().get(0));
        assertEquals(new Policy.ReviewSampling(0.05, 0.1), kids.review());
        assertEquals(List.of("kindness-reviews"), kids.retraining().stream().map(RetrainingTrigger::name).toList());

        Policy story = parseFile("storytelling");
        assertEquals(List.of("story-app", "story-app-beta"), story.tenants());
        assertEquals(ExplicitSteering.CLAMP, story.explicitSteering());
        assertEquals(0.5, story.explicitMaxStrength());
        assertEquals(1.5, story.siteStrengthCap());
        assertEquals(new Policy.StyleGrant("cheerful", "cheerful", 0.6, 0.8), story.styles().get("cheerful"));

        Policy fallback = parseFile("default");
        assertEquals(List.of("*"), fallback.tenants());
        assertEquals(List.of(), fallback.rules());
        assertEquals(Policy.DisallowedStyles.DROP, fallback.disallowedStyles());
    }

    @Test
    void readmeExampleParses() throws IOException {
        String readme = Files.readString(Path.of("policies/README.md"));
        Matcher example = Pattern.compile("```yaml\\n(# file: (\\S+)\\n.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(example.find(), "policies/README.md has a ```yaml block starting with '# file: NAME'");
        PolicyParser.Result result = parser.parse(example.group(2), example.group(1).getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(), result.errors());
    }

    @Test
    void versionIsTheSha256OfTheFileBytes() throws Exception {
        byte[] bytes = Files.readAllBytes(Path.of("policies/storytelling.yaml"));
        String expected = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        assertEquals(expected, parser.parse(Path.of("policies/storytelling.yaml")).policy().version());
    }

    @Test
    void yamlSyntaxErrorNamesFileLineAndColumn() {
        List<String> errors = errors("""
                id: p
                tenants: [a
                rules: []
                """);
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("p.yaml:3:"), errors.toString());
        assertTrue(errors.get(0).contains("YAML syntax"), errors.toString());
    }

    @Test
    void unknownKeysAreReportedAtEveryLevel() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                colour: red
                styles:
                  cheerful: {intervention: cheerful, strenght: 0.5}
                rules:
                  - name: r
                    aply: []
                    apply:
                      - {intervention: kindness, strength: 1, weight: 2}
                scorers:
                  - {name: s, lexicon: lexicons/meanness.txt, weight: 1}
                """);
        assertEquals(List.of(
                "p.yaml:3:1: policy: unknown key 'colour' (allowed: conflicts, description, disallowedStyles, escalation, explicitMaxStrength, explicitSteering, id, retraining, review, rules, scorers, siteStrengthCap, styles, tenants)",
                "p.yaml:5:38: styles.cheerful: unknown key 'strenght' (allowed: defaultStrength, intervention, maxStrength)",
                "p.yaml:8:5: rule: unknown key 'aply' (allowed: apply, counterfactual, name, when)",
                "p.yaml:10:47: rule 'r' apply[]: unknown key 'weight' (allowed: intervention, strength)",
                "p.yaml:12:47: scorer: unknown key 'weight' (allowed: intervention, lexicon, name, site, threshold, type)"), errors);
    }

    @Test
    void unknownConditionKey() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                rules:
                  - name: r
                    when: {label: {channel: kids}}
                    apply: [{intervention: kindness, strength: 1}]
                """);
        assertEquals(List.of("p.yaml:5:12: rule 'r' when: unknown condition key 'label' (allowed: labels, steering, styles, tenants)",
                "p.yaml:5:11: rule 'r': 'when' is empty; leave it out for a rule that always applies"), errors);
    }

    @Test
    void strengthOutsideZeroToOne() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                styles:
                  cheerful: {intervention: cheerful, maxStrength: 1.2}
                rules:
                  - name: r
                    apply: [{intervention: kindness, strength: -0.1}, {intervention: no-dogs, strength: "high"}]
                """);
        assertEquals(List.of("p.yaml:4:51: styles.cheerful.maxStrength: strength must be in [0, 1], got 1.2",
                "p.yaml:7:48: rule 'r' apply.strength: strength must be in [0, 1], got -0.1",
                "p.yaml:7:89: rule 'r' apply.strength: must be a number, got 'high'"), errors);
    }

    @Test
    void missingFields() {
        List<String> errors = errors("""
                id: p
                rules:
                  - name: r
                  - apply: [{strength: 1}]
                """);
        assertEquals(List.of("p.yaml:1:1: policy: missing field 'tenants'",
                "p.yaml:3:5: rule: missing field 'apply'",
                "p.yaml:4:5: rule: missing field 'name'",
                "p.yaml:4:13: rule ? apply[]: missing field 'intervention'"), errors);
    }

    @Test
    void duplicateRuleNames() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                rules:
                  - name: r
                    apply: [{intervention: kindness, strength: 1}]
                  - name: r
                    apply: [{intervention: no-dogs, strength: 1}]
                """);
        assertEquals(List.of("p.yaml:6:11: duplicate rule name 'r'"), errors);
    }

    @Test
    void duplicateKeys() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                id: q
                styles:
                  cheerful: {intervention: cheerful, maxStrength: 0.5, maxStrength: 0.6}
                """);
        assertEquals(List.of("p.yaml:3:1: policy: duplicate key 'id' (first at line 1)",
                "p.yaml:5:56: styles.cheerful: duplicate key 'maxStrength' (first at line 5)"), errors);
    }

    @Test
    void unknownIntervention() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                styles:
                  sunny: {intervention: sunshine}
                rules:
                  - name: r
                    when: {steering: [no-cats]}
                    apply: [{intervention: no-cats, strength: 1}]
                """);
        assertEquals(List.of("p.yaml:4:25: styles.sunny.intervention: unknown intervention 'sunshine'",
                "p.yaml:7:22: rule 'r': when.steering names unknown intervention 'no-cats'",
                "p.yaml:8:28: rule 'r' apply.intervention: unknown intervention 'no-cats'"), errors);
    }

    @Test
    void anchorsAndAliasesAreRefusedBeforeAnythingQuotesTheirValues() {
        // before: every alias became an error message quoting the 100,000-character scalar again (3 MB of file,
        // hundreds of GB of messages at scale)
        String yaml = "id: p\ntenants: [a]\nconflicts:\n  - [&s \"" + "x".repeat(100_000) + "\"" + ", *s".repeat(2_000) + "]\n";
        assertEquals(List.of("p.yaml:4:6: anchors and aliases (&name, *name) are not supported in policies: this value is"
                + " used more than once; write it out where it is needed"), errors(yaml));
        assertEquals(List.of("p.yaml:3:9: anchors and aliases (&name, *name) are not supported in policies: this value is"
                + " used more than once; write it out where it is needed"), errors("id: p\ntenants: [a]\nstyles: &loop {a: *loop}\n"));
    }

    @Test
    void unknownLexiconFile() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                scorers:
                  - {name: meanness, lexicon: lexicons/meanes.txt}
                  - {name: secrets, lexicon: ../../etc/passwd}
                """);
        assertEquals(List.of("p.yaml:4:31: unknown lexicon file 'lexicons/meanes.txt' (relative to policies)",
                "p.yaml:5:30: lexicon '../../etc/passwd' must lie inside the policies directory"), errors);
    }

    @Test
    void aLexiconTheScorerCannotUseIsRefusedWhenThePolicyIsRead(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("lexicons"));
        Files.write(dir.resolve("lexicons/latin1.txt"), "caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        Files.writeString(dir.resolve("lexicons/phrase.txt"), "mean\ntwo words\n");
        Files.writeString(dir.resolve("lexicons/empty.txt"), "# nothing yet\n");
        List<String> errors = new PolicyParser(dir, CATALOG).parse("p.yaml", """
                id: p
                tenants: [a]
                scorers:
                  - {name: a, lexicon: lexicons/latin1.txt}
                  - {name: b, lexicon: lexicons/phrase.txt}
                  - {name: c, lexicon: lexicons/empty.txt}
                """.getBytes(StandardCharsets.UTF_8)).errors().stream().map(PolicyError::toString).toList();
        assertEquals(3, errors.size(), errors.toString());
        assertEquals("p.yaml:4:24: lexicon 'lexicons/latin1.txt' is not UTF-8 text", errors.get(0));
        assertTrue(errors.get(1).startsWith("p.yaml:5:24: lexicon 'lexicons/phrase.txt' cannot be used: ")
                && errors.get(1).contains("line 2"), errors.get(1));
        assertTrue(errors.get(2).startsWith("p.yaml:6:24: lexicon 'lexicons/empty.txt' cannot be used: ")
                && errors.get(2).endsWith("lexicon has no entries"), errors.get(2));
    }

    @Test
    void scorerThresholdIsAShareOfWords() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                scorers:
                  - {name: zero, lexicon: lexicons/meanness.txt, threshold: 0}
                  - {name: over, lexicon: lexicons/meanness.txt, threshold: 1.5}
                  - {name: word, lexicon: lexicons/meanness.txt, threshold: high}
                """);
        assertEquals(3, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("p.yaml:4:"), errors.get(0));
        assertTrue(errors.get(0).contains("scorer threshold must be in (0, 1]"), errors.get(0));
        assertTrue(errors.get(1).contains("got 1.5"), errors.get(1));
        assertTrue(errors.get(2).startsWith("p.yaml:6:"), errors.get(2));
    }

    @Test
    void scorerThresholdFlagsAtOrAbove() {
        Policy.ScorerSpec meanness = new Policy.ScorerSpec("meanness", "lexicons/meanness.txt", 0.05);
        assertTrue(meanness.flags(0.05));
        assertTrue(meanness.flags(0.2));
        assertFalse(meanness.flags(0.049));
        assertFalse(meanness.flags(null));
        assertFalse(new Policy.ScorerSpec("dogs", "lexicons/dogs.txt", null).flags(1.0));
    }

    @Test
    void reviewSamplingIsTwoSharesEachZeroWhenLeftOut() {
        PolicyParser.Result full = parser.parse("p.yaml", """
                id: p
                tenants: [a]
                review: {sample: 0.05, agreement: 0.1}
                """.getBytes(StandardCharsets.UTF_8));
        assertEquals(new Policy.ReviewSampling(0.05, 0.1), full.policy().review(), full.errors().toString());
        PolicyParser.Result sampleOnly = parser.parse("p.yaml", """
                id: p
                tenants: [a]
                review: {sample: 1}
                """.getBytes(StandardCharsets.UTF_8));
        assertEquals(new Policy.ReviewSampling(1, 0), sampleOnly.policy().review(), sampleOnly.errors().toString());
        PolicyParser.Result absent = parser.parse("p.yaml", "id: p\ntenants: [a]\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(Policy.ReviewSampling.NONE, absent.policy().review());
    }

    @Test
    void reviewSamplingRefusesWhatIsNotAShare() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                review: {sample: 1.5, agreement: often, every: 3}
                """);
        assertEquals(List.of("p.yaml:3:41: review: unknown key 'every' (allowed: agreement, sample)",
                "p.yaml:3:18: review.sample: must be a share in [0, 1], got 1.5",
                "p.yaml:3:34: review.agreement: must be a number, got 'often'"), errors);
        assertEquals(List.of("p.yaml:3:9: review: must be a mapping, got a list"), errors("""
                id: p
                tenants: [a]
                review: [0.5]
                """));
    }

    @Test
    void shippedEscalationPoliciesParse() {
        Policy moderated = parseFile("moderated-stories");
        assertEquals(Policy.OnFailure.WITHHOLD, moderated.escalation().onFailure());
        assertEquals(List.of(new Policy.Rung(List.of(new Policy.Application("kindness", 1.0))),
                new Policy.Rung(List.of(new Policy.Application("kindness", 1.5)))), moderated.escalation().rungs());
        assertEquals(new Policy.Counterfactual(1.0, true), moderated.rules().get(0).counterfactual());
        assertEquals(new Policy.Counterfactual(0.0, false), moderated.rules().get(1).counterfactual());
        assertEquals(new Policy.Counterfactual(0.1, false), moderated.rules().get(2).counterfactual());

        Policy reviewed = parseFile("reviewed-stories");
        assertEquals(Policy.OnFailure.FLAG, reviewed.escalation().onFailure());
        assertEquals(2.0, reviewed.escalation().rung(1).orElseThrow().apply().get(0).strength());
        assertTrue(reviewed.escalation().rung(2).isEmpty());
        assertTrue(reviewed.escalation().rung(0).isEmpty(), "attempt 0 is the decided plan, not a rung");

        assertEquals(Policy.Escalation.NONE, parseFile("kids-platform").escalation());
        assertNull(parseFile("kids-platform").rules().get(0).counterfactual());
    }

    @Test
    void rungStrengthsReachTheEnginesLargestStrength() {
        assertEquals(io.steergate.engine.steering.SteeringPlan.MAX_STRENGTH, Policy.Escalation.MAX_RUNG_STRENGTH);
    }

    @Test
    void badEscalationBlocksAreReportedWhereWritten() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                scorers:
                  - {name: meanness, lexicon: lexicons/meanness.txt, threshold: 0.05}
                escalation:
                  rungs:
                    - apply: [{intervention: kindness, strength: 4.5}]
                    - apply: []
                    - apply: [{intervention: nope, strength: 1.0}]
                    - {apply: [{intervention: kindness, strength: 1.0}], weight: 2}
                  onFailure: shrug
                  retries: 3
                """);
        assertEquals(List.of(
                "p.yaml:12:3: escalation: unknown key 'retries' (allowed: onFailure, rungs)",
                "p.yaml:11:14: escalation.onFailure: 'shrug' is not one of withhold | flag",
                "p.yaml:7:50: escalation.rungs[0] apply.strength: strength must be in [0, 4], got 4.5",
                "p.yaml:8:14: escalation.rungs[1]: apply must list at least one intervention",
                "p.yaml:9:30: escalation.rungs[2] apply.intervention: unknown intervention 'nope'",
                "p.yaml:10:58: escalation.rungs[3]: unknown key 'weight' (allowed: apply)"), errors);

        List<String> tooMany = errors("""
                id: p
                tenants: [a]
                scorers:
                  - {name: dogs, lexicon: lexicons/dogs.txt}
                escalation:
                  rungs: [{apply: [{intervention: kindness, strength: 1}]}, {apply: [{intervention: kindness, strength: 1}]},
                          {apply: [{intervention: kindness, strength: 1}]}, {apply: [{intervention: kindness, strength: 1}]},
                          {apply: [{intervention: kindness, strength: 1}]}]
                """);
        assertEquals(List.of(
                "p.yaml:6:3: escalation: missing field 'onFailure'",
                "p.yaml:6:3: escalation: no scorer has a threshold, so no output is ever flagged (give a scorer a threshold)",
                "p.yaml:6:10: escalation.rungs: at most 4 rungs (each is one more generation of the request), got 5"), tooMany);
    }

    @Test
    void escalationWithoutRungsGoesStraightToOnFailure() {
        PolicyParser.Result result = parser.parse("p.yaml", """
                id: p
                tenants: [a]
                scorers:
                  - {name: meanness, lexicon: lexicons/meanness.txt, threshold: 0.05}
                escalation: {onFailure: withhold}
                """.getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(), result.errors());
        assertEquals(new Policy.Escalation(List.of(), Policy.OnFailure.WITHHOLD), result.policy().escalation());
    }

    @Test
    void badCounterfactualsAreReportedWhereWritten() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                rules:
                  - name: r1
                    apply: [{intervention: kindness, strength: 1.0}]
                    counterfactual: {share: 1.5, deliver: false}
                  - name: r2
                    apply: [{intervention: kindness, strength: 1.0}]
                    counterfactual: {share: 0.1, deliver: maybe, keep: true}
                  - name: r3
                    apply: [{intervention: kindness, strength: 1.0}]
                    counterfactual: {deliver: true}
                """);
        assertEquals(List.of(
                "p.yaml:6:29: rule 'r1' counterfactual.share must be in [0, 1] (a share of the requests the rule matches), got 1.5",
                "p.yaml:9:50: rule 'r2' counterfactual: unknown key 'keep' (allowed: deliver, share)",
                "p.yaml:9:43: rule 'r2' counterfactual.deliver: must be true or false, got 'maybe'",
                "p.yaml:12:21: rule 'r3' counterfactual: missing field 'share'"), errors);
    }

    @Test
    void theCounterfactualDrawIsAFunctionOfTheSeedAndMeetsItsShare() {
        Policy.Counterfactual always = new Policy.Counterfactual(1.0, false);
        Policy.Counterfactual never = new Policy.Counterfactual(0.0, false);
        Policy.Counterfactual tenth = new Policy.Counterfactual(0.1, false);
        int drawn = 0;
        for (long seed = -5_000; seed < 5_000; seed++) {
            assertTrue(always.drawn(seed));
            assertFalse(never.drawn(seed));
            assertEquals(tenth.drawn(seed), tenth.drawn(seed));
            drawn += tenth.drawn(seed) ? 1 : 0;
        }
        assertTrue(drawn > 850 && drawn < 1150, drawn + " of 10000 seeds drawn at share 0.1");
    }

    @Test
    void everyErrorOfAFileIsCollected() {
        List<String> errors = errors("""
                id: Wrong_Id
                tenants: ['*', a, a]
                explicitSteering: sometimes
                siteStrengthCap: 0
                styles:
                  cheerful: {intervention: cheerful, defaultStrength: 0.9, maxStrength: 0.8}
                conflicts: [[cheerful, gloomy]]
                rules:
                  - name: r
                    when: {styles: [sunny]}
                    apply: []
                """);
        assertEquals(List.of(
                "p.yaml:1:5: id 'Wrong_Id' must match [a-z0-9][a-z0-9-]{0,63}",
                "p.yaml:2:11: tenant '*' is allowed only in the policy 'default'",
                "p.yaml:2:19: tenant 'a' is listed twice",
                "p.yaml:3:19: explicitSteering: 'sometimes' is not one of allow | clamp | deny | drop",
                "p.yaml:4:18: siteStrengthCap must be greater than 0, got 0.0",
                "p.yaml:6:55: styles.cheerful.defaultStrength 0.9 is above maxStrength 0.8",
                "p.yaml:7:24: conflicts: style 'gloomy' is not offered under styles",
                "p.yaml:10:20: rule 'r': when.styles names 'sunny', which the policy does not offer under styles",
                "p.yaml:11:12: rule 'r': apply must list at least one intervention"), errors);
    }

    @Test
    void idMustMatchTheFileNameAndClampNeedsItsMaximum() {
        List<String> errors = errors("""
                id: q
                tenants: [a]
                explicitSteering: clamp
                """);
        assertEquals(List.of("p.yaml:1:5: id 'q' must equal the file name without .yaml ('p')",
                "p.yaml:1:1: missing field 'explicitMaxStrength' (required with explicitSteering: clamp)"), errors);
    }

    @Test
    void emptyFileAndTwoDocuments() {
        assertEquals(List.of("p.yaml: the file is empty; expected a policy mapping"), errors(""));
        assertEquals(List.of("p.yaml:4:1: one policy per file: a second YAML document starts here"),
                errors("id: p\ntenants: [a]\n---\nid: q\n"));
    }

    @Test
    void labelValuesStayAsWrittenAndMayBeLists() {
        PolicyParser.Result result = parser.parse("p.yaml", """
                id: p
                tenants: [a]
                rules:
                  - name: r
                    when: {labels: {adult: no, channel: [kids, family]}}
                    apply: [{intervention: kindness, strength: 1}]
                """.getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(), result.errors());
        assertEquals(Map.of("adult", Set.of("no"), "channel", Set.of("kids", "family")), result.policy().rules().get(0).when().labels());
        assertNull(parser.parse("p.yaml", "id: p\n".getBytes(StandardCharsets.UTF_8)).policy());
    }

    @Test
    void retrainingTriggersParseWithTheirDefaults() {
        PolicyParser.Result result = parser.parse("p.yaml", """
                id: p
                tenants: [a]
                scorers:
                  - {name: meanness, lexicon: lexicons/meanness.txt}
                retraining:
                  - name: kindness-reviews
                    intervention: kindness
                    when:
                      reviews: {verdict: violation, atLeast: 0.05, minReviews: 50, window: 7d}
                    coolDown: 1d
                    train: {method: lineas, sites: resid, hyperparameters: {steps: 50, learningRate: 0.01, seed: 7, heldOut: 0.25, patience: 50}}
                    promote: auto
                    watch: {window: 12h, minOutputs: 50}
                  - name: kindness-meanness
                    intervention: kindness
                    when:
                      scorer: {name: meanness, above: 0.1, atLeast: 0.02, minOutputs: 500, window: 30m}
                    coolDown: 90s
                    train:
                      method: mean-shift
                      evaluation: {prompts: kindness-elicit, concept: meanness, desired: kindness, strength: 2}
                """.getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(), result.errors());
        RetrainingTrigger reviews = result.policy().retraining().get(0);
        assertEquals(new RetrainingTrigger("kindness-reviews", "kindness",
                new RetrainingTrigger.Measure(RetrainingTrigger.Kind.REVIEWS, "violation", null, 0, 0.05, 50, Duration.ofDays(7)),
                Duration.ofDays(1), new RetrainingTrigger.Train("lineas", "resid", 50, 0.01, null, null, 7L, 0.25, 50, null),
                RetrainingTrigger.Promote.AUTO, new RetrainingTrigger.Watch(Duration.ofHours(12), 50)), reviews);
        assertEquals(Map.of("steps", 50, "learningRate", 0.01, "seed", 7L, "heldOut", 0.25, "patience", 50),
                reviews.train().hyperparameters());
        RetrainingTrigger scorer = result.policy().retraining().get(1);
        assertEquals(new RetrainingTrigger.Measure(RetrainingTrigger.Kind.SCORER, null, "meanness", 0.1, 0.02, 500,
                Duration.ofMinutes(30)), scorer.when());
        assertEquals(Duration.ofSeconds(90), scorer.coolDown());
        assertEquals(RetrainingTrigger.Promote.APPROVAL, scorer.promote(), "approval unless the policy says auto");
        assertNull(scorer.watch());
        assertNull(scorer.train().sites());
        assertEquals(new RetrainingTrigger.Evaluation("kindness-elicit", "meanness", "kindness", 2.0), scorer.train().evaluation());
        assertEquals(List.of(), parseFile("storytelling").retraining(), "a policy without the key has no triggers");
    }

    @Test
    void badRetrainingTriggersAreReportedWhereWritten() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                scorers:
                  - {name: meanness, lexicon: lexicons/meanness.txt}
                retraining:
                  - name: t1
                    intervention: unknown-one
                    when:
                      reviews: {verdict: ok, atLeast: 1.5, minReviews: 0, window: 7 days}
                    coolDown: 1w
                    train: {method: sgd, hyperparameters: {steps: 2.5, momentum: 1, seed: 0.5}}
                    promote: sometimes
                    watch: {window: 1d}
                  - name: t1
                    intervention: kindness
                    when:
                      scorer: {name: sadness, above: 0.1, atLeast: 0.02, minOutputs: 5, window: 1d}
                      reviews: {atLeast: 0.1, minReviews: 5, window: 1d}
                    train: {method: lineas}
                  - name: t3
                    intervention: kindness
                    when: {scorer: {name: sadness, above: high, atLeast: 0.02, minOutputs: 5, window: 1d}}
                    coolDown: 1d
                    train: {method: lineas}
                """);
        assertEquals(List.of(
                "p.yaml:7:19: retraining 't1' intervention: unknown intervention 'unknown-one'",
                "p.yaml:9:26: retraining 't1' when.reviews.verdict: 'ok' is not one of violation | unsure",
                "p.yaml:9:39: retraining 't1' when.reviews.atLeast: must be in (0, 1], got 1.5",
                "p.yaml:9:56: retraining 't1' when.reviews.minReviews: must be a whole number of at least 1, got '0'",
                "p.yaml:9:67: retraining 't1' when.reviews.window: '7 days' is not a duration like 30m, 12h or 7d (a whole number and s, m, h or d)",
                "p.yaml:10:15: retraining 't1' coolDown: '1w' is not a duration like 30m, 12h or 7d (a whole number and s, m, h or d)",
                "p.yaml:11:21: retraining 't1' train.method: 'sgd' is not one of " + io.steergate.engine.training.InterventionMethods.wireNames(),
                "p.yaml:11:56: retraining 't1' train.hyperparameters: unknown key 'momentum' (allowed: groupLasso, heldOut, l1, learningRate, patience, seed, steps)",
                "p.yaml:11:51: retraining 't1' train.hyperparameters.steps: must be a whole number of at least 1, got '2.5'",
                "p.yaml:11:75: retraining 't1' train.hyperparameters.seed: must be a whole number, got 0.5",
                "p.yaml:12:14: retraining 't1' promote: 'sometimes' is not one of auto | approval",
                "p.yaml:13:12: retraining 't1' watch: missing field 'minOutputs'",
                "p.yaml:14:5: retraining[]: missing field 'coolDown'",
                "p.yaml:14:11: duplicate retraining trigger name 't1'",
                "p.yaml:17:7: retraining 't1' when: give exactly one of reviews, scorer",
                "p.yaml:22:27: retraining 't3' when.scorer.name: 'sadness' is not one of this policy's scorers"), errors);
    }

    @Test
    void aTriggersEvaluationNeedsItsPromptsAndConceptAndAPositiveStrength() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                retraining:
                  - name: t1
                    intervention: kindness
                    when: {reviews: {atLeast: 0.1, minReviews: 5, window: 1d}}
                    coolDown: 1d
                    train: {method: mean-shift, evaluation: {concept: meanness, rounds: 2}}
                  - name: t2
                    intervention: kindness
                    when: {reviews: {atLeast: 0.1, minReviews: 5, window: 1d}}
                    coolDown: 1d
                    train: {method: mean-shift, evaluation: {prompts: kindness-elicit, concept: meanness, strength: 0}}
                """);
        assertEquals(List.of(
                "p.yaml:8:65: retraining 't1' train.evaluation: unknown key 'rounds' (allowed: concept, desired, prompts, strength)",
                "p.yaml:8:45: retraining 't1' train.evaluation: missing field 'prompts'",
                "p.yaml:13:101: retraining 't2' train.evaluation.strength: must be positive, got 0"), errors);
    }

    private Policy parseFile(String id) {
        PolicyParser.Result result = parser.parse(Path.of("policies", id + ".yaml"));
        assertEquals(List.of(), result.errors());
        return result.policy();
    }

    private List<String> errors(String yaml) {
        return parser.parse("p.yaml", yaml.getBytes(StandardCharsets.UTF_8)).errors().stream().map(PolicyError::toString).toList();
    }
}
