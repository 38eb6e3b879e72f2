//! The fixed texts the engine answers with itself (no model involved), in every language they
//! are written in: one table, one place. A language without a column gets English.

use super::lang::Lang;

/// A fixed text. `{company}` and `{name}` in the table are filled in by [`fixed_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedText {
    /// Off-topic or injection: the polite refusal.
    Refusal,
    /// Nothing relevant found: the "could not find that; leave your details" fallback.
    NoInformation,
    /// Who will get back to the visitor when the company has no name.
    OurTeam,
    /// The default greeting (a company's own welcome message is used as written).
    Welcome,
    /// Asking an anonymous visitor for contact details.
    ContactAskAll,
    /// Asking for the name when a way to reach the visitor is known.
    ContactAskName,
    /// Asking for a way to reach a visitor whose name is known.
    ContactAskReach,
    /// Acknowledging contact details.
    Thanks,
    /// The lead is complete.
    LeadReady,
    /// Realtor: buying, renting or selling?
    AskIntent,
    /// Realtor: where?
    AskLocation,
    /// Either type: the budget.
    AskBudget,
    /// Realtor: what kind of property?
    AskPropertyType,
    /// Realtor: how many bedrooms?
    AskBedrooms,
    /// Realtor: when to move?
    AskMoveTimeline,
    /// Business owner: which service?
    AskService,
    /// Business owner: by when?
    AskProjectTimeline,
    /// Business owner: the company's name.
    AskCompanyName,
}

/// The columns of [`TABLE`].
const COLUMNS: [Lang; 5] = [Lang::English, Lang::German, Lang::French, Lang::Spanish, Lang::Dutch];

