package io.steergate.retraining;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** One step of a trigger firing, appended (V15 retraining_trigger_steps). */
@Entity
@Table(name = "retraining_trigger_steps")
public class TriggerStep extends PanacheEntityBase {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(name = "firing_id")
    public UUID firingId;

    public String step;

    @Column(name = "detail_json", columnDefinition = "text")
    public String detailJson;

    @Column(name = "recorded_at")
    public Instant recordedAt;
}
