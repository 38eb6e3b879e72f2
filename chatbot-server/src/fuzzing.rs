//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the chat routes' body
//! parsing, as the handlers run it. Not part of the API; it may change with any release.

use chatbot_core::{ChatInput, ClientInfo, PartnerChat};

use crate::request::{self, ChatBody, InternalChatBody, PartnerChatBody};

/// A refusal: the HTTP status and the JSON error body the client would get.
pub type Refusal = (u16, serde_json::Value);

/// `POST /api/partner-chat/{companyId}`'s body, parsed as the handler parses it.
pub fn partner_chat_body(bytes: &[u8]) -> Result<PartnerChat, Refusal> {
    request::parse::<PartnerChatBody>(bytes)
        .and_then(|b| b.into_input(ClientInfo::default(), None))
        .map_err(|e| (e.status.as_u16(), e.body_json()))
}

/// `POST /api/chatbot/chat`'s body (and the internal route's, which adds `company_id`).
pub fn session_chat_body(bytes: &[u8], internal: bool) -> Result<ChatInput, Refusal> {
    let body = if internal {
        request::parse::<InternalChatBody>(bytes).and_then(|b| b.split()).map(|(_, b)| b)
    } else {
        request::parse::<ChatBody>(bytes)
    };
    body.and_then(|b| b.into_input(ClientInfo::default())).map_err(|e| (e.status.as_u16(), e.body_json()))
}
