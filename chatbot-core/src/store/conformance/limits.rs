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

/// Several steps of one request: taken in order, stopping at the first refusal (the steps after
/// it are not charged); exact under concurrency like single steps.
pub async fn rate_limit_steps_stop_at_the_first_refusal(store: &Arc<dyn Store>) {
    use crate::store::RateStep;
    let s = store;
    let t0: i64 = 1_800_000_000_000_000;
    let step = |key: &str, per_minute: u32| {
        let (interval_us, tolerance_us) = crate::guard::gcra_micros(per_minute);
        RateStep { key: key.into(), interval_us, tolerance_us }
    };
    let ip = step("ip:m:10.0.0.9", 3);
    let cap = step("new_conversation:m", 2);
    let session = step("session:m:s1", 60);
    let chain = [ip.clone(), cap.clone(), session.clone()];
    assert_eq!(s.rate_limit_steps(&chain, t0).await.unwrap(), None);
    assert_eq!(s.rate_limit_steps(&chain, t0).await.unwrap(), None);
    // The cap (2 per minute) refuses the third: index 1, wait 30 s; the session is not charged.
    assert_eq!(s.rate_limit_steps(&chain, t0).await.unwrap(), Some((1, 30_000_000)));
    for i in 0..58 {
        assert_eq!(
            s.rate_limit_step(&session.key, t0, session.interval_us, session.tolerance_us).await.unwrap(),
            None,
            "session step {i}: two of its 60 were taken, not three"
        );
    }
    assert!(
        s.rate_limit_step(&session.key, t0, session.interval_us, session.tolerance_us)
            .await
            .unwrap()
            .is_some()
    );
    // The IP (3 per minute) was charged three times: the first step refuses now, nothing after it runs.
    let other = [ip.clone(), step("new_conversation:m2", 60)];
    assert_eq!(s.rate_limit_steps(&other, t0).await.unwrap(), Some((0, 20_000_000)));
    assert_eq!(
        s.rate_limit_step(&other[1].key, t0, other[1].interval_us, 60_000_000).await.unwrap(),
        None,
        "untouched by the refused chain"
    );
    // One step, or none, as the single call.
    assert_eq!(s.rate_limit_steps(&[step("ip:m:10.0.0.10", 1)], t0).await.unwrap(), None);
    assert_eq!(s.rate_limit_steps(&[step("ip:m:10.0.0.10", 1)], t0).await.unwrap(), Some((0, 60_000_000)));
    assert_eq!(s.rate_limit_steps(&[], t0).await.unwrap(), None);

    // 40 concurrent chains sharing a cap of 10 per minute, each with its own session: exactly 10
    // pass, and only the passing ones charge their session.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let s = s.clone();
            let chain = [step("new_conversation:conc", 10), step(&format!("session:conc:{i}"), 1)];
            tokio::spawn(async move { s.rate_limit_steps(&chain, t0).await.unwrap() })
        })
        .collect();
    let mut passed = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            None => passed.push(i),
            Some((k, _)) => assert_eq!(k, 0, "refused by the cap"),
        }
    }
    assert_eq!(passed.len(), 10, "exactly the burst of 10 of 40 concurrent chains");
    for i in 0..40 {
        let (interval, tolerance) = crate::guard::gcra_micros(1);
        let charged =
            s.rate_limit_step(&format!("session:conc:{i}"), t0, interval, tolerance).await.unwrap().is_some();
        assert_eq!(charged, passed.contains(&i), "session {i}");
    }
}
