package io.steergate.policy;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A policy version that was in force at some point: its id, content hash and the exact text. */
@Entity
@Table(name = "policy_versions")
public class PolicyVersionRecord extends PanacheEntityBase {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(name = "policy_id")
    public String policyId;

    public String version;

    public String file;

    @Column(columnDefinition = "text")
    public String content;

    @Column(name = "first_loaded_at")
    public Instant firstLoadedAt;
}
