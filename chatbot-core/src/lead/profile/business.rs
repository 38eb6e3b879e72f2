//! The business owner's fields read from words: the service they want (the visitor's own noun
//! phrase after "need", "looking for", "brauche", "zoek", "cherche", "besoin de" ...), their
//! company's name and size, and when they prefer to be contacted.

use std::sync::LazyLock;

use regex::Regex;

use super::lex::{Kind, Tok};
use crate::text::built_in_regex;

/// "need", "looking for", "brauchen", "zoeken", "cherchons", "besoin d'", "heb ... nodig" ...:
/// group 1 is what follows.
static WANT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(concat!(
        r"(?i)(?:^|[^\p{L}])(?:need|needs|looking for|look for|searching for|search for|want|wants|would like|d like|",
        r"require|interested in|do you do|do you offer|do you provide|help us with|help me with|helpen met|helfen bei|",
        r"unterstützen bei|aider avec|bieden jullie|bieten sie|proposez-vous|recherchons|recherche|voudrions|souhaiterions|",
        r"brauche|brauchen|suche|suchen|benötige|benötigen|hätten gerne|hätte gerne|hätten gern|hätte gern|",
        r"interessieren uns für|zoek|zoeken|zoekt|op zoek naar|wil|willen|cherche|cherchons|cherchez|",
        r"besoin d['’]|besoin de|voudrais|voulons|souhaite|souhaitons|aimerais|aimerions|il nous faut|il me faut|",
        r"il nous faudrait|il me faudrait)\b\s*(.{1,90})",
    ))
});

/// "(ik) heb een logo nodig": group 1 is the thing needed.
static NODIG: LazyLock<Option<Regex>> =
    LazyLock::new(|| built_in_regex(r"(?i)\b(?:heb|hebben|heeft)\s+(?:nog\s+)?(.{1,50}?)\s+nodig\b"));

/// Whether `word` is one of the space-separated words of `list`.
fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

/// Words skipped before the service: articles, "new", "help with", "someone for".
const LEADING: &str = "a an the some new help with support for een de het nieuwe nieuw hulp met bij ein eine einen \
    einem der die das den neue neuen neues unterstützung hilfe bei beim un une des du la le l \
    nouveau nouvelle nouvel aide pour noch nog ook also auch aussi someone somebody iemand jemanden \
    quelqu'un quelqu’un good goede gute guten bon bonne professional für voor we wij wir nous my our \
    mijn onze ons mein meine meinen unsere unseren unser mon ma mes notre nos dafür daarvoor";

/// "someone to redo our logo", "want to launch an online store": the verb is skipped.
const VERBS: &str = "launch build create start get have make set develop redo redesign hire find outsource improve \
    update open design write run manage handle";

/// "a quote for commercial cleaning": the request word and its "for" are skipped.
const REQUESTS: &str = "quote offerte angebot devis price prijs preis prix info information informations informatie \
    offer estimate kostenvoranschlag tarif proposal voorstel prijsopgave quotation";

/// Words that end the service phrase.
const STOP: &str = "and en und et or of oder ou with met mit avec from van von within binnen innerhalb by to om te \
    um zu à at in im dans asap budget ideally idealerweise idealiter idéalement starting start laten \
    lassen faire that which die dat qui que please graag bitte because omdat weil parce so zodat \
    damit before voor vor avant after na nach après ab vanaf dès max maximum maximaal höchstens \
    jusqu'à jusqu’à up tot bis around ongeveer environ ca etwa between tussen zwischen entre nodig \
    is are ist sind est sont now nu jetzt maintenant for für pour next this volgend volgende \
    nächsten nächste le la les auslagern bouwen maken erstellen ici";

const ARTICLES: &str = "die der den de het la le les the a an un une een ein eine einen";

/// The start of the phrase that is not a service: pronouns, verbs, generic requests.
const NOT_SERVICES: &str = "it to this that you your het dat dit je jullie u es das sie ihre ihr vous votre ça cela money \
    geld argent back terug zurück quote offerte angebot devis information info informatie \
    informationen informations advice advies rat conseil call callback appointment afspraak termin \
    rendez-vous price prices prijs preis prix refund return order contact know weten wissen savoir \
    more meer mehr plus help hulp hilfe aide mortgage hypotheek finanzierung prêt house huis haus \
    maison apartment flat appartement wohnung my mijn mein meine mon ma our onze unsere unser notre \
    nos me mij mich moi us ons uns nous was wat quoi what a an een ein eine un une hier here ici ik \
    jij hij zij ich er il elle they he she i ze";

