//! Typed request bodies: each route's JSON body is one struct. A field of the wrong type or a
//! missing required field is answered 422 naming the field (`history[0].role`); a body that is
//! not one JSON object is 400. Unknown fields are ignored, as before.

use std::fmt;
use std::marker::PhantomData;

use chatbot_core::{ChatInput, ClientInfo, HistoryItem, PartnerChat};
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};

use crate::error::ApiError;

/// `POST /api/partner-chat/{companyId}`: `{"message","user_id"?,"history"?,"visitor_token"?,
/// "user_signature"?}`.
#[derive(Debug, Deserialize)]
pub(crate) struct PartnerChatBody {
    message: Option<String>,
    user_id: Option<String>,
    /// May be absent, never `null` (the document says an array).
    #[serde(default, deserialize_with = "present")]
    history: Option<Vec<Object<HistoryBody>>>,
    visitor_token: Option<String>,
    user_signature: Option<String>,
}

/// An optional field that must not be `null` when present (`#[serde(default)]` covers absent).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
struct HistoryBody {
    role: Option<String>,
    content: Option<String>,
}

impl PartnerChatBody {
    /// The core's input; `header_token` is the `X-Visitor-Token` header, used when the body has
    /// no `visitor_token`.
    pub fn into_input(
        self,
        client: ClientInfo,
        header_token: Option<String>,
    ) -> Result<PartnerChat, ApiError> {
        let history = self
            .history
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, Object(h))| {
                Ok(HistoryItem {
                    role: required(h.role, &format!("history[{i}].role"))?,
                    content: required(h.content, &format!("history[{i}].content"))?,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(PartnerChat {
            message: required(self.message, "message")?,
            user_id: self.user_id,
            history,
            visitor_token: self.visitor_token.or(header_token),
            user_signature: self.user_signature,
            client,
        })
    }
}

/// `POST /api/chatbot/session`: `{"user_id"?,"session_id"?}` (an empty body is `{}`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SessionBody {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
}

/// `POST /api/chatbot/session/internal`: the session body and the operator's `company_id`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InternalSessionBody {
    company_id: Option<String>,
    user_id: Option<String>,
    session_id: Option<String>,
}

impl InternalSessionBody {
    /// The company and the session body.
    pub fn split(self) -> Result<(String, SessionBody), ApiError> {
        let company_id = required(self.company_id, "company_id")?;
        Ok((company_id, SessionBody { user_id: self.user_id, session_id: self.session_id }))
    }
}

/// `POST /api/chatbot/chat`: `{"session_id","message"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatBody {
    session_id: Option<String>,
    message: Option<String>,
}

impl ChatBody {
    pub fn into_input(self, client: ClientInfo) -> Result<ChatInput, ApiError> {
        Ok(ChatInput {
            session_id: required(self.session_id, "session_id")?,
            message: required(self.message, "message")?,
            client,
        })
    }
}

/// `POST /api/chatbot/chat/internal`: the chat body and the operator's `company_id`.
#[derive(Debug, Deserialize)]
pub(crate) struct InternalChatBody {
    company_id: Option<String>,
    session_id: Option<String>,
    message: Option<String>,
}

impl InternalChatBody {
    /// The company and the chat body.
    pub fn split(self) -> Result<(String, ChatBody), ApiError> {
        let company_id = required(self.company_id, "company_id")?;
        Ok((company_id, ChatBody { session_id: self.session_id, message: self.message }))
    }
}

/// `PATCH /api/companies/{companyId}/leads/{leadId}`: `{"status"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct LeadStatusBody {
    status: Option<String>,
}

impl LeadStatusBody {
    pub fn status(self) -> Result<String, ApiError> {
        required(self.status, "status")
    }
}

/// A required field (`null` counts as missing).
pub(crate) fn required(value: Option<String>, field: &str) -> Result<String, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, "is required"))
}

/// Parse a JSON object body into `T` (400 when it is empty, not JSON or not an object; 422
/// naming the field when a field has the wrong type).
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::malformed("the request body is empty; expected a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, Object<T>>(&mut de);
    match parsed {
        Ok(Object(v)) => {
            de.end().map_err(|e| ApiError::malformed(format!("invalid JSON: {e}")))?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data if path != "." => {
                    Err(ApiError::invalid(path, without_position(&inner)))
                }
                serde_json::error::Category::Data => {
                    Err(ApiError::malformed("the request body must be a JSON object"))
                }
                _ => Err(ApiError::malformed(format!("invalid JSON: {inner}"))),
            }
        }
    }
}

