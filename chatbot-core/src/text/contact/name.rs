//! Names after a self-introduction cue.

use std::sync::LazyLock;

use regex::Regex;

use crate::text::built_in_regex;

/// Self-introduction cues. Group 1: the cue, group 2: the rest of the sentence.
static NAME_CUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"(?i)(?:^|[^\p{L}'’])(my name is|my name's|my name’s|name is|name:|i am called|i'm called|you can call me|call me|mijn naam is|ik heet|mein name ist|ich heiße|ich heisse|je m'appelle|je m’appelle|mon nom est|me llamo|mi nombre es|i'm|i’m|im|i am|ik ben|je suis|soy|this is|it's|it is|it’s)\s+(.*)",
    )
});

/// Words that are never (the start of) a name after a cue.
const NEVER_A_NAME: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "so",
    "not",
    "no",
    "yes",
    "just",
    "also",
    "still",
    "very",
    "really",
    "quite",
    "too",
    "here",
    "there",
    "in",
    "on",
    "at",
    "from",
    "with",
    "for",
    "about",
    "to",
    "by",
    "of",
    "into",
    "back",
    "now",
    "today",
    "tomorrow",
    "tonight",
    "later",
    "soon",
    "asap",
    "anytime",
    "whenever",
    "please",
    "looking",
    "interested",
    "wondering",
    "trying",
    "asking",
    "writing",
    "calling",
    "contacting",
    "reaching",
    "having",
    "going",
    "getting",
    "planning",
    "thinking",
    "hoping",
    "buying",
    "selling",
    "moving",
    "renting",
    "searching",
    "waiting",
    "happy",
    "glad",
    "sure",
    "sorry",
    "fine",
    "good",
    "great",
    "ok",
    "okay",
    "well",
    "afraid",
    "confused",
    "ready",
    "done",
    "available",
    "free",
    "busy",
    "new",
    "curious",
    "unhappy",
    "upset",
    "disappointed",
    "annoyed",
    "excited",
    "pleased",
    "satisfied",
    "concerned",
    "worried",
    "unable",
    "able",
    "customer",
    "client",
    "buyer",
    "seller",
    "owner",
    "agent",
    "realtor",
    "landlord",
    "tenant",
    "student",
    "teacher",
    "member",
    "visitor",
    "user",
    "guest",
    "fan",
    "dutch",
    "english",
    "german",
    "french",
    "belgian",
    "american",
    "british",
    "based",
    "located",
    "living",
    "retired",
    "married",
    "single",
    "currently",
    "actually",
    "definitely",
    "probably",
    "maybe",
    "always",
    "never",
    "only",
    "even",
    "again",
    "right",
    "wrong",
    "correct",
    "it",
    "this",
    "that",
    "these",
    "those",
    "your",
    "my",
    "our",
    "their",
    "his",
    "her",
    "you",
    "me",
    "him",
    "us",
    "them",
    "we",
    "they",
    "i",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "bye",
    "what",
    "who",
    "where",
    "when",
    "why",
    "how",
    "which",
    "is",
    "are",
    "was",
    "be",
    "been",
    "being",
    "do",
    "does",
    "did",
    "can",
    "could",
    "would",
    "should",
    "will",
    "shall",
    "may",
    "might",
    "must",
    "have",
    "has",
    "had",
    "one",
    "someone",
    "somebody",
    "anyone",
    "nobody",
    "everyone",
    "all",
    "some",
    "any",
    "more",
    "less",
    "like",
    "if",
    "because",
    "as",
    "than",
    "then",
    "up",
    "down",
    "out",
    "over",
    "off",
    "after",
    "before",
    "between",
    "via",
    "by",
    "mr",
    "mrs",
    "ms",
    "dr",
    "sir",
    "madam",
    "mister",
    "miss",
    "hungry",
    "tired",
    "bored",
    "fine",
    "late",
    "early",
    "allergic",
    "vegan",
    "pregnant",
    "certain",
    "positive",
    "mobile",
    "phone",
    "email",
    "e-mail",
    "mail",
    "number",
    "whatsapp",
    "telephone",
    "tel",
    "cell",
    "name",
    "called",
    "gonna",
    "wanting",
    "want",
    "need",
    "needing",
    "order",
    "ordering",
    "returning",
    "shipping",
    "tea",
    "mug",
    "teapot",
    "anonymous",
];

fn never_a_name(word: &str) -> bool {
    let w = word.to_lowercase();
    NEVER_A_NAME.contains(&w.as_str())
}

/// A word that can be part of a name: letters with inner apostrophes or hyphens, no digits.
fn name_like(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else { return false };
    first.is_alphabetic()
        && word.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '’' || c == '-')
        && word.chars().last().is_some_and(char::is_alphabetic)
        && word.chars().count() <= 30
}

