package io.steergate.intervention;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A model some worker serves, registered at the worker's start; uploaded maps are checked against it. */
@Entity
@Table(name = "served_models")
public class ServedModel extends PanacheEntityBase {

    @Id
    public String fingerprint;

    public String name;

    public int layers;

    public int dim;

    @Column(name = "registered_at")
    public Instant registeredAt;
}
