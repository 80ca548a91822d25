package io.steergate.policy;

import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.PolicyRef;
import java.util.List;

/** What the policy decided for one request: the policy version and the ordered plan of interventions. */
public record Decision(PolicyRef policy, List<AppliedIntervention> plan) {}
