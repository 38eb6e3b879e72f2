//! Ratings of replies.

use super::*;
use crate::feedback::{Feedback, Rating};

fn rating(company: &str, session: &str, message: &str, r: Rating, at: DateTime<Utc>) -> Feedback {
    Feedback {
        company_id: company.into(),
        session_id: session.into(),
        message_id: message.into(),
        rating: r,
        comment: None,
        message: format!("reply {message} ü \"quoted\""),
        question: format!("question before {message}"),
        created_at: at,
        updated_at: at,
    }
}

pub async fn feedback_put_replace_list_and_isolation(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    let first = rating("fb", "sess_1", "msg_a", Rating::Up, t);
    assert_eq!(s.put_feedback(&first).await.unwrap(), first, "stored as given");

    // A second rating of the same reply replaces rating and comment; created_at stays.
    let mut again = rating("fb", "sess_1", "msg_a", Rating::Down, t + TimeDelta::seconds(3));
    again.comment = Some("wrong opening hours\nsecond line".into());
    let stored = s.put_feedback(&again).await.unwrap();
    assert_eq!(stored.rating, Rating::Down);
    assert_eq!(stored.comment.as_deref(), Some("wrong opening hours\nsecond line"));
    assert_eq!(stored.created_at, t, "the first rating's time stays");
    assert_eq!(stored.updated_at, t + TimeDelta::seconds(3));
    assert_eq!(s.list_feedback("fb", 0, 0).await.unwrap(), vec![stored.clone()], "one row per reply");

    // A comment can be taken back.
    let mut cleared = again.clone();
    cleared.comment = None;
    cleared.rating = Rating::Up;
    assert_eq!(s.put_feedback(&cleared).await.unwrap().comment, None);

    // The same id in another conversation (positional ids of old replies repeat) and in
    // another company are other rows.
    let other_conv = rating("fb", "sess_2", "msg_a", Rating::Down, t + TimeDelta::seconds(5));
    let other_company = rating("fb_other", "sess_1", "msg_a", Rating::Down, t + TimeDelta::seconds(9));
    s.put_feedback(&other_conv).await.unwrap();
    s.put_feedback(&other_company).await.unwrap();
    let later = rating("fb", "sess_1", "m3", Rating::Up, t + TimeDelta::seconds(7));
    s.put_feedback(&later).await.unwrap();

    let all = s.list_feedback("fb", 0, 0).await.unwrap();
    let keys: Vec<(&str, &str)> =
        all.iter().map(|f| (f.session_id.as_str(), f.message_id.as_str())).collect();
    assert_eq!(
        keys,
        [("sess_1", "m3"), ("sess_2", "msg_a"), ("sess_1", "msg_a")],
        "most recently rated first"
    );
    assert!(all.iter().all(|f| f.company_id == "fb"), "only the company's own");
    let page: Vec<String> =
        s.list_feedback("fb", 1, 1).await.unwrap().into_iter().map(|f| f.session_id).collect();
    assert_eq!(page, ["sess_2"]);
    assert!(s.list_feedback("fb", 10, 3).await.unwrap().is_empty());
    assert_eq!(s.list_feedback("fb_other", 0, 0).await.unwrap(), vec![other_company.clone()]);
    assert!(s.list_feedback("nobody", 0, 0).await.unwrap().is_empty());

    let conv: Vec<String> =
        s.conversation_feedback("fb", "sess_1").await.unwrap().into_iter().map(|f| f.message_id).collect();
    assert_eq!(conv.len(), 2);
    assert!(conv.contains(&"m3".to_string()) && conv.contains(&"msg_a".to_string()));
    assert_eq!(s.conversation_feedback("fb_other", "sess_2").await.unwrap(), vec![]);
}

pub async fn deleting_a_conversation_deletes_its_feedback(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    s.append_to_conversation("fbd", "sess_x", "u", &[Message::new(Role::User, "hi")]).await.unwrap();
    s.append_to_conversation("fbd", "sess_y", "u", &[Message::new(Role::User, "hi")]).await.unwrap();
    s.put_feedback(&rating("fbd", "sess_x", "msg_1", Rating::Up, t)).await.unwrap();
    s.put_feedback(&rating("fbd", "sess_y", "msg_2", Rating::Down, t)).await.unwrap();
    assert!(s.delete_conversation("fbd", "sess_x").await.unwrap());
    assert!(s.conversation_feedback("fbd", "sess_x").await.unwrap().is_empty(), "its ratings are gone");
    assert_eq!(s.conversation_feedback("fbd", "sess_y").await.unwrap().len(), 1, "another's stay");
    assert!(!s.delete_conversation("fbd", "sess_x").await.unwrap(), "deleting again finds nothing");
    assert!(!s.delete_conversation("other", "sess_y").await.unwrap(), "never another company's");
    assert_eq!(s.list_feedback("fbd", 0, 0).await.unwrap().len(), 1);
}

/// Messages keep their ids and sources through the store.
pub async fn messages_keep_ids_and_sources(store: &Arc<dyn Store>) {
    let s = store;
    let q = Message::new(Role::User, "Do you ship abroad?");
    let mut a = Message::new(Role::Assistant, "Yes, to the EU.");
    a.sources.push(crate::conversation::SourceRef {
        source: "https://shop.example/shipping".into(),
        title: Some("Shipping <b>".into()),
        score: 0.5,
    });
    s.append_to_conversation("ids", "sess_1", "u", &[q.clone(), a.clone()]).await.unwrap();
    let conv = s.get_conversation("ids", "sess_1").await.unwrap().unwrap();
    assert_eq!(conv.messages.len(), 2);
    assert_eq!(conv.messages[0].id, q.id);
    assert_eq!(conv.messages[1].id, a.id);
    assert_eq!(conv.messages[1].sources, a.sources);
    assert!(conv.messages[0].sources.is_empty());
}
