//! Topic enforcement before any model call: prompt injection and clearly off-topic requests
//! get a short refusal; greetings and contact messages are recognised; everything else is
//! answered (the system prompt enforces the topic for what slips through). Conservative by
//! design: a question about the business must not be refused for a low retrieval score alone.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use crate::text::{
    built_in_regex, is_contact_message, is_small_talk, lower_words, normalize_message, strip_plural,
};

/// Retrieval similarity at or above which the knowledge is clearly relevant: an off-topic
/// pattern is then overruled (e.g. "write the return policy as a short list").
pub const STRONG_RELEVANCE: f32 = 0.30;
/// Retrieval similarity below which nothing relevant was found.
pub const WEAK_RELEVANCE: f32 = 0.12;

/// What topic enforcement decided for a message, before any model call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicDecision {
    /// Answer normally.
    Allow,
    /// A greeting or small talk: answer briefly, no refusal.
    Greeting,
    /// The visitor shares contact details or asks to be contacted.
    Contact,
    /// Off-topic or an injection attempt: refuse politely.
    Refuse { reason: String },
}

fn set(patterns: &[&str]) -> Option<RegexSet> {
    RegexSet::new(patterns).map_err(|e| tracing::error!(error = %e, "bad built-in topic pattern")).ok()
}

/// Attempts to override the bot's instructions or role.
static INJECTION: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"\b(ignore|disregard|forget|override|bypass|skip)\b.{0,40}\b(instructions?|rules|prompts?|directions|guidelines|restrictions|filters|guardrails|programming|everything (you|above))\b",
        r"\b(you are|you're) now\b",
        r"\bfrom now on,? (you|act|respond|answer|pretend)\b",
        r"\b(act|behave) as (an? |my |the )?(unrestricted|unfiltered|different|new|evil|linux|terminal|python|sql|chatgpt|gpt|ai|assistant|dan|character|expert|lawyer|doctor|therapist|girlfriend|boyfriend)",
        r"\bpretend (to be|you are|you're|that you)\b",
        r"\b(role-?play|roleplay)\b",
        r"\b(system|initial|original|hidden|secret) (prompt|message|instructions?)\b",
        r"\b(reveal|show|print|repeat|output|tell me|what are|what is|give me) (me )?(your|the) (prompt|instructions?|rules|system|configuration|guidelines)\b",
        r"\bjail ?break",
        r"\bdeveloper mode\b",
        r"\bdo anything now\b",
        r"\bno (restrictions|rules|limits|filters)\b",
        r"\bnew (instructions|rules|persona|role)\b",
        r"\brepeat (the|all|everything) (text|words|above)\b",
        r"<\|?(im_start|im_end|system|endoftext)\|?>|\[/?(system|inst)\]|###\s*(system|instruction)",
        r"\b(simulate|emulate) (a|an)\b",
        r"\bstay in character\b",
        r"\bsudo\b",
    ])
});

/// "DAN" is only an injection in capitals (the classic jailbreak), not "Dan" the name.
static DAN: LazyLock<Option<Regex>> = LazyLock::new(|| built_in_regex(r"\bDAN\b"));

/// Tasks a shop assistant does not do, whatever the subject.
static TASKS: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"\b(write|compose|create|generate|make up|give me|tell me|sing|draft)\b.{0,30}\b(poem|poems|haiku|limerick|song|lyrics|rap|story|stories|essay|novel|fairy ?tale|script|screenplay|sonnet|speech|cover letter|resume|cv|tweet|blog post|article|joke|jokes|riddle|pun|rhyme)\b",
        r"\b(tell|know) (me )?(a |any )?(good |funny )?(joke|jokes|riddle|fun fact)\b",
        r"\b(write|fix|debug|review|explain|generate)\b.{0,30}\b(code|program|script|function|regex|sql|query|javascript|python|java|rust|html|css|algorithm)\b",
        r"\b(python|javascript|typescript|java|c\+\+|rust|golang|sql|html|css|php|excel formula|linux|bash|kubernetes|docker)\b",
        r"\b(translate|translation)\b",
        r"\b(my|with (my )?)?homework\b|\bassignment\b|\bexam question",
        r"\b(solve|calculate|compute|simplify|integrate|differentiate|derivative|integral|equation|square root|factorial|prime number)\b",
        r"^\s*(what is|what's|whats|how much is)?\s*\d+(\.\d+)?\s*([-+*/x×^]|times|plus|minus|divided by)\s*\d+",
        r"\b(summari[sz]e|paraphrase|rewrite|proofread)\b.{0,30}\b(text|article|book|paragraph|this|email|letter)\b",
        r"\bplay (a game|chess|tic.?tac.?toe|20 questions)\b",
        r"\b(hack|crack|phish|malware|virus|exploit|ddos)\b",
    ])
});

