//! Leads, and the isolation of one tenant from another.

use super::*;

pub async fn modify_lead_is_atomic_and_tenant_scoped(store: &Arc<dyn Store>) {
    let s = store.clone();
    s.insert_lead(&Lead::new("lead_m".into(), "ml", "sess_m", "u")).await.unwrap();
    // Twenty read-modify-writes at once, each adding one word: none is lost.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut add = |l: &mut Lead| {
                    l.ai_summary.push_str(&format!("w{i} "));
                    true
                };
                s.modify_lead("ml", "lead_m", &mut add).await
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap().is_some());
    }
    let l = s.get_lead("ml", "lead_m").await.unwrap().unwrap();
    for i in 0..20 {
        assert!(l.ai_summary.contains(&format!("w{i} ")), "write {i} kept: {}", l.ai_summary);
    }
    // f saying "unchanged" writes nothing; another company's id finds nothing.
    let mut touch = |l: &mut Lead| {
        l.name = "Not saved".into();
        false
    };
    let seen = s.modify_lead("ml", "lead_m", &mut touch).await.unwrap().unwrap();
    assert_eq!(seen.name, "Not saved", "the caller sees what f did");
    assert_ne!(s.get_lead("ml", "lead_m").await.unwrap().unwrap().name, "Not saved");
    let mut never = |_: &mut Lead| -> bool { panic!("f must not run for another company's lead") };
    assert!(s.modify_lead("other", "lead_m", &mut never).await.unwrap().is_none());
}

pub async fn leads_crud_filters_and_messages(store: &Arc<dyn Store>) {
    let s = store;
    let t0 = now() - TimeDelta::seconds(30);
    let mut leads = Vec::new();
    for i in 0..4 {
        let sid = format!("sess_{i}");
        s.ensure_conversation("ld", &sid, "u").await.unwrap();
        let mut l = Lead::new(format!("lead_{i}"), "ld", &sid, "u");
        l.created_at = t0 + TimeDelta::seconds(i);
        l.updated_at = l.created_at;
        s.insert_lead(&l).await.unwrap();
        leads.push(l);
    }
    let got = s.get_lead("ld", "lead_0").await.unwrap().unwrap();
    assert_eq!(got, leads[0]);

    // Messages come from the session's conversation.
    let m =
        [Message::new(Role::User, "I'm Ann, ann@example.com"), Message::new(Role::Assistant, "Thanks Ann")];
    s.append_messages("ld", "sess_1", &m).await.unwrap();
    let l1 = s.get_lead("ld", "lead_1").await.unwrap().unwrap();
    assert_eq!(l1.messages, m.to_vec());
    assert_eq!(s.get_lead_by_session("ld", "sess_1").await.unwrap().unwrap().messages, m.to_vec());
    assert_eq!(s.find_lead_any_company("lead_1").await.unwrap().unwrap().company_id, "ld");
    assert!(s.find_lead_any_company("lead_missing").await.unwrap().is_none());

    // Update every mutable field.
    let mut upd = l1.clone();
    upd.name = "Ann".into();
    upd.email = "ann@example.com".into();
    upd.phone = "+1 555".into();
    upd.message = "I need help with my order".into();
    upd.ai_summary = "Ann, order question".into();
    upd.status = LeadStatus::Contacted;
    upd.is_lead_ready = true;
    upd.profile.insert("budget".into(), json!("500k"));
    upd.notified_at = Some(now());
    s.update_lead(&upd).await.unwrap();
    let back = s.get_lead("ld", "lead_1").await.unwrap().unwrap();
    assert!(back.updated_at >= l1.updated_at);
    upd.updated_at = back.updated_at;
    assert_eq!(back, upd);

    let mut ready2 = s.get_lead("ld", "lead_2").await.unwrap().unwrap();
    ready2.is_lead_ready = true;
    s.update_lead(&ready2).await.unwrap();

    // Newest first; filters by status and readiness; limit/offset.
    let ids = |v: Vec<Lead>| v.into_iter().map(|l| l.lead_id).collect::<Vec<_>>();
    let all = s.list_leads("ld", &LeadFilter { limit: 10, ..LeadFilter::default() }).await.unwrap();
    assert_eq!(
        all.iter().find(|l| l.lead_id == "lead_1").unwrap().messages,
        m.to_vec(),
        "list fills messages"
    );
    assert_eq!(ids(all), vec!["lead_3", "lead_2", "lead_1", "lead_0"]);
    let contacted = LeadFilter { status: Some(LeadStatus::Contacted), limit: 10, ..LeadFilter::default() };
    assert_eq!(ids(s.list_leads("ld", &contacted).await.unwrap()), vec!["lead_1"]);
    let ready = LeadFilter { ready: Some(true), limit: 10, ..LeadFilter::default() };
    assert_eq!(ids(s.list_leads("ld", &ready).await.unwrap()), vec!["lead_2", "lead_1"]);
    let not_ready = LeadFilter { ready: Some(false), limit: 10, ..LeadFilter::default() };
    assert_eq!(ids(s.list_leads("ld", &not_ready).await.unwrap()), vec!["lead_3", "lead_0"]);
    let new_ready = LeadFilter { status: Some(LeadStatus::New), ready: Some(true), limit: 10, offset: 0 };
    assert_eq!(ids(s.list_leads("ld", &new_ready).await.unwrap()), vec!["lead_2"]);
    let page = LeadFilter { limit: 2, offset: 1, ..LeadFilter::default() };
    assert_eq!(ids(s.list_leads("ld", &page).await.unwrap()), vec!["lead_2", "lead_1"]);

    // One lead per session; unknown lead updates are NotFound.
    let dup = Lead::new("lead_dup".into(), "ld", "sess_0", "u");
    assert!(matches!(s.insert_lead(&dup).await, Err(Error::Conflict(_))));
    let ghost = Lead::new("lead_ghost".into(), "ld", "sess_9", "u");
    assert!(matches!(s.update_lead(&ghost).await, Err(Error::NotFound { .. })));
    // A lead whose conversation is gone still loads, with no messages.
    s.delete_conversation("ld", "sess_1").await.unwrap();
    assert!(s.get_lead("ld", "lead_1").await.unwrap().unwrap().messages.is_empty());
}

