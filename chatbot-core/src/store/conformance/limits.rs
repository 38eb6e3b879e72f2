//! Shared rate-limit state (GCRA steps).

use super::*;

/// 60 per minute: a burst of 60 at one instant, then one per second; keys are independent; a
/// purge forgets only keys whose time has passed.
pub async fn rate_limit_steps_follow_gcra(store: &Arc<dyn Store>) {
    let s = store;
    let (interval, tolerance) = crate::guard::gcra_micros(60);
    assert_eq!((interval, tolerance), (1_000_000, 60_000_000));
    let t0: i64 = 1_800_000_000_000_000;
    for i in 0..60 {
        assert_eq!(
            s.rate_limit_step("ip:a:10.0.0.1", t0, interval, tolerance).await.unwrap(),
            None,
            "request {i}"
        );
    }
    let wait = s.rate_limit_step("ip:a:10.0.0.1", t0, interval, tolerance).await.unwrap();
    assert_eq!(wait, Some(1_000_000), "the 61st waits one interval");
    // Another key (another company, another address) has its own budget.
    assert_eq!(s.rate_limit_step("ip:b:10.0.0.1", t0, interval, tolerance).await.unwrap(), None);
    // Half an interval later: still refused, with the rest of the wait; a full one later: one more.
    assert_eq!(
        s.rate_limit_step("ip:a:10.0.0.1", t0 + 500_000, interval, tolerance).await.unwrap(),
        Some(500_000)
    );
    assert_eq!(s.rate_limit_step("ip:a:10.0.0.1", t0 + 1_000_000, interval, tolerance).await.unwrap(), None);
    assert!(s.rate_limit_step("ip:a:10.0.0.1", t0 + 1_000_000, interval, tolerance).await.unwrap().is_some());
    // Keys with odd characters are stored as given.
    let odd = "session:c:sess_é\u{202E}'\"; --";
    assert_eq!(s.rate_limit_step(odd, t0, interval, tolerance).await.unwrap(), None);
    // Purge at t0 + 2 s forgets "ip:b" and the odd key (their time, t0 + 1 s, passed), not "ip:a"
    // (t0 + 61 s).
    assert_eq!(s.purge_rate_limits(t0 + 2_000_000).await.unwrap(), 2);
    assert!(s.rate_limit_step("ip:a:10.0.0.1", t0 + 2_000_000, interval, tolerance).await.unwrap().is_none());
    assert!(s.rate_limit_step("ip:a:10.0.0.1", t0 + 2_000_000, interval, tolerance).await.unwrap().is_some());
}

/// Concurrent steps on one key never allow more than the burst (one atomic statement each).
pub async fn concurrent_rate_limit_steps_are_atomic(store: &Arc<dyn Store>) {
    let (interval, tolerance) = crate::guard::gcra_micros(10);
    let t0: i64 = 1_800_000_000_000_000;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(
                async move { s.rate_limit_step("new_conversation:x", t0, interval, tolerance).await },
            )
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_none() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10, "exactly the burst of 10 of 40 concurrent requests");
}
