//! Integration templates for developers who embed `chatbot-core`; see the `examples/` targets.