/// Company A's rows never come back for company B from any tenant-scoped method.
pub async fn tenant_isolation(store: &Arc<dyn Store>) {
    let s: &Arc<dyn Store> = store;
    s.create_company(&new_company("A")).await.unwrap();
    s.create_company(&new_company("B")).await.unwrap();

    // Company A's data.
    s.insert_session(&session("A", "sess_A")).await.unwrap();
    s.ensure_conversation("A", "sess_A", "ua").await.unwrap();
    s.append_messages("A", "sess_A", &[Message::new(Role::User, "secret of A")]).await.unwrap();
    s.insert_lead(&Lead::new("lead_A".into(), "A", "sess_A", "ua")).await.unwrap();
    s.upsert_chunks(&[chunk("A", "vA", "https://a.example", "A's knowledge")]).await.unwrap();
    s.upsert_source(&source_state("A", "https://a.example", "h")).await.unwrap();
    s.insert_api_key(&generate_key("A", KeyKind::Secret).record).await.unwrap();
    s.set_embedder_identity("A", Some(&EmbedderIdentity { model: "m".into(), dimension: 8 })).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    s.add_token_usage("A", day, 99).await.unwrap();
    s.record_webhook_delivery(&WebhookDelivery {
        company_id: "A".into(),
        lead_id: "lead_A".into(),
        url: "https://a.example/hook".into(),
        attempts: 1,
        status_code: Some(200),
        error: None,
        delivered: true,
        created_at: now(),
    })
    .await
    .unwrap();
    s.update_widget_settings(
        "A",
        &WidgetSettingsPatch::from_json(br##"{"primary_color":"#abcdef"}"##).unwrap(),
    )
    .await
    .unwrap();

    // Company B sees none of it.
    assert!(s.get_session("B", "sess_A").await.unwrap().is_none());
    assert!(s.get_conversation("B", "sess_A").await.unwrap().is_none());
    assert!(s.list_conversations("B", 100, 0).await.unwrap().is_empty());
    assert!(s.get_lead("B", "lead_A").await.unwrap().is_none());
    assert!(s.get_lead_by_session("B", "sess_A").await.unwrap().is_none());
    assert!(s.list_leads("B", &LeadFilter { limit: 100, ..LeadFilter::default() }).await.unwrap().is_empty());
    assert!(s.get_chunks("B", &["vA".into()]).await.unwrap().is_empty());
    assert!(s.chunk_ids_for_source("B", "https://a.example").await.unwrap().is_empty());
    assert!(s.list_chunks("B", 100, 0).await.unwrap().is_empty());
    assert_eq!(s.count_chunks("B").await.unwrap(), 0);
    assert!(s.get_source("B", "https://a.example").await.unwrap().is_none());
    assert!(s.list_sources("B").await.unwrap().is_empty());
    assert!(s.list_api_keys("B").await.unwrap().is_empty());
    assert!(s.get_embedder_identity("B").await.unwrap().is_none());
    assert_eq!(s.token_usage("B", day).await.unwrap(), 0);
    assert!(s.list_webhook_deliveries("B", 100).await.unwrap().is_empty());
    assert_eq!(s.get_widget_settings("B").await.unwrap().unwrap().primary_color, "#007bff");

    // ... and cannot change or delete it.
    let mut hijack = session("B", "sess_A");
    hijack.user_id = "attacker".into();
    assert!(matches!(s.update_session(&hijack).await, Err(Error::NotFound { .. })));
    assert!(s.append_messages("B", "sess_A", &[Message::new(Role::User, "x")]).await.is_err());
    assert!(!s.delete_conversation("B", "sess_A").await.unwrap());
    let mut lead_b = Lead::new("lead_A".into(), "B", "sess_A", "attacker");
    lead_b.name = "Mallory".into();
    assert!(matches!(s.update_lead(&lead_b).await, Err(Error::NotFound { .. })));
    assert_eq!(s.delete_chunks("B", &["vA".into()]).await.unwrap(), 0);
    s.delete_source("B", "https://a.example").await.unwrap();
    s.set_embedder_identity("B", None).await.unwrap();

    // A's data is intact.
    assert_eq!(s.get_session("A", "sess_A").await.unwrap().unwrap().user_id, "user-sess_A");
    let conv = s.get_conversation("A", "sess_A").await.unwrap().unwrap();
    assert_eq!(conv.messages.len(), 1);
    assert_eq!(conv.messages[0].content, "secret of A");
    assert_eq!(s.get_lead("A", "lead_A").await.unwrap().unwrap().name, "Anonymous");
    assert_eq!(s.count_chunks("A").await.unwrap(), 1);
    assert!(s.get_source("A", "https://a.example").await.unwrap().is_some());
    assert_eq!(s.list_api_keys("A").await.unwrap().len(), 1);
    assert!(s.get_embedder_identity("A").await.unwrap().is_some());
    assert_eq!(s.token_usage("A", day).await.unwrap(), 99);
    assert_eq!(s.get_widget_settings("A").await.unwrap().unwrap().primary_color, "#abcdef");

    // The same session id used by B is B's own, separate conversation.
    let b_conv = s.ensure_conversation("B", "sess_A", "ub").await.unwrap();
    assert!(b_conv.messages.is_empty());
    assert_eq!(s.get_conversation("A", "sess_A").await.unwrap().unwrap().messages.len(), 1);
}

/// Webhook recovery: ready leads stamped due long enough ago with no delivery recorded are
/// listed (no others), and exactly one claim of each succeeds.
pub async fn unsent_notifications_are_found_and_claimed_once(store: &Arc<dyn Store>) {
    let s = store;
    let t0 = now() - TimeDelta::minutes(30);
    let lead = |id: &str, ready: bool, notified: Option<DateTime<Utc>>| {
        let mut l = Lead::new(id.into(), "wh", &format!("sess_{id}"), "u");
        l.is_lead_ready = ready;
        l.name = "Anna Jansen".into();
        l.email = format!("{id}@example.com");
        l.notified_at = notified;
        l
    };
    s.insert_lead(&lead("lead_orphan", true, Some(t0))).await.unwrap();
    s.insert_lead(&lead("lead_recent", true, Some(now()))).await.unwrap();
    s.insert_lead(&lead("lead_unready", false, None)).await.unwrap();
    s.insert_lead(&lead("lead_sent", true, Some(t0))).await.unwrap();
    s.record_webhook_delivery(&WebhookDelivery {
        company_id: "wh".into(),
        lead_id: "lead_sent".into(),
        url: "https://hooks.example/x".into(),
        attempts: 1,
        status_code: Some(204),
        error: None,
        delivered: true,
        created_at: t0,
    })
    .await
    .unwrap();
    let before = now() - TimeDelta::minutes(5);
    let unsent = s.unsent_notifications(before, 10).await.unwrap();
    let ids: Vec<&str> = unsent.iter().map(|l| l.lead_id.as_str()).collect();
    assert_eq!(ids, ["lead_orphan"]);
    let seen = unsent[0].notified_at.unwrap();
    let later = now();
    // Two instances race for it: one wins.
    let (a, b) = tokio::join!(
        s.claim_notification("wh", "lead_orphan", seen, later),
        s.claim_notification("wh", "lead_orphan", seen, later + TimeDelta::seconds(1)),
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one claim succeeds");
    assert!(!s.claim_notification("other", "lead_orphan", later, now()).await.unwrap(), "tenant-scoped");
    assert!(s.unsent_notifications(before, 10).await.unwrap().is_empty(), "claimed: due again only later");
}
