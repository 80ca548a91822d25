package io.steergate.retraining;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A prompt set imported over HTTP; immutable once stored (see PromptSetStore). */
@Entity
@Table(name = "prompt_sets")
public class StoredPromptSet extends PanacheEntityBase {

    @Id
    public String name;

    @Column(name = "texts_json")
    public String textsJson;

    public String sha256;

    public int size;

    @Column(name = "created_at")
    public Instant createdAt;
}
