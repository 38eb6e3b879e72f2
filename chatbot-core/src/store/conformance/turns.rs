//! Turn records.

use super::*;
use crate::chatbot::{AnsweredBy, Grounding, SourceRef};
use crate::feedback::{Feedback, Rating};
use crate::turns::{TurnRecord, TurnTopic};

fn turn(company: &str, session: &str, message: &str, at: DateTime<Utc>) -> TurnRecord {
    TurnRecord {
        company_id: company.into(),
        session_id: session.into(),
        message_id: message.into(),
        visitor_message_id: format!("v-{message}"),
        question: format!("Do you sell {message}? ü \"quoted\" 🙂"),
        top_score: Some(0.25),
        sources: vec![SourceRef {
            source: "https://x.example/a".into(),
            title: Some("A".into()),
            score: 0.25,
        }],
        answered_by: AnsweredBy::Model,
        fell_back: false,
        no_answer: false,
        topic: TurnTopic::Allowed,
        grounding: Some(Grounding { supported: 3, unsupported: 1 }),
        latency_ms: 1234,
        prompt_tokens: Some(420),
        completion_tokens: Some(37),
        created_at: at,
        rating: None,
    }
}

pub async fn turns_record_list_and_isolation(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    let first = turn("tr", "sess_1", "msg_a", t - TimeDelta::minutes(10));
    s.record_turn(&first).await.unwrap();
    assert_eq!(
        s.list_turns("tr", t - TimeDelta::hours(1), 0).await.unwrap(),
        vec![first.clone()],
        "as given"
    );

    // Every optional field empty, every enum value.
    let mut bare = turn("tr", "sess_2", "msg_b", t - TimeDelta::minutes(5));
    bare.top_score = None;
    bare.sources = vec![];
    bare.answered_by = AnsweredBy::Refusal;
    bare.fell_back = true;
    bare.no_answer = true;
    bare.topic = TurnTopic::OffTopic;
    bare.grounding = None;
    bare.prompt_tokens = None;
    bare.completion_tokens = None;
    s.record_turn(&bare).await.unwrap();
    for (i, (by, topic)) in AnsweredBy::ALL.into_iter().zip(TurnTopic::ALL).enumerate() {
        let mut x = turn("tr_enum", "s", &format!("m{i}"), t + TimeDelta::seconds(i as i64));
        x.answered_by = by;
        x.topic = topic;
        s.record_turn(&x).await.unwrap();
        let got = s.list_turns("tr_enum", t - TimeDelta::hours(1), 1).await.unwrap();
        assert_eq!((got[0].answered_by, got[0].topic), (by, topic));
    }
    let mut injection = turn("tr_enum", "s", "m_inj", t - TimeDelta::hours(2));
    injection.topic = TurnTopic::Injection;
    s.record_turn(&injection).await.unwrap();
    assert!(
        s.list_turns("tr_enum", t - TimeDelta::days(1), 0).await.unwrap().iter().any(|x| x == &injection)
    );

    // Newest first; `since` is inclusive; the limit counts.
    let all = s.list_turns("tr", t - TimeDelta::hours(1), 0).await.unwrap();
    assert_eq!(all, vec![bare.clone(), first.clone()]);
    assert_eq!(s.list_turns("tr", t - TimeDelta::hours(1), 1).await.unwrap(), vec![bare.clone()]);
    assert_eq!(s.list_turns("tr", first.created_at, 0).await.unwrap().len(), 2, "since is inclusive");
    assert_eq!(s.list_turns("tr", bare.created_at + TimeDelta::seconds(1), 0).await.unwrap(), vec![]);

    // Recording a reply again replaces its row.
    let mut again = first.clone();
    again.latency_ms = 99;
    s.record_turn(&again).await.unwrap();
    assert_eq!(
        s.list_turns("tr", t - TimeDelta::hours(1), 0).await.unwrap(),
        vec![bare.clone(), again.clone()]
    );

    // The rating comes from the feedback of the same reply (same company and conversation).
    let rating = Feedback {
        company_id: "tr".into(),
        session_id: "sess_1".into(),
        message_id: "msg_a".into(),
        rating: Rating::Down,
        comment: Some("wrong".into()),
        message: "reply".into(),
        question: "q".into(),
        created_at: t,
        updated_at: t,
    };
    s.put_feedback(&rating).await.unwrap();
    // The same message id rated in another conversation and in another company: not this turn's.
    s.put_feedback(&Feedback { session_id: "sess_other".into(), rating: Rating::Up, ..rating.clone() })
        .await
        .unwrap();
    s.put_feedback(&Feedback {
        company_id: "tr_b".into(),
        session_id: "sess_2".into(),
        message_id: "msg_b".into(),
        ..rating.clone()
    })
    .await
    .unwrap();
    let listed = s.list_turns("tr", t - TimeDelta::hours(1), 0).await.unwrap();
    assert_eq!(listed[1].rating, Some(Rating::Down));
    assert_eq!(listed[0].rating, None, "another company's rating of the same ids is not joined");

    // Isolation: company B's turns (same session and message ids) are its own.
    let b = turn("tr_b", "sess_1", "msg_a", t);
    s.record_turn(&b).await.unwrap();
    assert_eq!(s.list_turns("tr_b", t - TimeDelta::hours(1), 0).await.unwrap(), vec![b.clone()]);
    assert_eq!(s.list_turns("tr", t - TimeDelta::hours(1), 0).await.unwrap().len(), 2, "A unchanged");
    assert!(s.list_turns("nobody", t - TimeDelta::days(365), 0).await.unwrap().is_empty());
}

