package io.steergate.review;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.policy.Policy.ReviewSampling;
import org.junit.jupiter.api.Test;

/** The queue's draws: fixed per record, at the policy's shares, and the number of reviewers they ask for. */
class ReviewQueueTest {

    static final int RECORDS = 20_000;

    @Test
    void drawsAreFixedPerRecordAndSampleAtThePolicysShare() {
        assertEquals(ReviewQueue.draw(42, "sample"), ReviewQueue.draw(42, "sample"));
        ReviewSampling sampling = new ReviewSampling(0.05, 0.1);
        int sampled = 0;
        int twice = 0;
        for (long id = 1; id <= RECORDS; id++) {
            int wanted = ReviewQueue.wantedReviews(id, false, sampling);
            sampled += wanted > 0 ? 1 : 0;
            twice += wanted == 2 ? 1 : 0;
        }
        // 5% of 20,000 is 1,000 (standard deviation 31); 10% of those go to a second reviewer (about 100, sd 9.5)
        assertTrue(sampled > 880 && sampled < 1120, "sampled " + sampled);
        assertTrue(twice > 60 && twice < 140, "twice " + twice);
    }

    @Test
    void aFlaggedRecordIsAlwaysQueuedAndAnUnflaggedOneOnlyWhenDrawn() {
        ReviewSampling none = ReviewSampling.NONE;
        ReviewSampling every = new ReviewSampling(1, 1);
        for (long id = 1; id <= 1_000; id++) {
            assertEquals(1, ReviewQueue.wantedReviews(id, true, none));
            assertEquals(0, ReviewQueue.wantedReviews(id, false, none));
            assertEquals(2, ReviewQueue.wantedReviews(id, false, every));
            assertEquals(2, ReviewQueue.wantedReviews(id, true, new ReviewSampling(0, 1)));
        }
    }
}
