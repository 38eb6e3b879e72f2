//! Checks of [`crate::store::IdentityStore`]: visitor tokens and identity secrets, each scoped to
//! its company.

use std::sync::Arc;

use chrono::TimeDelta;

use super::now;
use crate::auth::{
    IdentitySecret, KeyKind, OwnerToken, OwnerTokenKind, VisitorToken, generate_key, generate_visitor_token,
    hash_key,
};
use crate::store::Store;

fn token(company: &str, session: &str) -> (String, VisitorToken) {
    let t = generate_visitor_token();
    let at = now();
    let rec = VisitorToken {
        token_hash: hash_key(&t),
        company_id: company.into(),
        session_id: session.into(),
        user_id: format!("label of {session}"),
        created_at: at,
        last_used_at: at,
        expires_at: at + TimeDelta::days(30),
    };
    (t, rec)
}

/// Tokens are found by hash only within their company, slide, and are purged once expired.
pub async fn visitor_tokens_insert_find_touch_purge(store: &Arc<dyn Store>) {
    let s = store;
    let (_, a) = token("A", "pcv_a");
    let (_, b) = token("B", "pcv_b");
    s.insert_visitor_token(&a).await.unwrap();
    s.insert_visitor_token(&b).await.unwrap();

    assert_eq!(s.find_visitor_token("A", &a.token_hash).await.unwrap(), Some(a.clone()));
    // Tenant isolation: company A's token is not valid for company B, nor B's for A.
    assert!(s.find_visitor_token("B", &a.token_hash).await.unwrap().is_none());
    assert!(s.find_visitor_token("A", &b.token_hash).await.unwrap().is_none());
    assert!(s.find_visitor_token("A", &hash_key("vt_unknown")).await.unwrap().is_none());
    // Another company cannot slide (or revive) A's token either.
    let later = now() + TimeDelta::hours(1);
    assert!(!s.touch_visitor_token("B", &a.token_hash, later, later + TimeDelta::days(1)).await.unwrap());

    // Sliding moves last_used_at and expires_at.
    let used = now() + TimeDelta::minutes(5);
    let until = used + TimeDelta::days(30);
    assert!(s.touch_visitor_token("A", &a.token_hash, used, until).await.unwrap());
    let got = s.find_visitor_token("A", &a.token_hash).await.unwrap().unwrap();
    assert_eq!((got.last_used_at, got.expires_at, got.created_at), (used, until, a.created_at));

    // Purge removes only what expired.
    let past = now() - TimeDelta::seconds(1);
    assert!(s.touch_visitor_token("B", &b.token_hash, past - TimeDelta::days(1), past).await.unwrap());
    assert_eq!(s.purge_visitor_tokens(now()).await.unwrap(), 1);
    assert!(s.find_visitor_token("B", &b.token_hash).await.unwrap().is_none());
    assert!(s.find_visitor_token("A", &a.token_hash).await.unwrap().is_some());

    // A hash is unique.
    assert!(s.insert_visitor_token(&a).await.is_err());

    // Deleting a conversation's tokens is scoped to its company.
    let (_, a2) = token("A", "pcv_a");
    let (_, b2) = token("B", "pcv_a");
    s.insert_visitor_token(&a2).await.unwrap();
    s.insert_visitor_token(&b2).await.unwrap();
    assert_eq!(s.delete_visitor_tokens("A", "pcv_a").await.unwrap(), 2);
    assert!(s.find_visitor_token("A", &a.token_hash).await.unwrap().is_none());
    assert!(s.find_visitor_token("B", &b2.token_hash).await.unwrap().is_some(), "B's untouched");
    assert_eq!(s.delete_visitor_tokens("A", "pcv_a").await.unwrap(), 0);
}

