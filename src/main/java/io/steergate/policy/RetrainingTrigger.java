package io.steergate.policy;

import java.time.Duration;
import java.util.Map;

/**
 * One entry of a policy's {@code retraining} list (policies/README.md, "Retraining triggers"): when the measured rate
 * of {@link #when} over the policy's outputs that applied {@link #intervention} reaches its threshold, and the last
 * firing is at least {@link #coolDown} ago, a retraining job is queued with {@link #train}; after a promotion the
 * {@link #watch} compares the new version's rate with the one that fired the trigger and rolls back when it is worse.
 *
 * @param name         unique within the policy; with the policy id it names the trigger
 * @param intervention the intervention measured and retrained
 * @param when         what is measured and when it fires
 * @param coolDown     the least time between two firings
 * @param train        the job's method, sites, hyperparameters and gate evaluation; its prompt sets are the
 *                     intervention's base sets plus the violating outputs
 * @param promote      what happens to the trained version
 * @param watch        the check after a promotion; null: none (no automatic rollback)
 */
public record RetrainingTrigger(String name, String intervention, Measure when, Duration coolDown, Train train,
        Promote promote, Watch watch) {

    /** What a trigger measures. */
    public enum Kind {
        /** The share of reviewed outputs whose latest review verdict is {@link Measure#verdict}. */
        REVIEWS,
        /** The share of scored outputs whose {@link Measure#scorer} score is above {@link Measure#above}. */
        SCORER
    }

    /**
     * The rate a trigger measures over the window before each sweep, and its threshold.
     *
     * @param verdict  {@link Kind#REVIEWS}: the verdict that counts as violating; null otherwise
     * @param scorer   {@link Kind#SCORER}: the policy's scorer; null otherwise
     * @param above    {@link Kind#SCORER}: a score above this is violating
     * @param atLeast  fires when the violating share is at least this, in (0, 1]
     * @param minCount the least counted outputs (reviewed ones for reviews, scored ones for a scorer) to fire at all
     * @param window   how far back the sweep looks
     */
    public record Measure(Kind kind, String verdict, String scorer, double above, double atLeast, int minCount,
            Duration window) {}

    /**
     * The job: a method's wire name, a site spec and the hyperparameters given (absent: the method's defaults), and the
     * evaluation its candidate is gated with (null: the intervention's default evaluation, if any).
     */
    public record Train(String method, String sites, Integer steps, Double learningRate, Double l1, Double groupLasso,
            Long seed, Double heldOut, Integer patience, Evaluation evaluation) {

        /** The hyperparameters that were given, by their wire names, for the trigger's record. */
        public Map<String, Object> hyperparameters() {
            Map<String, Object> given = new java.util.LinkedHashMap<>();
            if (steps != null) {
                given.put("steps", steps);
            }
            if (learningRate != null) {
                given.put("learningRate", learningRate);
            }
            if (l1 != null) {
                given.put("l1", l1);
            }
            if (groupLasso != null) {
                given.put("groupLasso", groupLasso);
            }
            if (seed != null) {
                given.put("seed", seed);
            }
            if (heldOut != null) {
                given.put("heldOut", heldOut);
            }
            if (patience != null) {
                given.put("patience", patience);
            }
            return given;
        }
    }

    /**
     * The evaluation gate's measurement of a trigger's job (a training request's {@code evaluation}): a stored prompt
     * set of held-out prompts, the concept lexicon whose rate must fall, optionally a desired-side lexicon, and the
     * strength (null: the gate's default). Checked when the job is queued.
     */
    public record Evaluation(String prompts, String concept, String desired, Double strength) {}

    /** What happens to a trained version. */
    public enum Promote {
        /** The job promotes it (through the evaluation gate where there is one). */
        AUTO,
        /** It stays a candidate until an operator promotes it. */
        APPROVAL
    }

    /**
     * After a promotion: once {@code minOutputs} outputs of the new version (reviewed ones for a reviews trigger) were
     * counted within {@code window}, the new version's rate is compared with the rate that fired the trigger.
     */
    public record Watch(Duration window, int minOutputs) {}
}