/// General-knowledge and chit-chat subjects far from any small business.
static GENERAL: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"\bcapital (city )?of\b",
        r"\b(population|president|prime minister|chancellor|pope|government|election|elections|vote|voting|democrat|republican|politics|political|parliament|senate|congress|war|trump|biden|putin|nato)\b",
        r"\b(weather|forecast|rain(ing)?|snow(ing)?|sunny|humidity)\b",
        r"\b(football|soccer|basketball|baseball|tennis|golf|formula 1|f1|nba|nfl|fifa|world cup|olympics|super bowl|champions league|premier league)\b",
        r"\b(movie|movies|film|films|netflix|tv show|series|actor|actress|celebrity|celebrities|singer|band|album|taylor swift|beyonce|kardashian|oscars?|grammy)\b",
        r"\b(bitcoin|crypto|cryptocurrency|ethereum|stock market|stocks|stock price|share price|forex|invest(ing|ment)? (in|advice)|interest rates?)\b",
        r"\b(history of|who (invented|discovered|wrote|painted|won|was|is the|built)|when (did|was))\b",
        r"\b(moon|mars|the sun|planet|planets|universe|galaxy|black hole|dinosaurs?|photosynthesis|gravity|quantum|physics|chemistry|biology|atom|molecule|evolution|moon landing|speed of light)\b",
        r"\b(meaning of life|god exist|religion|horoscope|zodiac|astrology|tarot)\b",
        r"\b(recipe|recipes|bake a|cook (a|dinner|pasta|rice)|lasagna|pizza dough|calories in)\b",
        r"\b(diagnos\w*|symptoms?|medication|medicine|disease|illness|headache|covid|vaccine|doctor|lose weight|diet plan|workout)\b",
        r"\b(dating|girlfriend|boyfriend|relationship advice|break up|my ex)\b",
        r"\b(flight|flights|airline|hotel|passport|vacation|holiday destination|tourist attractions?)\b",
        r"\b(fix|repair)\b.{0,20}\b(car|bike|bicycle|laptop|computer|phone|iphone|tv|washing machine|tire|tyre)\b",
        r"\b(car|cars|motorcycle|tesla|iphone|android|playstation|xbox|nintendo|minecraft|fortnite|chatgpt|openai)\b",
        r"\b(tallest|largest|biggest|smallest|longest|fastest|richest|oldest) (mountain|river|country|city|animal|building|man|person|ocean|company|lake|planet|desert)\b",
        r"\b(how many|how much) .{0,30}\b(in a|in the|are there|does (a|the) .{0,15} weigh)\b.{0,30}\b(year|world|body|ocean|sky|universe|earth|mile|kilometer|pound)\b",
        r"\b(what do you think about|your opinion on|do you believe in|are you conscious|are you alive|do you have feelings|are you sentient)\b",
        r"\bfun fact\b|\btrivia\b|\bquiz\b",
        r"\b(learn|speak|teach me) (spanish|french|german|chinese|japanese|italian|english|dutch)\b",
        r"\bwho (is|are|was) [A-Z]",
    ])
});

/// Words a visitor uses when asking about a business (any business: shop, agency, service).
const BUSINESS_WORDS: &[&str] = &[
    "order",
    "orders",
    "ordered",
    "ordering",
    "ship",
    "ships",
    "shipping",
    "shipped",
    "delivery",
    "deliver",
    "delivered",
    "deliveries",
    "return",
    "returns",
    "returning",
    "refund",
    "refunds",
    "exchange",
    "price",
    "prices",
    "pricing",
    "cost",
    "costs",
    "expensive",
    "cheap",
    "pay",
    "paying",
    "payment",
    "payments",
    "buy",
    "buying",
    "purchase",
    "purchased",
    "product",
    "products",
    "stock",
    "available",
    "availability",
    "store",
    "shop",
    "shops",
    "open",
    "opening",
    "hours",
    "closed",
    "close",
    "contact",
    "address",
    "location",
    "located",
    "discount",
    "coupon",
    "voucher",
    "gift",
    "warranty",
    "guarantee",
    "invoice",
    "account",
    "track",
    "tracking",
    "package",
    "parcel",
    "damaged",
    "broken",
    "break",
    "breaks",
    "transit",
    "damage",
    "cancel",
    "cancellation",
    "service",
    "services",
    "appointment",
    "booking",
    "book",
    "quote",
    "offer",
    "offers",
    "sale",
    "sell",
    "selling",
    "sold",
    "house",
    "home",
    "property",
    "apartment",
    "viewing",
    "mortgage",
    "rent",
    "catalogue",
    "catalog",
    "size",
    "sizes",
    "colour",
    "colours",
    "color",
    "colors",
    "material",
    "materials",
    "wholesale",
    "customer",
    "support",
    "email",
    "e-mail",
    "phone",
    "call",
    "policy",
    "policies",
    "business",
    "company",
    "team",
    "staff",
    "visit",
    "pickup",
    "collect",
    "postage",
    "courier",
    "dhl",
    "postnl",
    "ideal",
    "klarna",
    "paypal",
    "visa",
    "mastercard",
    "credit",
    "card",
    "wrap",
    "wrapping",
    "newsletter",
    "subscription",
    "login",
    "password",
    "website",
    "webshop",
    "brand",
    "handmade",
    "collection",
    "item",
    "items",
    "review",
    "reviews",
    "job",
    "jobs",
    "vacancy",
    "vacancies",
    "sunday",
    "saturday",
    "monday",
    "weekend",
    "holidays",
    "euro",
    "money",
    "euros",
    "free",
    "fee",
    "fees",
    "receipt",
    "replacement",
    "replace",
    "defect",
    "defective",
    "missing",
    "wrong",
    "late",
    "arrive",
    "arrived",
    "arrives",
    "dishwasher",
    "microwave",
    "safe",
    "care",
    "clean",
    "cleaning",
    "instructions",
    "manual",
    "assemble",
];

