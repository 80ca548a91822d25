package io.steergate.audit;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A reviewer's verdict on one audit record. Appended, never edited (a trigger refuses updates); the latest counts. */
@Entity
@Table(name = "review_verdicts")
public class ReviewVerdict extends PanacheEntityBase {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(name = "audit_id")
    public Long auditId;

    public String verdict;

    public String reviewer;

    @Column(columnDefinition = "text")
    public String note;

    @Column(name = "created_at")
    public Instant createdAt;
}
