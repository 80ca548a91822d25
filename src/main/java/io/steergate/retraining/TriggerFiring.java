package io.steergate.retraining;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** One firing of a policy's retraining trigger and where it stands (V15 retraining_trigger_firings). */
@Entity
@Table(name = "retraining_trigger_firings")
public class TriggerFiring extends PanacheEntityBase {

    /** Where a firing stands; the first three are open (the sweep moves them on), the rest final. */
    public enum Status {
        QUEUED, AWAITING_PROMOTION, WATCHING, PASSED, ROLLED_BACK, INCONCLUSIVE, PROMOTED, JOB_FAILED, NOT_PROMOTED, FAILED;

        static final java.util.List<String> OPEN = java.util.List.of(QUEUED.name(), AWAITING_PROMOTION.name(), WATCHING.name());
    }

    @Id
    public UUID id;

    @Column(name = "policy_id")
    public String policyId;

    @Column(name = "policy_version")
    public String policyVersion;

    @Column(name = "trigger_name")
    public String triggerName;

    public String intervention;

    public String status;

    @Column(name = "trigger_json", columnDefinition = "text")
    public String triggerJson;

    @Column(name = "scope_json", columnDefinition = "text")
    public String scopeJson;

    @Column(name = "evidence_json", columnDefinition = "text")
    public String evidenceJson;

    @Column(name = "previous_version")
    public Integer previousVersion;

    @Column(name = "source_set")
    public String sourceSet;

    @Column(name = "target_set")
    public String targetSet;

    @Column(name = "job_id")
    public UUID jobId;

    @Column(name = "result_version")
    public Integer resultVersion;

    @Column(name = "promoted_at")
    public Instant promotedAt;

    @Column(columnDefinition = "text")
    public String error;

    @Column(name = "fired_at")
    public Instant firedAt;

    @Column(name = "updated_at")
    public Instant updatedAt;
}