/// Pronouns that address the business ("do you ...", "your ...", "our order").
const ADDRESSING: &[&str] = &["you", "your", "yours", "u", "ur", "we", "our", "us"];

fn words(text: &str) -> Vec<String> {
    lower_words(text, &['-', '\'']).collect()
}

/// Whether the message mentions one of the company's allowed topics (any significant word of
/// the topic, singular or plural).
pub fn mentions_allowed_topic(message: &str, allowed_topics: &[String]) -> bool {
    let msg: Vec<String> = words(message);
    allowed_topics.iter().any(|t| {
        let lower = t.to_lowercase();
        if lower.trim().len() >= 3 && message.to_lowercase().contains(lower.trim()) {
            return true;
        }
        words(t)
            .iter()
            .filter(|w| w.chars().count() >= 4)
            .any(|tw| msg.iter().any(|m| strip_plural(m) == strip_plural(tw)))
    })
}

fn business_vocabulary(ws: &[String]) -> bool {
    ws.iter().any(|w| BUSINESS_WORDS.contains(&w.as_str()))
}

/// Why a message is a prompt-injection attempt, if it is one.
pub fn injection_reason(message: &str) -> Option<&'static str> {
    let lower = normalize_message(message);
    if INJECTION.as_ref().is_some_and(|s| s.is_match(&lower)) {
        return Some("prompt injection");
    }
    if DAN.as_ref().is_some_and(|r| r.is_match(message)) {
        return Some("prompt injection (DAN)");
    }
    None
}

/// Decide before the model call. `best_score` is the top retrieval similarity (None: no hits).
pub fn classify_topic(message: &str, best_score: Option<f32>, allowed_topics: &[String]) -> TopicDecision {
    if let Some(reason) = injection_reason(message) {
        return TopicDecision::Refuse { reason: reason.into() };
    }
    if is_small_talk(message) {
        return TopicDecision::Greeting;
    }
    if is_contact_message(message) {
        return TopicDecision::Contact;
    }
    if mentions_allowed_topic(message, allowed_topics) {
        return TopicDecision::Allow;
    }
    let score = best_score.unwrap_or(0.0);
    let lower = normalize_message(message);
    let ws = words(&lower);
    let business = business_vocabulary(&ws);
    if TASKS.as_ref().is_some_and(|s| s.is_match(&lower)) && score < STRONG_RELEVANCE {
        return TopicDecision::Refuse { reason: "off-topic task".into() };
    }
    // "who is X" needs the original case; the other subjects are matched lower-cased. A general
    // subject next to business words ("is the weather a problem for delivery?") is answered
    // when retrieval found something; alone it needs clearly relevant knowledge.
    let general = GENERAL.as_ref().is_some_and(|s| s.is_match(&lower) || s.is_match(message));
    let saved = score >= STRONG_RELEVANCE || (business && score >= WEAK_RELEVANCE);
    if general && !saved {
        return TopicDecision::Refuse { reason: "off-topic subject".into() };
    }
    // Nothing relevant retrieved, no business words and not addressed to the business.
    let addressed = ws.iter().any(|w| ADDRESSING.contains(&w.as_str()));
    if score < WEAK_RELEVANCE && !business && !addressed && ws.len() >= 3 {
        return TopicDecision::Refuse { reason: "unrelated to the company's knowledge".into() };
    }
    TopicDecision::Allow
}

/// A short polite refusal that steers back to the company's business.
pub fn refusal_message(company_name: &str) -> String {
    format!(
        "I'm sorry, I can only help with questions about {company_name}. Is there anything about our products or services I can help you with?"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(INJECTION.is_some() && TASKS.is_some() && GENERAL.is_some() && DAN.is_some());
    }
}
