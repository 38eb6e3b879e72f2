//! Registered knowledge sources: registration, run results, due times, leases.

use super::*;
use crate::store::{KnowledgeSource, SourceRun};

fn registration(
    company: &str,
    id: &str,
    location: &str,
    interval: i64,
    due: Option<DateTime<Utc>>,
) -> KnowledgeSource {
    let t = now();
    KnowledgeSource {
        company_id: company.into(),
        source_id: id.into(),
        kind: "site".into(),
        location: location.into(),
        options: json!({"kind": "site", "url": location, "max_pages": 10, "note": "ü \"quoted\""}),
        interval_secs: interval,
        next_due_at: due,
        last_run: None,
        lease_owner: None,
        lease_until: None,
        created_at: t,
        updated_at: t,
    }
}

fn run(started: DateTime<Utc>) -> SourceRun {
    SourceRun {
        started_at: started,
        finished_at: started + TimeDelta::seconds(2),
        pages: 12,
        changed: 2,
        added: 1,
        removed: 3,
        failed: 1,
        error: Some("robots.txt: HTTP 500".into()),
    }
}

pub async fn knowledge_sources_register_run_due_and_isolation(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    let a = registration("ks_a", "s1", "https://a.example/", 86_400, Some(t + TimeDelta::days(1)));
    s.register_knowledge_source(&a).await.unwrap();
    assert_eq!(s.get_knowledge_source("ks_a", "s1").await.unwrap(), Some(a.clone()), "stored as given");

    // A run is recorded only by the lease holder, and releases the lease.
    assert!(!s.finish_source_run("ks_a", "s1", "me", &run(t), None).await.unwrap(), "no lease, no record");
    assert!(s.take_source_lease("ks_a", "s1", "me", t, t + TimeDelta::minutes(5)).await.unwrap());
    let leased = s.get_knowledge_source("ks_a", "s1").await.unwrap().unwrap();
    assert_eq!(leased.lease_owner.as_deref(), Some("me"));
    assert_eq!(leased.lease_until, Some(t + TimeDelta::minutes(5)));
    let next = t + TimeDelta::hours(6);
    assert!(!s.finish_source_run("ks_a", "s1", "other", &run(t), Some(next)).await.unwrap());
    assert!(s.finish_source_run("ks_a", "s1", "me", &run(t), Some(next)).await.unwrap());
    let done = s.get_knowledge_source("ks_a", "s1").await.unwrap().unwrap();
    assert_eq!(done.last_run, Some(run(t)));
    assert_eq!(done.next_due_at, Some(next));
    assert_eq!((done.lease_owner, done.lease_until), (None, None), "lease released");

    // Registering again replaces options, interval and due time; the last run and created_at stay.
    let mut again = registration("ks_a", "s1", "https://a.example/", 3600, Some(t + TimeDelta::hours(1)));
    again.options = json!({"kind": "site", "url": "https://a.example/", "max_pages": 99});
    again.created_at = t + TimeDelta::seconds(30);
    again.updated_at = t + TimeDelta::seconds(30);
    s.register_knowledge_source(&again).await.unwrap();
    let got = s.get_knowledge_source("ks_a", "s1").await.unwrap().unwrap();
    assert_eq!(got.options["max_pages"], 99);
    assert_eq!(got.interval_secs, 3600);
    assert_eq!(got.next_due_at, Some(t + TimeDelta::hours(1)));
    assert_eq!(got.last_run, Some(run(t)), "the last run stays");
    assert_eq!(got.created_at, a.created_at, "created_at stays");
    assert_eq!(got.updated_at, t + TimeDelta::seconds(30));

    // Listing is per company and ordered by location.
    let b = registration("ks_a", "s0", "https://b.example/", 0, None);
    s.register_knowledge_source(&b).await.unwrap();
    let other = registration("ks_b", "s1", "https://a.example/", 60, Some(t - TimeDelta::minutes(1)));
    s.register_knowledge_source(&other).await.unwrap();
    let ids: Vec<String> =
        s.list_knowledge_sources("ks_a").await.unwrap().into_iter().map(|k| k.source_id).collect();
    assert_eq!(ids, ["s1", "s0"], "by location");
    assert_eq!(s.list_knowledge_sources("ks_b").await.unwrap(), vec![other.clone()]);
    assert!(s.list_knowledge_sources("nobody").await.unwrap().is_empty());

    // Company B cannot read, lease, record or delete A's source under the same source id.
    assert!(s.get_knowledge_source("ks_b", "s0").await.unwrap().is_none());
    assert!(!s.take_source_lease("ks_b", "s0", "me", t, t + TimeDelta::minutes(5)).await.unwrap());
    assert!(!s.delete_knowledge_source("ks_b", "s0").await.unwrap());
    assert!(s.take_source_lease("ks_b", "s1", "b-owner", t, t + TimeDelta::minutes(5)).await.unwrap());
    let a_now = s.get_knowledge_source("ks_a", "s1").await.unwrap().unwrap();
    assert_eq!(a_now.lease_owner, None, "B's lease on its own s1 left A's s1 alone");
    assert!(s.release_source_lease("ks_b", "s1", "b-owner").await.unwrap());
    assert!(!s.release_source_lease("ks_b", "s1", "b-owner").await.unwrap(), "released once");

    // Due: next_due_at passed, lease free or expired; never the interval-0 ones (no due time).
    let due = |at| async move {
        s.due_knowledge_sources(at, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|k| (k.company_id, k.source_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(due(t).await, [("ks_b".to_string(), "s1".to_string())]);
    assert_eq!(
        due(t + TimeDelta::hours(2)).await,
        [("ks_b".to_string(), "s1".to_string()), ("ks_a".to_string(), "s1".to_string())],
        "soonest first"
    );
    assert_eq!(s.due_knowledge_sources(t + TimeDelta::hours(2), 1).await.unwrap().len(), 1, "limit");
    assert!(s.take_source_lease("ks_b", "s1", "x", t, t + TimeDelta::minutes(5)).await.unwrap());
    assert!(due(t).await.is_empty(), "a leased source is not due");
    assert_eq!(due(t + TimeDelta::minutes(10)).await.len(), 1, "an expired lease does not hold it back");

    // Deleting is per company.
    assert!(s.delete_knowledge_source("ks_a", "s0").await.unwrap());
    assert!(!s.delete_knowledge_source("ks_a", "s0").await.unwrap());
    assert!(s.get_knowledge_source("ks_b", "s1").await.unwrap().is_some());
    assert_eq!(s.list_knowledge_sources("ks_a").await.unwrap().len(), 1);
}

pub async fn source_leases_are_exclusive_and_expire(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    s.register_knowledge_source(&registration("ls", "src", "https://ls.example/", 60, Some(t)))
        .await
        .unwrap();
    assert!(!s.take_source_lease("ls", "unknown", "a", t, t + TimeDelta::minutes(1)).await.unwrap());

    // Eight instances race for the free lease: exactly one gets it.
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let owner = format!("instance-{i}");
                let won =
                    s.take_source_lease("ls", "src", &owner, t, t + TimeDelta::minutes(1)).await.unwrap();
                (owner, won)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for r in racers {
        let (owner, won) = r.await.unwrap();
        if won {
            winners.push(owner);
        }
    }
    assert_eq!(winners.len(), 1, "one lease holder: {winners:?}");
    let holder = winners.remove(0);
    let stored = s.get_knowledge_source("ls", "src").await.unwrap().unwrap();
    assert_eq!(stored.lease_owner.as_deref(), Some(holder.as_str()));

    // Another owner cannot take it while it holds; the holder can renew it.
    let later = t + TimeDelta::seconds(30);
    assert!(
        !s.take_source_lease("ls", "src", "intruder", later, later + TimeDelta::minutes(1)).await.unwrap()
    );
    assert!(s.take_source_lease("ls", "src", &holder, later, later + TimeDelta::minutes(1)).await.unwrap());
    assert_eq!(
        s.get_knowledge_source("ls", "src").await.unwrap().unwrap().lease_until,
        Some(later + TimeDelta::minutes(1)),
        "renewed"
    );
    let still = later + TimeDelta::seconds(45);
    assert!(
        !s.take_source_lease("ls", "src", "intruder", still, still + TimeDelta::minutes(1)).await.unwrap(),
        "the renewed lease still holds"
    );

    // Once expired (the holder died), another instance takes it, and the old holder can no
    // longer record its run nor release the new holder's lease.
    let expired = later + TimeDelta::minutes(2);
    assert!(
        s.take_source_lease("ls", "src", "successor", expired, expired + TimeDelta::minutes(1))
            .await
            .unwrap()
    );
    assert!(!s.finish_source_run("ls", "src", &holder, &run(t), None).await.unwrap());
    assert!(!s.release_source_lease("ls", "src", &holder).await.unwrap());
    assert_eq!(
        s.get_knowledge_source("ls", "src").await.unwrap().unwrap().lease_owner.as_deref(),
        Some("successor")
    );
    // Released, it is free for anyone at once.
    assert!(s.release_source_lease("ls", "src", "successor").await.unwrap());
    assert!(
        s.take_source_lease("ls", "src", "intruder", expired, expired + TimeDelta::minutes(1)).await.unwrap()
    );
}