fn capitalised(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

fn title_case(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut up = true;
    for c in word.chars() {
        if up {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        up = c == '-' || c == '\'' || c == '’';
    }
    out
}

/// Name after a self-introduction cue (the last one in the message wins).
pub fn extract_name(text: &str) -> Option<String> {
    let cue_re = NAME_CUE.as_ref()?;
    let mut found = None;
    let mut rest = text;
    while let Some(caps) = cue_re.captures(rest) {
        let (Some(cue), Some(tail)) = (caps.get(1), caps.get(2)) else { break };
        let cue_text = cue.as_str().to_lowercase();
        let strong = matches!(
            cue_text.as_str(),
            "my name is"
                | "my name's"
                | "my name’s"
                | "name is"
                | "name:"
                | "i am called"
                | "i'm called"
                | "mijn naam is"
                | "ik heet"
                | "mein name ist"
                | "ich heiße"
                | "ich heisse"
                | "je m'appelle"
                | "je m’appelle"
                | "mon nom est"
                | "me llamo"
                | "mi nombre es"
        ) || cue_text.ends_with("call me");
        // "this is" / "it's" only introduce a name at the start of a sentence.
        let sentence_start = {
            let before = rest[..cue.start()].trim_end();
            before.is_empty()
                || before.ends_with(['.', '!', '?', ',', ';', ':', '\n', '-'])
                || before.to_lowercase().ends_with("hi")
                || before.to_lowercase().ends_with("hello")
                || before.to_lowercase().ends_with("hey")
        };
        let weak_needs_start = matches!(cue_text.as_str(), "this is" | "it's" | "it is" | "it’s");
        if !weak_needs_start || sentence_start {
            found = name_after_cue(tail.as_str(), strong).or(found);
        }
        rest = &rest[cue.end()..];
    }
    found
}

fn name_after_cue(tail: &str, strong: bool) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    for raw in tail.split_whitespace() {
        let ends_clause = raw.ends_with([',', '.', '!', '?', ';', ':', ')']);
        let w = raw.trim_matches(|c: char| !c.is_alphabetic());
        let clean = raw.trim_end_matches([',', '.', '!', '?', ';', ':', ')', '"']);
        if clean != w || !name_like(w) || never_a_name(w) {
            break;
        }
        // Every word capitalised, unless the cue is explicit ("my name is jane doe").
        if !capitalised(w) && !strong {
            break;
        }
        if !capitalised(w) && w.chars().all(char::is_uppercase) {
            break;
        }
        words.push(if capitalised(w) { w.to_string() } else { title_case(w) });
        if words.len() == 3 || ends_clause {
            break;
        }
    }
    if words.is_empty() {
        return None;
    }
    // A single shouted word ("I'm OK", "this is URGENT") is not a name.
    if words.len() == 1 && words[0].chars().count() > 1 && words[0].chars().all(char::is_uppercase) {
        return None;
    }
    if words[0].chars().count() < 2 {
        return None;
    }
    Some(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(NAME_CUE.is_some());
        assert_eq!(extract_name("Hi, I'm Jane").as_deref(), Some("Jane"));
        assert_eq!(extract_name("my name is jane doe").as_deref(), Some("Jane Doe"));
        assert_eq!(extract_name("I am Jan-Willem van Dijk, from Utrecht").as_deref(), Some("Jan-Willem"));
        assert_eq!(extract_name("I'm looking for a teapot"), None);
        assert_eq!(extract_name("I'm interested in mugs"), None);
        assert_eq!(extract_name("call me on +31 6 12345678"), None);
        assert_eq!(extract_name("This is Peter from Acme.").as_deref(), Some("Peter"));
        assert_eq!(extract_name("I think this is Great"), None);
        assert_eq!(extract_name("I'm OK thanks"), None);
        // Self-introductions in Dutch, German, French and Spanish ("ich bin" is no cue: German
        // nouns are capitalised, "Ich bin Lehrerin").
        assert_eq!(extract_name("Ik ben Piet Jansen, piet@example.nl").as_deref(), Some("Piet Jansen"));
        assert_eq!(extract_name("mijn naam is eva de vries").as_deref(), Some("Eva De Vries"));
        assert_eq!(extract_name("Ich heiße Anna Schmidt").as_deref(), Some("Anna Schmidt"));
        assert_eq!(extract_name("Ich bin Lehrerin"), None);
        assert_eq!(extract_name("Je m'appelle Marie Dubois.").as_deref(), Some("Marie Dubois"));
        assert_eq!(extract_name("Je suis intéressé par une maison"), None);
        assert_eq!(extract_name("Hola, me llamo Carlos Ruiz").as_deref(), Some("Carlos Ruiz"));
        assert_eq!(extract_name("Ik ben op zoek naar een huis"), None);
    }
}