/// The possessives after "for" that end a phrase ("a website for our practice").
const POSSESSIVES: &str = "my our his her their mijn onze ons zijn haar mein meine meinen meinem unsere unseren unserem \
    unser mon ma mes notre nos son sa ses leur";

/// The visitor's words for what they want, trimmed to the noun phrase.
fn phrase(after: &str) -> Option<String> {
    let words: Vec<&str> = after.split_whitespace().collect();
    let clean = |w: &str| -> String {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'' && c != '’' && c != '&')
            .to_string()
    };
    let lower_at = |k: usize| -> String {
        let w = words.get(k).map(|w| clean(w).to_lowercase()).unwrap_or_default();
        // "d'un", "l'": French elision glued to the next word.
        w.split(['\'', '’']).next_back().map(str::to_string).unwrap_or(w)
    };
    let mut i = 0;
    while i < words.len() {
        let w = lower_at(i);
        if listed(LEADING, &w) || w.is_empty() {
            i += 1;
        } else if (matches!(w.as_str(), "to" | "om" | "um") && listed(VERBS, lower_at(i + 1).as_str()))
            || (listed(REQUESTS, &w)
                && matches!(lower_at(i + 1).as_str(), "for" | "voor" | "für" | "pour" | "on" | "über"))
        {
            i += 2;
        } else {
            break;
        }
    }
    let mut out: Vec<String> = Vec::new();
    while i < words.len() && out.len() < 6 {
        let raw = words[i];
        let mut w = clean(raw);
        if let Some((head, tail)) = w.split_once(['\'', '’'])
            && matches!(head.to_lowercase().as_str(), "d" | "l" | "qu")
        {
            w = tail.to_string();
        }
        let lower = w.to_lowercase();
        if w.is_empty() || w.chars().any(|c| c.is_ascii_digit()) {
            break;
        }
        let joins_en_ligne =
            lower == "en" && words.get(i + 1).is_some_and(|n| clean(n).to_lowercase() == "ligne");
        let for_like = matches!(lower.as_str(), "for" | "voor" | "für" | "pour");
        if for_like && !out.is_empty() {
            // "a developer for a mobile app" goes on; "a website for our practice" stops.
            let next = words.get(i + 1).map(|n| clean(n).to_lowercase()).unwrap_or_default();
            if listed(POSSESSIVES, &next) || next.is_empty() || next.chars().any(|c| c.is_ascii_digit()) {
                break;
            }
            out.push(w);
            i += 1;
            continue;
        }
        // An acronym ("IT", "SEO", "CRM") is a service word even where the same letters in lower
        // case are a pronoun.
        let acronym =
            w.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !w.chars().any(char::is_lowercase);
        if out.is_empty() && listed(NOT_SERVICES, &lower) && !acronym {
            return None;
        }
        let after_for =
            out.last().is_some_and(|p| matches!(p.to_lowercase().as_str(), "for" | "voor" | "für" | "pour"));
        let article_after_for = after_for && listed(ARTICLES, &lower);
        let en_ligne = out.last().is_some_and(|p| p.eq_ignore_ascii_case("en")) && lower == "ligne";
        if !joins_en_ligne && !article_after_for && !en_ligne && !acronym && listed(STOP, &lower) {
            break;
        }
        out.push(w);
        let ends = raw.ends_with([',', '.', '!', '?', ';', ':', ')']);
        if ends {
            break;
        }
        i += 1;
    }
    // A phrase ending on a connector ("developer for") drops it.
    while out.last().is_some_and(|w| {
        let l = w.to_lowercase();
        matches!(
            l.as_str(),
            "for" | "voor" | "für" | "pour" | "a" | "an" | "een" | "un" | "une" | "de" | "the"
        )
    }) {
        out.pop();
    }
    let s = out.join(" ");
    (!s.is_empty() && s.chars().count() <= 80).then_some(s)
}