const TABLE: &[(FixedText, [&str; 5])] = &[
    (
        FixedText::Refusal,
        [
            "I'm sorry, I can only help with questions about {company}. Is there anything about our products or services I can help you with?",
            "Es tut mir leid, ich kann nur Fragen zu {company} beantworten. Kann ich Ihnen bei etwas zu unseren Produkten oder Dienstleistungen helfen?",
            "Je suis désolé, je ne peux répondre qu'aux questions concernant {company}. Puis-je vous aider au sujet de nos produits ou services ?",
            "Lo siento, solo puedo ayudar con preguntas sobre {company}. ¿Puedo ayudarle con algo sobre nuestros productos o servicios?",
            "Sorry, ik kan alleen vragen over {company} beantwoorden. Kan ik je ergens mee helpen over onze producten of diensten?",
        ],
    ),
    (
        FixedText::NoInformation,
        [
            "I'm sorry, I don't have information about that. If you leave your name and your e-mail address or phone number, someone from {company} will get back to you.",
            "Es tut mir leid, dazu habe ich keine Informationen. Wenn Sie Ihren Namen und Ihre E-Mail-Adresse oder Telefonnummer hinterlassen, meldet sich jemand von {company} bei Ihnen.",
            "Je suis désolé, je n'ai pas d'information à ce sujet. Si vous laissez votre nom et votre adresse e-mail ou votre numéro de téléphone, quelqu'un de {company} vous recontactera.",
            "Lo siento, no tengo información sobre eso. Si deja su nombre y su correo electrónico o número de teléfono, alguien de {company} se pondrá en contacto con usted.",
            "Sorry, daar heb ik geen informatie over. Als je je naam en je e-mailadres of telefoonnummer achterlaat, neemt iemand van {company} contact met je op.",
        ],
    ),
    (FixedText::OurTeam, ["our team", "unserem Team", "notre équipe", "nuestro equipo", "ons team"]),
    (
        FixedText::Welcome,
        [
            "Hi! Welcome to {company}. How can I help you today?",
            "Hallo! Willkommen bei {company}. Wie kann ich Ihnen heute helfen?",
            "Bonjour ! Bienvenue chez {company}. Comment puis-je vous aider aujourd'hui ?",
            "¡Hola! Bienvenido a {company}. ¿En qué puedo ayudarle hoy?",
            "Hallo! Welkom bij {company}. Waarmee kan ik je vandaag helpen?",
        ],
    ),
    (
        FixedText::ContactAskAll,
        [
            "If you'd like someone to follow up with you, feel free to share your name and an e-mail address or phone number.",
            "Wenn sich jemand bei Ihnen melden soll, hinterlassen Sie gern Ihren Namen und eine E-Mail-Adresse oder Telefonnummer.",
            "Si vous souhaitez que quelqu'un vous recontacte, n'hésitez pas à laisser votre nom et une adresse e-mail ou un numéro de téléphone.",
            "Si desea que alguien se ponga en contacto con usted, deje su nombre y un correo electrónico o número de teléfono.",
            "Wil je dat iemand contact met je opneemt? Laat dan gerust je naam en een e-mailadres of telefoonnummer achter.",
        ],
    ),
    (
        FixedText::ContactAskName,
        [
            "May I have your name, so we know who to follow up with?",
            "Darf ich nach Ihrem Namen fragen, damit wir wissen, bei wem wir uns melden?",
            "Puis-je avoir votre nom, pour que nous sachions qui recontacter ?",
            "¿Me puede decir su nombre, para saber a quién contactar?",
            "Mag ik je naam, zodat we weten met wie we contact opnemen?",
        ],
    ),
    (
        FixedText::ContactAskReach,
        [
            "Thanks, {name}! What's the best e-mail address or phone number to reach you?",
            "Danke, {name}! Unter welcher E-Mail-Adresse oder Telefonnummer erreichen wir Sie am besten?",
            "Merci, {name} ! Quelle est la meilleure adresse e-mail ou le meilleur numéro de téléphone pour vous joindre ?",
            "¡Gracias, {name}! ¿Cuál es el mejor correo electrónico o número de teléfono para contactarle?",
            "Bedankt, {name}! Op welk e-mailadres of telefoonnummer ben je het best bereikbaar?",
        ],
    ),
    (FixedText::Thanks, ["Thank you!", "Danke!", "Merci !", "¡Gracias!", "Bedankt!"]),
    (
        FixedText::LeadReady,
        [
            "Thank you, {name}! We have your contact details and someone from {company} will get back to you soon.",
            "Danke, {name}! Wir haben Ihre Kontaktdaten, und jemand von {company} meldet sich bald bei Ihnen.",
            "Merci, {name} ! Nous avons vos coordonnées et quelqu'un de {company} vous recontactera bientôt.",
            "¡Gracias, {name}! Tenemos sus datos de contacto y alguien de {company} se pondrá en contacto con usted pronto.",
            "Bedankt, {name}! We hebben je contactgegevens en iemand van {company} neemt binnenkort contact met je op.",
        ],
    ),
    (
        FixedText::AskIntent,
        [
            "Are you looking to buy, rent or sell?",
            "Möchten Sie kaufen, mieten oder verkaufen?",
            "Souhaitez-vous acheter, louer ou vendre ?",
            "¿Busca comprar, alquilar o vender?",
            "Wil je kopen, huren of verkopen?",
        ],
    ),
    (
        FixedText::AskLocation,
        [
            "Which area or town are you interested in?",
            "Für welche Gegend oder welchen Ort interessieren Sie sich?",
            "Quel quartier ou quelle ville vous intéresse ?",
            "¿Qué zona o ciudad le interesa?",
            "In welke buurt of plaats ben je geïnteresseerd?",
        ],
    ),
    (
        FixedText::AskBudget,
        [
            "Do you have a budget in mind?",
            "Haben Sie ein Budget im Kopf?",
            "Avez-vous un budget en tête ?",
            "¿Tiene un presupuesto en mente?",
            "Heb je een budget in gedachten?",
        ],
    ),
    (
        FixedText::AskPropertyType,
        [
            "What kind of property are you looking for (an apartment, a house, ...)?",
            "Welche Art von Immobilie suchen Sie (eine Wohnung, ein Haus, ...)?",
            "Quel type de bien recherchez-vous (un appartement, une maison, ...) ?",
            "¿Qué tipo de inmueble busca (un piso, una casa, ...)?",
            "Wat voor woning zoek je (een appartement, een huis, ...)?",
        ],
    ),
    (
        FixedText::AskBedrooms,
        [
            "How many bedrooms do you need?",
            "Wie viele Schlafzimmer brauchen Sie?",
            "De combien de chambres avez-vous besoin ?",
            "¿Cuántos dormitorios necesita?",
            "Hoeveel slaapkamers heb je nodig?",
        ],
    ),
    (
        FixedText::AskMoveTimeline,
        [
            "When would you like to move?",
            "Wann möchten Sie umziehen?",
            "Quand souhaitez-vous emménager ?",
            "¿Cuándo le gustaría mudarse?",
            "Wanneer wil je verhuizen?",
        ],
    ),
    (
        FixedText::AskService,
        [
            "What can we help you with: which service are you looking for?",
            "Wobei können wir Ihnen helfen: Welche Leistung suchen Sie?",
            "En quoi pouvons-nous vous aider : quel service recherchez-vous ?",
            "¿En qué podemos ayudarle: qué servicio busca?",
            "Waarmee kunnen we je helpen: welke dienst zoek je?",
        ],
    ),
    (
        FixedText::AskProjectTimeline,
        [
            "When would you like this to be done?",
            "Bis wann soll es erledigt sein?",
            "Pour quand en auriez-vous besoin ?",
            "¿Para cuándo lo necesita?",
            "Wanneer wil je dat het klaar is?",
        ],
    ),
    (
        FixedText::AskCompanyName,
        [
            "What is the name of your company?",
            "Wie heißt Ihr Unternehmen?",
            "Quel est le nom de votre entreprise ?",
            "¿Cómo se llama su empresa?",
            "Hoe heet je bedrijf?",
        ],
    ),
];

