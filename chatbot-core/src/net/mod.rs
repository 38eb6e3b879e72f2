//! Talking to the outside world over HTTP: one retry policy ([`retry`]) for every remote call,
//! the public-address guard ([`guard`]) shared by the crawler and the webhook, and the signed
//! lead webhook ([`webhook`]).

pub mod guard;
pub mod retry;
pub mod webhook;
