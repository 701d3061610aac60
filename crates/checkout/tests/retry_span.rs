//! Issue 24: a merchant endpoint down for a day loses no event. At the
//! default retry schedule an event is dead-lettered only well after a day
//! of failures, and its last tries before that are at most 12 h apart, so
//! an endpoint back after a day gets every event within 12 h.
//! (`cargo xtask outage` runs the same shape, compressed, on the real Worker.)

use checkout::events::RetryPolicy;

#[test]
fn a_day_of_failures_does_not_dead_letter_at_the_defaults() {
    let p = RetryPolicy::default();
    let delays: Vec<u64> = (1..).map_while(|n| p.next_delay(n)).collect();
    let span: u64 = delays.iter().sum();
    assert!(
        span >= 2 * 86_400,
        "dead-lettered after {span} s: {delays:?}"
    );
    // Every try after the first day is at most 12 h after the one before.
    let mut at = 0;
    for d in &delays {
        at += d;
        if at > 86_400 {
            assert!(*d <= 43_200, "{delays:?}");
        }
    }
}
