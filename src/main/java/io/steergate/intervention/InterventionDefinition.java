package io.steergate.intervention;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A named intervention (toxicity, style, negation or concept); its maps are its versions. */
@Entity
@Table(name = "interventions")
public class InterventionDefinition extends PanacheEntityBase {

    public enum Kind { toxicity, style, negation, concept }

    @Id
    public String name;

    public String kind;

    @Column(columnDefinition = "text")
    public String description;

    @Column(name = "created_at")
    public Instant createdAt;
}