/// The question that asks for a missing profile field (see
/// [`ClientType::next_missing_field`](crate::ClientType::next_missing_field)), if it has one.
pub fn profile_ask(client_type: crate::ClientType, field: &str) -> Option<FixedText> {
    Some(match field {
        "timeline" if client_type == crate::ClientType::BusinessOwner => FixedText::AskProjectTimeline,
        "intent" => FixedText::AskIntent,
        "location" => FixedText::AskLocation,
        "budget_min" | "budget_max" => FixedText::AskBudget,
        "property_type" => FixedText::AskPropertyType,
        "bedrooms" => FixedText::AskBedrooms,
        "timeline" => FixedText::AskMoveTimeline,
        "service" => FixedText::AskService,
        "company_name" => FixedText::AskCompanyName,
        _ => return None,
    })
}

/// The fixed text `text` in `lang` (English when `None` or not in the table), with `{company}`
/// and `{name}` filled in. The values are inserted in one pass: a company name that contains
/// `{name}` stays as written.
pub fn fixed_text(lang: Option<Lang>, text: FixedText, company: &str, name: &str) -> String {
    let column = lang.and_then(|l| COLUMNS.iter().position(|c| *c == l)).unwrap_or(0);
    let template = TABLE
        .iter()
        .find(|(t, _)| *t == text)
        .and_then(|(_, row)| row.get(column))
        .copied()
        .unwrap_or_default();
    let mut out = String::with_capacity(template.len() + company.len() + name.len());
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        let (before, tail) = rest.split_at(i);
        out.push_str(before);
        if let Some(t) = tail.strip_prefix("{company}") {
            out.push_str(company);
            rest = t;
        } else if let Some(t) = tail.strip_prefix("{name}") {
            out.push_str(name);
            rest = t;
        } else {
            out.push('{');
            rest = tail.get(1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [FixedText; 18] = [
        FixedText::Refusal,
        FixedText::NoInformation,
        FixedText::OurTeam,
        FixedText::Welcome,
        FixedText::ContactAskAll,
        FixedText::ContactAskName,
        FixedText::ContactAskReach,
        FixedText::Thanks,
        FixedText::LeadReady,
        FixedText::AskIntent,
        FixedText::AskLocation,
        FixedText::AskBudget,
        FixedText::AskPropertyType,
        FixedText::AskBedrooms,
        FixedText::AskMoveTimeline,
        FixedText::AskService,
        FixedText::AskProjectTimeline,
        FixedText::AskCompanyName,
    ];

    #[test]
    fn every_text_has_every_language_and_the_same_placeholders() {
        for t in ALL {
            let row = TABLE.iter().filter(|(x, _)| *x == t).collect::<Vec<_>>();
            assert_eq!(row.len(), 1, "{t:?} once in the table");
            let english = row[0].1[0];
            for s in row[0].1 {
                assert!(!s.trim().is_empty(), "{t:?}");
                for p in ["{company}", "{name}"] {
                    assert_eq!(s.contains(p), english.contains(p), "{t:?}: {s}");
                }
            }
        }
    }

    #[test]
    fn texts_are_filled_in_once_in_the_visitor_language() {
        let r = fixed_text(Some(Lang::Dutch), FixedText::Refusal, "Demo Shop", "");
        assert!(r.starts_with("Sorry, ik kan alleen vragen over Demo Shop"), "{r}");
        let r = fixed_text(Some(Lang::Swedish), FixedText::Refusal, "Demo Shop", "");
        assert!(r.starts_with("I'm sorry, I can only help with questions about Demo Shop."), "{r}");
        assert_eq!(fixed_text(None, FixedText::Thanks, "", ""), "Thank you!");
        // Every field a client type asks for next has its question, per type.
        use crate::ClientType;
        for t in [ClientType::Realtor, ClientType::BusinessOwner] {
            let mut profile = serde_json::Map::new();
            while let Some(f) = t.next_missing_field(&profile) {
                assert!(profile_ask(t, f).is_some(), "{t}: {f}");
                profile.insert(f.into(), serde_json::json!("x"));
            }
        }
        assert_eq!(profile_ask(ClientType::Realtor, "timeline"), Some(FixedText::AskMoveTimeline));
        assert_eq!(profile_ask(ClientType::BusinessOwner, "timeline"), Some(FixedText::AskProjectTimeline));
        let q = fixed_text(Some(Lang::Dutch), FixedText::AskIntent, "", "");
        assert_eq!(q, "Wil je kopen, huren of verkopen?");
        // A name with placeholders in it is inserted as written.
        let r = fixed_text(Some(Lang::German), FixedText::LeadReady, "{name} GmbH", "Jo {company}");
        assert_eq!(
            r,
            "Danke, Jo {company}! Wir haben Ihre Kontaktdaten, und jemand von {name} GmbH meldet sich bald bei Ihnen."
        );
    }
}