pub async fn turns_purge_by_company_and_age(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    for (company, days) in [("tp_a", 100), ("tp_a", 10), ("tp_a", 0), ("tp_b", 100), ("tp_b", 10)] {
        s.record_turn(&turn(company, "s", &format!("m{days}"), t - TimeDelta::days(days))).await.unwrap();
    }
    let ages = |company: &'static str| async move {
        s.list_turns(company, t - TimeDelta::days(1000), 0)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.message_id)
            .collect::<Vec<_>>()
    };
    // One company's purge leaves the other company's old rows.
    assert_eq!(s.purge_turns(Some("tp_a"), t - TimeDelta::days(30)).await.unwrap(), 1);
    assert_eq!(ages("tp_a").await, ["m0", "m10"]);
    assert_eq!(ages("tp_b").await, ["m10", "m100"]);
    assert_eq!(s.purge_turns(Some("tp_a"), t - TimeDelta::days(30)).await.unwrap(), 0, "idempotent");
    assert_eq!(s.purge_turns(Some("nobody"), t).await.unwrap(), 0);
    // Before is exclusive: a row exactly at the cut stays.
    assert_eq!(s.purge_turns(Some("tp_a"), t - TimeDelta::days(10)).await.unwrap(), 0);
    // Every company.
    assert_eq!(s.purge_turns(None, t - TimeDelta::days(5)).await.unwrap(), 3);
    assert_eq!(ages("tp_a").await, ["m0"]);
    assert!(ages("tp_b").await.is_empty());
}

pub async fn deleting_a_conversation_deletes_its_turns(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    for (company, session) in [("td", "sess_x"), ("td", "sess_y"), ("td_other", "sess_x")] {
        s.append_to_conversation(company, session, "u", &[Message::new(Role::User, "hi")]).await.unwrap();
        s.record_turn(&turn(company, session, "m1", t)).await.unwrap();
    }
    assert!(s.delete_conversation("td", "sess_x").await.unwrap());
    let left: Vec<String> = s
        .list_turns("td", t - TimeDelta::hours(1), 0)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.session_id)
        .collect();
    assert_eq!(left, ["sess_y"]);
    assert_eq!(
        s.list_turns("td_other", t - TimeDelta::hours(1), 0).await.unwrap().len(),
        1,
        "other company's stays"
    );
}

pub async fn a_reply_and_its_turn_record_are_one_write(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    let since = t - TimeDelta::hours(1);
    s.append_to_conversation("tw", "sess_1", "u", &[Message::new(Role::User, "hi")]).await.unwrap();
    let reply = Message::new(Role::Assistant, "Hello! ü 🙂");
    let rec = turn("tw", "sess_1", "m1", t);
    s.append_with_turn("tw", "sess_1", std::slice::from_ref(&reply), &rec).await.unwrap();
    let conv = s.get_conversation("tw", "sess_1").await.unwrap().unwrap();
    assert_eq!(conv.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["hi", "Hello! ü 🙂"]);
    assert_eq!(s.list_turns("tw", since, 0).await.unwrap(), vec![rec.clone()]);

    // No conversation (another company's session of the same name does not count): nothing is
    // stored, neither the reply nor the record.
    s.append_to_conversation("tw_other", "sess_2", "u", &[Message::new(Role::User, "x")]).await.unwrap();
    let stray = turn("tw", "sess_2", "m2", t);
    let e = s.append_with_turn("tw", "sess_2", std::slice::from_ref(&reply), &stray).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert_eq!(s.list_turns("tw", since, 0).await.unwrap().len(), 1);
    assert!(s.list_turns("tw_other", since, 0).await.unwrap().is_empty());
    let other = s.get_conversation("tw_other", "sess_2").await.unwrap().unwrap();
    assert_eq!(other.messages.len(), 1, "the other company's conversation is untouched");

    // A record that names another conversation is refused, and nothing is written.
    let wrong = turn("tw_other", "sess_2", "m3", t);
    assert!(s.append_with_turn("tw", "sess_1", std::slice::from_ref(&reply), &wrong).await.is_err());
    assert_eq!(s.get_conversation("tw", "sess_1").await.unwrap().unwrap().messages.len(), 2);
    assert!(s.list_turns("tw_other", since, 0).await.unwrap().is_empty());

    // Recorded again (same message id): the record is replaced, the reply appended again.
    let mut again = rec.clone();
    again.latency_ms = 7;
    s.append_with_turn("tw", "sess_1", std::slice::from_ref(&reply), &again).await.unwrap();
    assert_eq!(s.list_turns("tw", since, 0).await.unwrap(), vec![again]);
    assert_eq!(s.get_conversation("tw", "sess_1").await.unwrap().unwrap().messages.len(), 3);
}
