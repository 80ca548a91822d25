package io.steergate.retraining;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** One request to train an intervention and how it went: QUEUED, RUNNING, then SUCCEEDED or FAILED. */
@Entity
@Table(name = "retraining_jobs")
public class RetrainingJob extends PanacheEntityBase {

    public enum Status { QUEUED, RUNNING, SUCCEEDED, FAILED }

    @Id
    public UUID id;

    public String intervention;

    public String kind;

    public String description;

    public String method;

    @Column(name = "source_set")
    public String sourceSet;

    @Column(name = "target_set")
    public String targetSet;

    public String sites;

    @Column(name = "hyperparameters_json")
    public String hyperparametersJson;

    public boolean promote;

    public String status;

    public int attempts;

    @Column(name = "progress_json")
    public String progressJson;

    /** The loss curve so far, [[step, loss], ...] ({@link LossHistory}); null without a loss. */
    @Column(name = "loss_history_json")
    public String lossHistoryJson;

    @Column(name = "result_version")
    public Integer resultVersion;

    @Column(name = "metrics_json")
    public String metricsJson;

    /** Why a FAILED job failed (null otherwise). */
    public String error;

    /** Why the latest attempt ended without a result; kept when a later attempt succeeds. */
    @Column(name = "last_error")
    public String lastError;

    /** What the evaluation gate measures with (EvaluationRequest as JSON); null when the job is not evaluated. */
    @Column(name = "evaluation_spec_json")
    public String evaluationSpecJson;

    /** The gate's verdict, PASSED or REFUSED; null until evaluated. */
    public String gate;

    /** The gate's report: both measurements, intervals, perplexities, rule, hashes, what became of the version. */
    @Column(name = "evaluation_json")
    public String evaluationJson;

    @Column(name = "requested_by")
    public String requestedBy;

    @Column(name = "created_at")
    public Instant createdAt;

    /** When the job's latest steer.retraining record was queued: its creation or the last re-queue. */
    @Column(name = "queued_at")
    public Instant queuedAt;

    @Column(name = "started_at")
    public Instant startedAt;

    @Column(name = "heartbeat_at")
    public Instant heartbeatAt;

    @Column(name = "finished_at")
    public Instant finishedAt;
}
