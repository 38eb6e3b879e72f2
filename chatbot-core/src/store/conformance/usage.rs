//! Token usage and webhooks.

use std::collections::BTreeSet;

use super::*;

pub async fn token_usage_upsert(store: &Arc<dyn Store>) {
    let s = store.clone();
    let d1 = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let d2 = d1.succ_opt().unwrap();
    assert_eq!(s.token_usage("tu", d1).await.unwrap(), 0);
    assert_eq!(s.add_token_usage("tu", d1, 100).await.unwrap(), 100);
    assert_eq!(s.add_token_usage("tu", d1, 50).await.unwrap(), 150);
    assert_eq!(s.add_token_usage("tu", d2, 7).await.unwrap(), 7);
    assert_eq!(s.token_usage("tu", d1).await.unwrap(), 150);
    assert_eq!(s.token_usage("tu", d2).await.unwrap(), 7);

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.add_token_usage("tu", d1, 10).await })
        })
        .collect();
    let mut totals = Vec::new();
    for t in tasks {
        totals.push(t.await.unwrap().unwrap());
    }
    assert_eq!(s.token_usage("tu", d1).await.unwrap(), 350, "no concurrent add lost");
    totals.sort_unstable();
    totals.dedup();
    assert_eq!(totals.len(), 20, "each add saw its own new total");
    assert!(s.add_token_usage("tu", d1, u64::MAX).await.is_err(), "overflowing input rejected");
}

pub async fn webhook_secret_and_deliveries(store: &Arc<dyn Store>) {
    let s = store.clone();
    // Concurrent first uses agree on one secret.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.webhook_secret("wh").await })
        })
        .collect();
    let mut secrets = BTreeSet::new();
    for t in tasks {
        secrets.insert(t.await.unwrap().unwrap());
    }
    assert_eq!(secrets.len(), 1);
    let first = secrets.into_iter().next().unwrap();
    assert!(first.len() >= 32);
    assert_eq!(s.webhook_secret("wh").await.unwrap(), first, "stable");
    assert_ne!(s.webhook_secret("wh2").await.unwrap(), first, "per company");

    let t = now();
    for i in 0..3 {
        s.record_webhook_delivery(&WebhookDelivery {
            company_id: "wh".into(),
            lead_id: format!("lead_{i}"),
            url: "https://hooks.example/lead".into(),
            attempts: i + 1,
            status_code: if i == 2 { Some(200) } else { None },
            error: if i == 2 { None } else { Some("connection refused".into()) },
            delivered: i == 2,
            created_at: t + TimeDelta::seconds(i64::from(i)),
        })
        .await
        .unwrap();
    }
    let list = s.list_webhook_deliveries("wh", 2).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].lead_id, "lead_2");
    assert!(list[0].delivered);
    assert_eq!(list[0].status_code, Some(200));
    assert_eq!(list[1].error.as_deref(), Some("connection refused"));
    assert_eq!(list[1].created_at, t + TimeDelta::seconds(1));
    assert!(s.list_webhook_deliveries("wh2", 10).await.unwrap().is_empty());
}
