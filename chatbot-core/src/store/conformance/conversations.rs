//! Sessions and conversations.

use super::*;

pub async fn sessions_insert_get_update(store: &Arc<dyn Store>) {
    let s = store;
    let mut sess = session("s1", "sess_a");
    s.insert_session(&sess).await.unwrap();
    assert_eq!(s.get_session("s1", "sess_a").await.unwrap().as_ref(), Some(&sess));
    assert!(s.get_session("s1", "sess_missing").await.unwrap().is_none());

    sess.lead_id = Some("lead_1".into());
    sess.last_seen_at = now() + TimeDelta::seconds(5);
    sess.expires_at += TimeDelta::hours(2);
    sess.client_ip = None;
    s.update_session(&sess).await.unwrap();
    assert_eq!(s.get_session("s1", "sess_a").await.unwrap().as_ref(), Some(&sess));

    assert!(matches!(s.insert_session(&sess).await, Err(Error::Conflict(_))), "duplicate token");
    let ghost = session("s1", "sess_ghost");
    assert!(matches!(s.update_session(&ghost).await, Err(Error::NotFound { .. })));
}

pub async fn expired_sessions_are_purged(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    let mut old = session("p1", "sess_old");
    old.expires_at = t - TimeDelta::minutes(1);
    let mut other = session("p2", "sess_old_other_company");
    other.expires_at = t - TimeDelta::days(3);
    let live = session("p1", "sess_live");
    for x in [&old, &other, &live] {
        s.insert_session(x).await.unwrap();
    }
    s.ensure_conversation("p1", "sess_old", "user-sess_old").await.unwrap();
    assert_eq!(s.purge_expired_sessions(t).await.unwrap(), 2, "both expired sessions, of every company");
    assert!(s.get_session("p1", "sess_old").await.unwrap().is_none());
    assert!(s.get_session("p2", "sess_old_other_company").await.unwrap().is_none());
    assert_eq!(s.get_session("p1", "sess_live").await.unwrap().as_ref(), Some(&live), "a live session stays");
    assert!(s.get_conversation("p1", "sess_old").await.unwrap().is_some(), "its conversation stays");
    assert_eq!(s.purge_expired_sessions(t).await.unwrap(), 0, "purging again finds nothing");
}

pub async fn conversations_ensure_append_list_delete(store: &Arc<dyn Store>) {
    let s = store;
    let c = s.ensure_conversation("cv", "sess_1", "user_1").await.unwrap();
    assert_eq!(
        (c.company_id.as_str(), c.session_id.as_str(), c.user_id.as_str()),
        ("cv", "sess_1", "user_1")
    );
    assert!(c.messages.is_empty());
    let again = s.ensure_conversation("cv", "sess_1", "someone_else").await.unwrap();
    assert_eq!(again.id, c.id, "one conversation per session");
    assert_eq!(again.user_id, "user_1");

    let m1 = Message::new(Role::User, "Hello, I need help with my order");
    let m2 = Message::new(Role::Assistant, "Sure — what is the order number? \"quotes\" and 'apostrophes' ü");
    let m3 = Message::new(Role::User, "It's 12345");
    s.append_messages("cv", "sess_1", std::slice::from_ref(&m1)).await.unwrap();
    s.append_messages("cv", "sess_1", &[m2.clone(), m3.clone()]).await.unwrap();
    s.append_messages("cv", "sess_1", &[]).await.unwrap();
    let got = s.get_conversation("cv", "sess_1").await.unwrap().unwrap();
    assert_eq!(got.messages, vec![m1.clone(), m2.clone(), m3.clone()]);
    assert!(got.last_activity_at >= c.last_activity_at);

    // A long batch (more than one statement's worth) keeps its order.
    let many: Vec<Message> = (0..130).map(|i| Message::new(Role::User, format!("m{i}"))).collect();
    s.ensure_conversation("cv", "sess_long", "u").await.unwrap();
    s.append_messages("cv", "sess_long", &many).await.unwrap();
    assert_eq!(s.get_conversation("cv", "sess_long").await.unwrap().unwrap().messages, many);

    // Appending to a missing conversation is NotFound, not a silent no-op.
    let err = s.append_messages("cv", "sess_none", std::slice::from_ref(&m1)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "got {err:?}");

    // Newest activity first, with limit and offset.
    s.ensure_conversation("cv", "sess_2", "user_2").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.append_messages("cv", "sess_2", &[Message::new(Role::User, "latest")]).await.unwrap();
    let list = s.list_conversations("cv", 10, 0).await.unwrap();
    assert_eq!(
        list.iter().map(|c| c.session_id.as_str()).collect::<Vec<_>>(),
        vec!["sess_2", "sess_long", "sess_1"]
    );
    let page = s.list_conversations("cv", 1, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].session_id, "sess_long");
    assert!(s.list_conversations("cv", 10, 3).await.unwrap().is_empty());

    assert!(s.delete_conversation("cv", "sess_1").await.unwrap());
    assert!(!s.delete_conversation("cv", "sess_1").await.unwrap());
    assert!(s.get_conversation("cv", "sess_1").await.unwrap().is_none());
}

pub async fn concurrent_appends_are_never_lost(store: &Arc<dyn Store>) {
    let s = store.clone();
    s.ensure_conversation("ca", "sess_c", "u").await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let pair = [
                    Message::new(Role::User, format!("q{i}")),
                    Message::new(Role::Assistant, format!("a{i}")),
                ];
                s.append_messages("ca", "sess_c", &pair).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let msgs = s.get_conversation("ca", "sess_c").await.unwrap().unwrap().messages;
    assert_eq!(msgs.len(), 40, "all 20 concurrent appends present");
    for i in 0..20 {
        let q = msgs.iter().position(|m| m.content == format!("q{i}")).expect("question present");
        assert_eq!(msgs[q + 1].content, format!("a{i}"), "one append's messages stay together, in order");
    }
}