/// What the visitor wants, in their words.
pub(super) fn service(sentence: &str) -> Option<String> {
    if let Some(c) = NODIG.as_ref().and_then(|r| r.captures(sentence))
        && let Some(s) = c.get(1).and_then(|m| phrase(m.as_str()))
    {
        return Some(s);
    }
    let re = WANT.as_ref()?;
    re.captures_iter(sentence).filter_map(|c| c.get(1)).find_map(|m| phrase(m.as_str()))
}

/// "my company Bright Bakes", "wir sind die Müller GmbH", "mijn bedrijf heet ...",
/// "notre entreprise s'appelle ...": group 2 is the name. Group 1 marks the cues that only
/// name a company ("we are" is followed by a name or by anything else).
static COMPANY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(concat!(
        r"(?:^|[^\p{L}])(?i:(?:my|our)\s+(?:company|business|firm|agency|shop|practice)(?:\s+is\s+called|\s+is\s+named|\s+called|\s+named|\s+is)?|company\s+name\s+is|",
        r"(?:mijn|ons|onze)\s+(?:bedrijf|zaak|firma|onderneming|praktijk|winkel)(?:\s+heet|\s+is)?|bedrijfsnaam\s+is|",
        r"(?:meine|unsere)\s+(?:firma|praxis|agentur)(?:\s+heißt|\s+ist)?|(?:mein|unser)\s+(?:unternehmen|betrieb|geschäft|laden)(?:\s+heißt|\s+ist)?|",
        r"(?:mon|notre)\s+(?:entreprise|société|cabinet|agence|commerce)(?:\s+s['’]appelle|\s+est)?|(?:ma|notre)\s+(?:société|boutique|entreprise)(?:\s+s['’]appelle)?|",
        r"(?:startup|start-up|company|business|firm|agency|shop|bakery|practice|studio|bedrijf|zaak|winkel|firma|unternehmen|entreprise|société)\s+(?:called|named|genaamd|namens|mit dem namen|nommée?|appelée?)|",
        r"(?:owner|founder|director|ceo|eigenaar|oprichter|directeur|inhaber|inhaberin|gründer|geschäftsführer|propriétaire|gérant|gérante|fondateur|fondatrice)\s+(?:of|van|von|de|der|des)|",
        r"(we\s+are|we['’]re|wij\s+zijn|we\s+zijn|wir\s+sind|nous\s+sommes))",
        r"(?:\s*,)?\s+(?:(?:die|der|das|de|het|la|le|les|the)\s+)?",
        r"(\p{Lu}[\p{L}\p{N}'’.]*(?:\s+(?:&\s+)?(?:(?:de|van|der|den|von|du|la|le|and|und|en|et|of)\s+)?\p{Lu}[\p{L}\p{N}'’.]*){0,4}(?:\s+&\s+(?:Co\.?|Fils|Zn\.?|Söhne|Sons))?)",
    ))
});

const LEGAL: &str = "gmbh bv b.v. ltd ltd. llc inc inc. sa sarl sas ag kg nv ug vof plc";

/// Capitalised words after a cue that are not names.
const NOT_NAMES: &str = "i we you a an the looking interested dutch german french english belgian swiss british american \
    new hier here ici very also auch ook aussi kunden kunde klant klanten client clients customers \
    eine ein een une un heel sehr très bereit ready prêts klaar";

/// The company's name as the visitor wrote it.
pub(super) fn company_name(sentence: &str) -> Option<String> {
    let re = COMPANY.as_ref()?;
    re.captures_iter(sentence).find_map(|c| {
        let name = c.get(2)?.as_str().trim_end_matches(['.', '\'', '’']).trim();
        let words: Vec<&str> = name.split_whitespace().collect();
        let first = words.first()?.to_lowercase();
        if listed(NOT_NAMES, &first) {
            return None;
        }
        // After "we are" / "wir sind" a single capitalised word may be any noun (German
        // capitalises them all): it counts as a name only with a legal form or in several words.
        let loose = c.get(1).is_some();
        let legal = words.iter().any(|w| listed(LEGAL, w.to_lowercase().as_str())) || name.contains('&');
        let german = c.get(1).is_some_and(|m| m.as_str().to_lowercase().starts_with("wir"));
        if loose && german && words.len() < 2 && !legal {
            return None;
        }
        Some(name.to_string())
    })
}

