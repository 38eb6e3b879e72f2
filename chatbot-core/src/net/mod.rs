//! Talking to the outside world over HTTP: one retry policy ([`retry`]) for every remote call,
//! and the signed lead webhook ([`webhook`]).

pub mod retry;
pub mod webhook;