pub async fn append_to_conversation_creates_then_appends(store: &Arc<dyn Store>) {
    let s = store.clone();
    let m1 = Message::new(Role::User, "Do you ship to Germany? \"quoted\" ü");
    let c = s.append_to_conversation("ac", "sess_a", "user_a", std::slice::from_ref(&m1)).await.unwrap();
    assert_eq!(
        (c.company_id.as_str(), c.session_id.as_str(), c.user_id.as_str()),
        ("ac", "sess_a", "user_a")
    );
    assert_eq!(c.messages, vec![m1.clone()], "created with the message");
    let m2 = Message::new(Role::Assistant, "Yes.");
    let m3 = Message::new(Role::User, "Thanks");
    let c2 =
        s.append_to_conversation("ac", "sess_a", "someone_else", &[m2.clone(), m3.clone()]).await.unwrap();
    assert_eq!(c2.id, c.id, "one conversation per session");
    assert_eq!(c2.user_id, "user_a", "the first writer's user stays");
    assert_eq!(c2.messages, vec![m1.clone(), m2.clone(), m3.clone()], "returned as it is after the append");
    assert_eq!(s.get_conversation("ac", "sess_a").await.unwrap().unwrap().messages, c2.messages);
    // The same session id of another company is another conversation.
    let other = s.append_to_conversation("ac2", "sess_a", "user_b", std::slice::from_ref(&m3)).await.unwrap();
    assert_ne!(other.id, c.id);
    assert_eq!(other.messages, vec![m3.clone()]);
    assert_eq!(s.get_conversation("ac", "sess_a").await.unwrap().unwrap().messages.len(), 3);
    // A long batch takes the multi-statement path and keeps its order.
    let many: Vec<Message> = (0..120).map(|i| Message::new(Role::User, format!("m{i}"))).collect();
    let long = s.append_to_conversation("ac", "sess_long", "u", &many).await.unwrap();
    assert_eq!(long.messages, many);

    // Twenty first messages of one new session at once: one conversation, nothing lost, and
    // each caller sees its own message last.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let m = Message::new(Role::User, format!("first {i}"));
                let c = s.append_to_conversation("ac", "sess_race", "u", std::slice::from_ref(&m)).await?;
                Ok::<_, Error>((m, c))
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (m, c) = t.await.unwrap().unwrap();
        assert_eq!(c.messages.last(), Some(&m), "the returned conversation ends with this caller's message");
        ids.insert(c.id);
    }
    assert_eq!(ids.len(), 1, "one conversation");
    assert_eq!(s.get_conversation("ac", "sess_race").await.unwrap().unwrap().messages.len(), 20);
}

pub async fn append_with_lead_inserts_the_lead_once(store: &Arc<dyn Store>) {
    let s = store.clone();
    let m1 = Message::new(Role::User, "I'm Jane, jane@example.com");
    let mut lead = Lead::new("lead_w1".into(), "wl", "sess_w", "user_w");
    lead.name = "Jane".into();
    lead.email = "jane@example.com".into();
    let (c, inserted) = s
        .append_to_conversation_with_lead("wl", "sess_w", "user_w", std::slice::from_ref(&m1), &lead)
        .await
        .unwrap();
    assert!(inserted);
    assert_eq!(c.messages, vec![m1.clone()]);
    let stored = s.get_lead_by_session("wl", "sess_w").await.unwrap().unwrap();
    assert_eq!(
        (stored.lead_id.as_str(), stored.name.as_str(), stored.email.as_str()),
        ("lead_w1", "Jane", "jane@example.com")
    );
    assert_eq!(stored.messages, vec![m1.clone()], "the lead sees its conversation");

    // The session has a lead now: a second one is not inserted, the first stays as it was.
    let m2 = Message::new(Role::User, "second");
    let other = Lead::new("lead_w2".into(), "wl", "sess_w", "user_w");
    let (c2, inserted) = s
        .append_to_conversation_with_lead("wl", "sess_w", "user_w", std::slice::from_ref(&m2), &other)
        .await
        .unwrap();
    assert!(!inserted);
    assert_eq!(c2.messages, vec![m1.clone(), m2.clone()]);
    assert_eq!(s.get_lead_by_session("wl", "sess_w").await.unwrap().unwrap().lead_id, "lead_w1");
    assert!(s.get_lead("wl", "lead_w2").await.unwrap().is_none());

    // The same session id in another company is another conversation with its own lead.
    let theirs = Lead::new("lead_w3".into(), "wl2", "sess_w", "x");
    let (c3, inserted) = s
        .append_to_conversation_with_lead("wl2", "sess_w", "x", std::slice::from_ref(&m2), &theirs)
        .await
        .unwrap();
    assert!(inserted);
    assert_ne!(c3.id, c.id);
    assert_eq!(s.get_lead_by_session("wl2", "sess_w").await.unwrap().unwrap().lead_id, "lead_w3");

    // Racing first turns of one new session: one lead, every message kept.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let m = Message::new(Role::User, format!("m{i}"));
                let l = Lead::new(format!("lead_r{i}"), "wl", "sess_r", "u");
                s.append_to_conversation_with_lead("wl", "sess_r", "u", std::slice::from_ref(&m), &l).await
            })
        })
        .collect();
    let mut inserted = 0;
    for t in tasks {
        inserted += usize::from(t.await.unwrap().unwrap().1);
    }
    assert_eq!(inserted, 1, "exactly one racing turn inserts the lead");
    assert_eq!(s.get_conversation("wl", "sess_r").await.unwrap().unwrap().messages.len(), 10);
}