fn is_staff_word(w: &str, loose: bool) -> bool {
    matches!(
        w,
        "employees"
            | "employee"
            | "staff"
            | "fte"
            | "workers"
            | "mitarbeiter"
            | "mitarbeitern"
            | "mitarbeitende"
            | "mitarbeitenden"
            | "angestellte"
            | "angestellten"
            | "beschäftigte"
            | "medewerkers"
            | "werknemers"
            | "salariés"
            | "salarié"
            | "employés"
            | "collaborateurs"
    ) || w.starts_with("köpfig")
        || (loose
            && matches!(
                w,
                "person"
                    | "people"
                    | "persons"
                    | "personen"
                    | "personnes"
                    | "man"
                    | "mensen"
                    | "members"
                    | "leute"
                    | "leuten"
                    | "mitglieder"
                    | "leden"
            ))
}

/// The company's headcount: "12-person", "12 employees", "12 Mitarbeiter", "team van 8
/// personen", "notre équipe de 6 personnes".
pub(super) fn company_size(toks: &[Tok]) -> Option<u32> {
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Num || t.mult || t.decimal || t.value < 1.0 || t.value > 1_000_000.0 {
            continue;
        }
        let hyphen = toks.get(i + 1).is_some_and(|t| t.is_sym("-"));
        let Some(w) = toks.get(i + if hyphen { 2 } else { 1 }).filter(|t| t.kind == Kind::Word) else {
            continue;
        };
        // "people" counts after "team", "we are", "équipe" or in "12-person".
        let lead = (1..=3).filter_map(|d| i.checked_sub(d)).any(|k| {
            matches!(
                toks[k].lower.as_str(),
                "team"
                    | "équipe"
                    | "are"
                    | "sind"
                    | "zijn"
                    | "sommes"
                    | "staff"
                    | "bedrijf"
                    | "company"
                    | "pme"
                    | "entreprise"
                    | "société"
                    | "firma"
                    | "unternehmen"
                    | "firm"
                    | "business"
                    | "praxis"
                    | "praktijk"
                    | "cabinet"
                    | "kantoor"
                    | "büro"
                    | "agency"
                    | "agentur"
                    | "bureau"
                    | "startup"
                    | "start-up"
            )
        });
        if is_staff_word(&w.lower, hyphen || lead) {
            return Some(t.value as u32);
        }
    }
    None
}

static CONTACT_CONTEXT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(concat!(
        r"(?i)(?:\b(?:call|calls|ring|phone|reach|reachable|contact|contacted|available|best time|best for me|",
        r"by phone|bel|bellen|belt|bereikbaar|contact|beschikbaar|telefonisch|",
        r"anrufen|rufen|erreichen|erreichbar|kontaktieren|kontakt|melden|am besten|",
        r"appeler|appelez|appelle|joindre|joignable|contacter|contacté|contactée|disponible|par téléphone)",
        r"|(?:terug|zurück|re)(?:bellen|bel|rufen|appeler|appelez|appelle)|rappel)",
    ))
});

static AFTER_TIME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(
        r"(?i)\b(?:after|from|na|vanaf|nach|ab|après|à partir de|a partir de)\s+(\d{1,2})(?:[:.h](\d{2}))?\s*(?:(am|pm)|uur|uhr|h|o['’]clock)?",
    )
});

/// Dutch "na half 6": half an hour before six (read as the afternoon below 8).
static HALF_HOUR: LazyLock<Option<Regex>> =
    LazyLock::new(|| built_in_regex(r"(?i)\b(?:na|vanaf)\s+half\s+(\d{1,2})\b"));

static PART_OF_DAY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(concat!(
        r"(?i)\b(?:(tomorrow\s+|morgen\s*|demain\s+)|(this\s+|today\s+|vandaag\s+|heute\s+|ce\s+|cet\s+|cette\s+))?",
        r"(mornings?|afternoons?|evenings?|ochtend|ochtends|morgens|middag|middags|avond|avonds|",
        r"vormittags?|nachmittags?|abends?|matin|matinée|après-midi|soir|soirée|lunchtime|lunch)\b",
    ))
});

