package io.steergate.audit;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import org.jboss.logging.Logger;

/**
 * Says once at start-up when the application's database role could change audit evidence (it may UPDATE, DELETE or
 * TRUNCATE audit records or review verdicts, or is a superuser): the deployment then relies on the triggers alone.
 */
@ApplicationScoped
public class AuditRoleCheck {

    private static final Logger LOG = Logger.getLogger(AuditRoleCheck.class);

    @Inject
    EntityManager em;

    void onStart(@Observes StartupEvent event) {
        Object[] row = QuarkusTransaction.requiringNew().call(() -> (Object[]) em.createNativeQuery("""
                select current_user, (select rolsuper from pg_roles where rolname = current_user)
                    or has_table_privilege('audit_records', 'UPDATE') or has_table_privilege('audit_records', 'DELETE')
                    or has_table_privilege('audit_records', 'TRUNCATE') or has_table_privilege('review_verdicts', 'UPDATE')
                    or has_table_privilege('review_verdicts', 'DELETE') or has_table_privilege('review_verdicts', 'TRUNCATE')""")
                .getSingleResult());
        if (Boolean.TRUE.equals(row[1])) {
            LOG.warnf("the database role %s may change or delete audit records: run the application as a role that may"
                    + " only insert them, and migrate as another (README, Audit evidence)", row[0]);
        } else {
            LOG.infof("audit records: the database role %s may only insert them", row[0]);
        }
    }
}