/// At most `max_active` unrevoked identity secrets per company; listing and revocation per
/// company; the secret itself is kept (it keys HMACs).
pub async fn identity_secrets_capped_listed_revoked(store: &Arc<dyn Store>) {
    let s = store;
    let mk = |company: &str, age_s: i64| {
        let mut rec = IdentitySecret::from_issued(&generate_key(company, KeyKind::Identity));
        rec.created_at = now() - TimeDelta::seconds(age_s);
        rec
    };
    let (first, second, third) = (mk("A", 30), mk("A", 20), mk("A", 10));
    assert!(s.insert_identity_secret(&first, 2).await.unwrap());
    assert!(s.insert_identity_secret(&second, 2).await.unwrap());
    assert!(!s.insert_identity_secret(&third, 2).await.unwrap(), "a third active secret is refused");
    // Another company has its own count.
    let other = mk("B", 5);
    assert!(s.insert_identity_secret(&other, 2).await.unwrap());

    let ids = |v: Vec<IdentitySecret>| v.into_iter().map(|k| k.key_id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.active_identity_secrets("A").await.unwrap()),
        vec![second.key_id.clone(), first.key_id.clone()],
        "newest first, only company A's"
    );
    let listed = s.list_identity_secrets("A").await.unwrap();
    assert_eq!(listed[1], first, "stored as given, secret included");
    assert_eq!(ids(s.list_identity_secrets("B").await.unwrap()), vec![other.key_id.clone()]);

    // Revoking one makes room for the rotation.
    assert!(s.revoke_identity_secret(&first.key_id).await.unwrap());
    assert!(s.revoke_identity_secret(&first.key_id).await.unwrap(), "revoking twice is harmless");
    assert!(!s.revoke_identity_secret("key_missing").await.unwrap());
    assert_eq!(ids(s.active_identity_secrets("A").await.unwrap()), vec![second.key_id.clone()]);
    assert!(s.insert_identity_secret(&third, 2).await.unwrap());
    let all = s.list_identity_secrets("A").await.unwrap();
    assert_eq!(all.len(), 3, "revoked secrets stay listed");
    assert!(all.iter().find(|k| k.key_id == first.key_id).is_some_and(|k| k.revoked_at.is_some()));
    assert_eq!(s.active_identity_secrets("B").await.unwrap().len(), 1, "B untouched");
}

/// Owner tokens and one-time codes: found by hash only within their company and kind, a code is
/// spent exactly once (also when exchanges race) and never after it expired, expired ones are
/// purged.
pub async fn owner_tokens_and_codes(store: &Arc<dyn Store>) {
    let s = store;
    let at = now();
    let (_, tok) = OwnerToken::generate("A", OwnerTokenKind::Token, at, TimeDelta::minutes(15));
    let (_, code) = OwnerToken::generate("A", OwnerTokenKind::Code, at, TimeDelta::minutes(15));
    let (_, old) =
        OwnerToken::generate("A", OwnerTokenKind::Code, at - TimeDelta::hours(1), TimeDelta::minutes(15));
    for t in [&tok, &code, &old] {
        s.insert_owner_token(t).await.unwrap();
    }
    assert_eq!(
        s.find_owner_token("A", OwnerTokenKind::Token, &tok.token_hash).await.unwrap(),
        Some(tok.clone())
    );
    // Tenant isolation and kind: A's token is nothing for B, and a code is not a token.
    assert!(s.find_owner_token("B", OwnerTokenKind::Token, &tok.token_hash).await.unwrap().is_none());
    assert!(s.find_owner_token("A", OwnerTokenKind::Token, &code.token_hash).await.unwrap().is_none());
    assert!(s.find_owner_token("A", OwnerTokenKind::Code, &tok.token_hash).await.unwrap().is_none());
    assert!(!s.spend_owner_code("A", &tok.token_hash, now()).await.unwrap(), "a token is not a code");

    // A code of A cannot be spent for B, nor an expired one, nor twice; eight racing exchanges
    // spend it once.
    assert!(!s.spend_owner_code("B", &code.token_hash, now()).await.unwrap());
    assert!(!s.spend_owner_code("A", &old.token_hash, now()).await.unwrap(), "expired");
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            let h = code.token_hash.clone();
            tokio::spawn(async move { s.spend_owner_code("A", &h, now()).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        won += usize::from(r.await.unwrap());
    }
    assert_eq!(won, 1, "a one-time code is spent exactly once");
    let spent = s.find_owner_token("A", OwnerTokenKind::Code, &code.token_hash).await.unwrap().unwrap();
    assert!(spent.used_at.is_some());
    assert!(!s.spend_owner_code("A", &code.token_hash, now()).await.unwrap());

    // Purging removes the expired code only.
    assert_eq!(s.purge_owner_tokens(now()).await.unwrap(), 1);
    assert!(s.find_owner_token("A", OwnerTokenKind::Code, &old.token_hash).await.unwrap().is_none());
    assert!(s.find_owner_token("A", OwnerTokenKind::Token, &tok.token_hash).await.unwrap().is_some());
    assert_eq!(s.purge_owner_tokens(now() + TimeDelta::minutes(16)).await.unwrap(), 2);
    assert!(s.find_owner_token("A", OwnerTokenKind::Token, &tok.token_hash).await.unwrap().is_none());
    assert!(s.find_owner_token("A", OwnerTokenKind::Token, &hash_key("ot_unknown")).await.unwrap().is_none());
}