/// When the visitor wants to be contacted: "after 17:00", "tomorrow afternoon", "mornings".
pub(super) fn contact_time(sentence: &str) -> Option<String> {
    if !CONTACT_CONTEXT.as_ref().is_some_and(|r| r.is_match(sentence)) {
        return None;
    }
    if let Some(n) =
        HALF_HOUR.as_ref().and_then(|r| r.captures(sentence)).and_then(|c| c[1].parse::<u32>().ok())
        && (1..=12).contains(&n)
    {
        let h = if n - 1 < 8 { n - 1 + 12 } else { n - 1 };
        return Some(format!("after {h}:30"));
    }
    if let Some(c) = AFTER_TIME.as_ref().and_then(|r| r.captures(sentence)) {
        let mut h: u32 = c.get(1)?.as_str().parse().ok()?;
        let m: u32 = c.get(2).map_or(Some(0), |m| m.as_str().parse().ok())?;
        let marked = c.get(2).is_some()
            || c.get(3).is_some()
            || c.get(0).is_some_and(|m| {
                let l = m.as_str().to_lowercase();
                l.ends_with("uur") || l.ends_with("uhr") || l.ends_with('h') || l.ends_with("clock")
            });
        if c.get(3).is_some_and(|p| p.as_str().eq_ignore_ascii_case("pm")) && h < 12 {
            h += 12;
        }
        if marked && h < 24 && m < 60 {
            return Some(format!("after {h}:{m:02}"));
        }
    }
    let c = PART_OF_DAY.as_ref()?.captures(sentence)?;
    let part = c.get(3)?.as_str().to_lowercase();
    let part = match part.as_str() {
        "morning" | "mornings" | "ochtend" | "ochtends" | "morgens" | "vormittag" | "vormittags"
        | "matin" | "matinée" => "mornings",
        "afternoon" | "afternoons" | "middag" | "middags" | "nachmittag" | "nachmittags" | "après-midi" => {
            "afternoons"
        }
        "evening" | "evenings" | "avond" | "avonds" | "abend" | "abends" | "soir" | "soirée" => "evenings",
        _ => "lunchtime",
    };
    if c.get(1).is_some() {
        return Some(format!("tomorrow {}", part.trim_end_matches('s')));
    }
    if c.get(2).is_some() {
        return Some(format!("this {}", part.trim_end_matches('s')));
    }
    Some(part.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::lex::tokens;
    use super::*;

    #[test]
    fn patterns_compile() {
        for p in [&*WANT, &*NODIG, &*COMPANY, &*CONTACT_CONTEXT, &*AFTER_TIME, &*HALF_HOUR, &*PART_OF_DAY] {
            assert!(p.is_some());
        }
    }

    #[test]
    fn business_words() {
        assert_eq!(service("we need a new website for our practice").as_deref(), Some("website"));
        assert_eq!(service("Ik heb een logo nodig voor mijn bedrijf").as_deref(), Some("logo"));
        assert_eq!(service("we need it done asap"), None);
        assert_eq!(service("looking for IT support, budget").as_deref(), Some("IT support"));
        assert_eq!(service("Ich suche jemanden für Fotografie, Budget").as_deref(), Some("Fotografie"));
        assert_eq!(service("I want my money back"), None);
        assert_eq!(company_name("for my company Bright Bakes, up to $800").as_deref(), Some("Bright Bakes"));
        assert_eq!(company_name("Wir sind die Müller GmbH und").as_deref(), Some("Müller GmbH"));
        assert_eq!(company_name("Wir sind Handwerker"), None);
        assert_eq!(company_name("Wij zijn De Groot Advocaten, 22").as_deref(), Some("De Groot Advocaten"));
        assert_eq!(company_name("We are a 25-person law firm"), None);
        assert_eq!(company_size(&tokens("our 12-person dental practice")), Some(12));
        assert_eq!(company_size(&tokens("a table for 4 people")), None);
        assert_eq!(contact_time("Rufen Sie mich bitte nach 17 Uhr an.").as_deref(), Some("after 17:00"));
        assert_eq!(
            contact_time("Vous pouvez m'appeler demain après-midi.").as_deref(),
            Some("tomorrow afternoon")
        );
        assert_eq!(contact_time("We open in the morning"), None);
    }
}
