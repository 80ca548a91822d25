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

    /** Hook point wire name to its width in this model ({"resid":64,...}); null on rows from before V13: dim each. */
    @Column(name = "point_widths_json", columnDefinition = "text")
    public String pointWidthsJson;

    @Column(name = "registered_at")
    public Instant registeredAt;
}
