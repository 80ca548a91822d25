package io.steergate.intervention;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Basic;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.FetchType;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.Optional;

/** One immutable map of an intervention (the safetensors file itself) and its lifecycle status. */
@Entity
@Table(name = "intervention_versions")
public class InterventionVersion extends PanacheEntityBase {

    public enum Status { candidate, active, retired }

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    public String name;

    public int version;

    public String status;

    public String method;

    @Column(name = "model_fingerprint")
    public String modelFingerprint;

    @Column(columnDefinition = "text")
    public String sites;

    @Column(name = "metrics_json", columnDefinition = "text")
    public String metricsJson;

    @Column(name = "map_sha256")
    public String mapSha256;

    /** {"source":"<hex>","target":"<hex>"}: the sha256 of the prompts it was fitted on, or null. */
    @Column(name = "training_data_json", columnDefinition = "text")
    public String trainingDataJson;

    // Lazy: listings never need the map bytes, workers load them once per (name, version).
    @Basic(fetch = FetchType.LAZY)
    @Column(name = "map_blob")
    public byte[] mapBlob;

    @Column(name = "created_by")
    public String createdBy;

    @Column(name = "created_at")
    public Instant createdAt;

    @Column(name = "status_changed_at")
    public Instant statusChangedAt;

    /** The evaluation gate's verdicts as {@link #gate} holds them. */
    public static final String GATE_PASSED = "PASSED";
    public static final String GATE_REFUSED = "REFUSED";

    /** The evaluation gate's verdict on a trained version, PASSED or REFUSED; null when it was not evaluated. */
    public String gate;

    /** Who promoted it although its gate REFUSED it, and when; null otherwise. */
    @Column(name = "gate_override_by")
    public String gateOverrideBy;

    @Column(name = "gate_override_at")
    public Instant gateOverrideAt;

    public static Optional<InterventionVersion> of(String name, int version) {
        return find("name = ?1 and version = ?2", name, version).firstResultOptional();
    }

    public static Optional<InterventionVersion> active(String name) {
        return find("name = ?1 and status = 'active'", name).firstResultOptional();
    }
}
