//! Curated answers.

use super::*;
use crate::curated::CuratedAnswer;

fn answer(company: &str, id: &str, at: DateTime<Utc>) -> CuratedAnswer {
    CuratedAnswer {
        id: id.into(),
        company_id: company.into(),
        questions: vec![format!("How long does shipping take? ({id})"), "Lieferzeit nach Österreich?".into()],
        answer: format!("Two to three days \"quoted\" ü\nsecond line ({id})"),
        source: Some("https://shop.example/shipping".into()),
        hits: 0,
        last_hit_at: None,
        created_at: at,
        updated_at: at,
    }
}

pub async fn curated_answers_crud_hits_and_isolation(store: &Arc<dyn Store>) {
    let s = store;
    let t = now();
    let a1 = answer("ca", "ca_1", t);
    let mut a2 = answer("ca", "ca_2", t + TimeDelta::seconds(1));
    a2.source = None;
    s.insert_curated(&[a1.clone(), a2.clone()]).await.unwrap();
    s.insert_curated(&[]).await.unwrap();
    assert_eq!(s.get_curated("ca", "ca_1").await.unwrap(), Some(a1.clone()), "stored as given");
    assert_eq!(s.list_curated("ca").await.unwrap(), vec![a1.clone(), a2.clone()], "oldest first");

    // All or none: a batch with an id the company has already inserts nothing.
    let a3 = answer("ca", "ca_3", t + TimeDelta::seconds(2));
    let err = s.insert_curated(&[a3.clone(), answer("ca", "ca_1", t)]).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(s.get_curated("ca", "ca_3").await.unwrap(), None, "nothing of the failed batch");

    // Update replaces questions, answer, source, updated_at; hits and created_at stay.
    assert!(s.record_curated_hit("ca", "ca_1", t + TimeDelta::seconds(5)).await.unwrap());
    assert!(s.record_curated_hit("ca", "ca_1", t + TimeDelta::seconds(7)).await.unwrap());
    let mut changed = a1.clone();
    changed.questions = vec!["Shipping time?".into()];
    changed.answer = "Two days.".into();
    changed.source = None;
    changed.updated_at = t + TimeDelta::seconds(9);
    let stored = s.update_curated(&changed).await.unwrap().unwrap();
    assert_eq!(stored.questions, vec!["Shipping time?".to_string()]);
    assert_eq!(stored.answer, "Two days.");
    assert_eq!(stored.source, None);
    assert_eq!(stored.hits, 2);
    assert_eq!(stored.last_hit_at, Some(t + TimeDelta::seconds(7)));
    assert_eq!(stored.created_at, t);
    assert_eq!(stored.updated_at, t + TimeDelta::seconds(9));
    assert_eq!(s.get_curated("ca", "ca_1").await.unwrap(), Some(stored.clone()));

    // Isolation: another company can neither see nor change nor delete nor count hits.
    let other = answer("other", "ca_o", t);
    s.insert_curated(std::slice::from_ref(&other)).await.unwrap();
    assert_eq!(s.get_curated("other", "ca_1").await.unwrap(), None);
    assert_eq!(s.list_curated("other").await.unwrap(), vec![other.clone()]);
    let mut foreign = stored.clone();
    foreign.company_id = "other".into();
    foreign.answer = "hijacked".into();
    assert_eq!(s.update_curated(&foreign).await.unwrap(), None);
    assert!(!s.delete_curated("other", "ca_1").await.unwrap());
    assert!(!s.record_curated_hit("other", "ca_1", t).await.unwrap());
    assert_eq!(s.get_curated("ca", "ca_1").await.unwrap(), Some(stored.clone()), "untouched");
    // The same id in two companies is two answers.
    s.insert_curated(&[answer("other", "ca_1", t)]).await.unwrap();
    assert_eq!(s.get_curated("ca", "ca_1").await.unwrap(), Some(stored.clone()));

    // Delete.
    assert!(s.delete_curated("ca", "ca_2").await.unwrap());
    assert!(!s.delete_curated("ca", "ca_2").await.unwrap());
    assert_eq!(s.list_curated("ca").await.unwrap(), vec![stored]);
    assert!(!s.record_curated_hit("ca", "ca_2", t).await.unwrap());
    assert_eq!(s.list_curated("other").await.unwrap().len(), 2);
    assert_eq!(s.list_curated("nobody").await.unwrap(), vec![]);
}