/// Like [`parse`], with an empty body read as `{}` (routes whose fields are all optional).
pub(crate) fn parse_or_default<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) { Ok(T::default()) } else { parse(bytes) }
}

/// serde_json's message without its " at line 1 column 12" (the field is named instead).
fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    s.rsplit_once(" at line ").map_or_else(|| s.clone(), |(message, _)| message.to_string())
}

/// `T` read only from a JSON object: a derived struct would also accept an array of its
/// fields in order, which no client means.
#[derive(Debug)]
pub(crate) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(ObjectVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<T: DeserializeOwned + fmt::Debug>(json: &str) -> (u16, Option<String>) {
        let e = parse::<T>(json.as_bytes()).unwrap_err();
        (e.status.as_u16(), e.field)
    }

    #[test]
    fn wrong_types_name_the_field() {
        assert_eq!(field::<PartnerChatBody>(r#"{"message": 5}"#), (422, Some("message".into())));
        assert_eq!(
            field::<PartnerChatBody>(r#"{"message":"hi","history":"x"}"#),
            (422, Some("history".into()))
        );
        assert_eq!(
            field::<PartnerChatBody>(r#"{"message":"hi","history":[["user","x"]]}"#),
            (422, Some("history[0]".into()))
        );
        assert_eq!(
            field::<PartnerChatBody>(
                r#"{"message":"hi","history":[{"role":"user","content":"a"},{"role":1}]}"#
            ),
            (422, Some("history[1].role".into()))
        );
        assert_eq!(field::<SessionBody>(r#"{"user_id": 12}"#), (422, Some("user_id".into())));
        assert_eq!(field::<LeadStatusBody>(r#"{"status": true}"#), (422, Some("status".into())));
        let e = parse::<PartnerChatBody>(br#"{"message": 5}"#).unwrap_err();
        assert!(!e.message.contains("line 1"), "{}", e.message);
    }

    #[test]
    fn required_fields_and_nulls() {
        let b = parse::<PartnerChatBody>(br#"{"message": null, "user_id": null}"#).unwrap();
        let e = b.into_input(ClientInfo::default(), None).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (422, Some("message")));
        let b = parse::<PartnerChatBody>(br#"{"message":"hi","history":[{"content":"x"}]}"#).unwrap();
        let e = b.into_input(ClientInfo::default(), None).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("history[0].role"));
        let b = parse::<PartnerChatBody>(br#"{"message":"hi","visitor_token":"vt_b"}"#).unwrap();
        let input = b.into_input(ClientInfo::default(), Some("vt_h".into())).unwrap();
        assert_eq!(input.visitor_token.as_deref(), Some("vt_b"), "the body wins over the header");
        let b = parse::<PartnerChatBody>(br#"{"message":"hi","user_signature":"ab"}"#).unwrap();
        let input = b.into_input(ClientInfo::default(), Some("vt_h".into())).unwrap();
        assert_eq!(
            (input.visitor_token.as_deref(), input.user_signature.as_deref()),
            (Some("vt_h"), Some("ab"))
        );
        let b = parse::<PartnerChatBody>(br#"{"message":"hi","extra":{"ignored":1}}"#).unwrap();
        assert_eq!(b.into_input(ClientInfo::default(), None).unwrap().message, "hi");
        let (cid, body) =
            parse::<InternalSessionBody>(br#"{"company_id":"123","user_id":"u"}"#).unwrap().split().unwrap();
        assert_eq!((cid.as_str(), body.user_id.as_deref()), ("123", Some("u")));
        assert_eq!(parse_or_default::<InternalSessionBody>(b"  ").unwrap().split().unwrap_err().status, 422);
    }

    #[test]
    fn history_may_be_absent_but_not_null() {
        assert_eq!(
            field::<PartnerChatBody>(r#"{"message":"hi","history":null}"#),
            (422, Some("history".into()))
        );
        let b = parse::<PartnerChatBody>(br#"{"message":"hi","history":[]}"#).unwrap();
        assert!(b.into_input(ClientInfo::default(), None).unwrap().history.is_empty());
        let b = parse::<PartnerChatBody>(br#"{"message":"hi"}"#).unwrap();
        assert!(b.into_input(ClientInfo::default(), None).unwrap().history.is_empty());
    }

    #[test]
    fn bodies_that_are_not_one_object_are_malformed() {
        for bad in
            ["", "  ", "[\"message\"]", "\"hi\"", "{\"message\": ", "{nope", "{} {}", "{\"message\":\"a\"} x"]
        {
            let e = parse::<PartnerChatBody>(bad.as_bytes()).unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (400, "malformed"), "{bad:?}");
        }
    }
}
