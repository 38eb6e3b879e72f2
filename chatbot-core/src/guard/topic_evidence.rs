//! Evidence that a message is about the business, and the shape of a request that needs it.
//!
//! The subject patterns of `topic_patterns` only know the subjects someone wrote down; a new
//! subject ("how often should I water a cactus?") slips through them. This module adds the
//! converse rule, for the languages whose vocabulary it carries (English, German, French,
//! Spanish, Dutch): a general-knowledge question ("how/what/why/who ...") or a generic task
//! ("summarise ...", "write ...") with no sign at all of the business is off-topic. Signs of
//! the business are deliberately broad, so that a visitor asking in their own language about
//! something the (English) knowledge covers is never refused:
//! - the vocabulary of any customer's question to any business (ordering, delivery, returns,
//!   prices, payment, opening hours, contact, stock, accounts, appointments...), by stem;
//! - the visitor addressing the business ("do you", "your", "habt ihr", "vos", "tenéis",
//!   "jullie", ...);
//! - the knowledge itself (retrieval found something), the company's allowed topics.
//!
//! Yes/no questions ("Is the teapot dishwasher safe?", "Ist das spülmaschinenfest?") are never
//! refused by this rule: they are how visitors ask about products whose names the knowledge
//! spells in another language.

use std::sync::LazyLock;

use regex::Regex;

use crate::text::{Lang, built_in_regex};

/// Languages whose business vocabulary and question shapes are below; the rule does not apply
/// to messages detected in any other language.
/// A short message whose language is unsure counts as covered: the question words the rule
/// looks for are themselves words of these languages.
pub(super) fn covers(lang: Option<Lang>) -> bool {
    matches!(lang, None | Some(Lang::English | Lang::German | Lang::French | Lang::Spanish | Lang::Dutch))
}

/// Stems of words visitors use when asking a business anything (matched as word prefixes of the
/// lower-cased message).
static BUSINESS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    #[rustfmt::skip]
    let stems = [
        // English.
        "order", "ship", "deliver", "return", "refund", "exchang", "price", "pricing", "cost",
        "pay\\b", "paying", "payment", "paid", "paypal", "buy", "bought", "purchas", "product",
        "stock", "availab", "store", "shop", "open", "clos", "hours", "contact", "phone", "call",
        "e-?mail", "address", "locat", "warrant", "guarant", "discount", "coupon", "voucher",
        "gift", "wrap", "sale", "sell", "sold", "size", "colou?r", "material", "track", "parcel",
        "packag", "invoice", "receipt", "account", "subscri", "cancel", "appointment", "booking",
        "reserv", "quote", "estimate", "offer", "service", "support", "customer", "wholesale",
        "bulk", "item", "catalog", "brand", "quality", "pick ?up", "collect", "courier", "postage",
        "tax(es)?\\b", "vat\\b", "fees?\\b", "charge", "euros?\\b", "dollar", "free\\b", "cheap",
        "expensive", "damag", "broken", "defect", "replac", "visit", "website", "newsletter",
        "loyalty", "member", "login", "log in", "password reset", "consult", "trial", "demo",
        "afford", "money", "geld\\b", "argent", "dinero", "wait", "warte", "attend", "esper",
        "wacht",
        // How big, heavy, made of what: a product's attributes, in every language below.
        "big\\b", "large", "small", "tall\\b", "wide\\b", "heavy", "weigh", "made of", "groß",
        "klein", "schwer\\b", "wiegt", "gewicht", "hoch\\b", "breit\\b", "gemacht aus", "grand\\b",
        "grande?s?\\b", "petit", "lourd", "pèse", "poids", "fait en", "pequeñ", "pesa\\b",
        "peso\\b", "hecho de", "groot", "grootte", "zwaar", "weegt", "gewicht", "hoog\\b",
        "breed\\b", "gemaakt van", "thick", "thin\\b", "long\\b", "deep\\b", "height", "width",
        "depth", "length", "volume", "capacity", "washable", "waterproof", "durable", "dick\\b",
        "dünn", "lang\\b", "tief\\b", "höhe", "breite", "länge", "tiefe", "fassungsvermögen",
        "waschbar", "wasserdicht", "haltbar", "épais", "mince", "long(ue)?\\b", "profond",
        "hauteur", "largeur", "longueur", "contenance", "capacité", "lavable", "imperméable",
        "résistant", "grosor", "grueso", "delgad", "largo", "profund", "altura", "anchura",
        "ancho\\b", "longitud", "capacidad", "lavable", "impermeable", "resistente", "dik\\b",
        "dun\\b", "lengte", "breedte", "hoogte", "diepte", "inhoud", "wasbaar", "waterdicht",
        "stevig",
        // German.
        "bestell", "liefer", "versand", "versend", "verschick", "schick", "zurück", "rückgab",
        "rücksend", "umtausch", "tausch", "erstatt", "preis", "kost", "bezahl", "zahl", "kauf",
        "produkt", "artikel", "ware", "lager", "vorrätig", "verfügbar", "laden", "geschäft",
        "filiale", "öffnungszeit", "geöffnet", "offen", "schließ", "geschlossen", "kontakt",
        "telefon", "anruf", "anrufen", "adresse", "garantie", "rabatt", "gutschein", "geschenk",
        "verpack", "größe", "farbe", "sendung", "paket", "rechnung", "quittung", "konto", "abo",
        "storn", "termin", "kunden", "großhandel", "verkauf", "katalog", "marke", "qualität",
        "abhol", "porto", "gebühr", "gratis", "kostenlos", "günstig", "teuer", "beschädigt",
        "kaputt", "defekt", "ersatz", "angebot", "webseite", "besuch", "reservier",
        // French.
        "command", "livr", "expédi", "envoi", "envoy", "retour", "retourn", "rembours", "échang",
        "prix", "coût", "coute", "coûte", "paie", "paye", "payer", "paiement", "achet", "achat",
        "produit", "article", "disponib", "magasin", "boutique", "ouvert", "ouvr", "ferm",
        "horaire", "heures?\\b", "téléphon", "appel", "courriel", "adresse", "garanti", "réduction",
        "remise", "promo", "bon d'achat", "carte cadeau", "cadeau", "emball", "taille", "couleur",
        "matière", "suivi", "colis", "paquet", "factur", "reçu", "compte", "abonn", "annul",
        "rendez-vous", "client", "vend", "vente", "marque", "qualité", "retrait", "récupér",
        "frais", "tarif", "gratuit", "cher\\b", "chère", "abîm", "cassé", "endommag", "défectu",
        "remplac", "offre", "site",
        // Spanish.
        "pedid", "pedir", "envi(o|os|ar|an|as|amos|áis|ado|í|ía)\\b", "envío", "vend", "entreg",
        "devol", "devuelv", "reembols", "cambi", "precio", "cuesta", "cuestan",
        "pag(o|os|ar|a|an|as|ue|uen|ado|ué)\\b", "compr(a|ar|as|an|o|é|ó|ado|amos|é)\\b",
        "producto", "artículo", "existencia", "tienda", "abiert", "abr(e|en|ís|ir|imos)\\b",
        "cierr", "cerr", "horario", "hora", "teléfon", "llam(ar|o|ad|e|en)\\b", "llamada", "correo",
        "dirección", "garantía", "descuento", "cupón", "vale", "tarjeta", "regalo", "envolver",
        "talla", "tamaño", "seguimiento", "paquete", "factura", "recibo", "cuenta", "suscrip",
        "cancel", "anul", "cita", "atención", "servicio", "mayorista", "venta", "catálogo", "marca",
        "calidad", "recog", "gastos", "gratis", "caro\\b", "barato", "roto", "rota", "dañad",
        "defectu", "reemplaz", "sustitu", "oferta", "web", "reserv",
        // Dutch.
        "bestel", "lever", "verzend", "verzond", "verstuur", "stuur", "stur", "gestuurd", "retour",
        "terug te", "terugstu", "terugbeta", "geld terug", "ruil", "prijs", "prijz", "kost",
        "betal", "koop", "kopen", "gekocht", "voorraad", "beschikbaar", "winkel", "zaak", "webshop",
        "geopend", "gesloten", "sluit", "openingstijd", "telefo", "bellen", "gebeld", "adres",
        "korting", "cadeau", "inpak", "maat", "maten", "kleur", "materiaal", "pakket", "pakje",
        "factuur", "abonnement", "afspraak", "klant", "groothandel", "verkoop", "verkop",
        "catalogus", "merk", "kwaliteit", "ophal", "tarief", "duur", "goedkoop", "beschadigd",
        "kapot", "vervang", "aanbieding", "bezoek",
    ];
    built_in_regex(&format!(r"\b({})", stems.join("|")))
});

/// The visitor addressing the business ("do you ...", "your ...") in the five languages.
static ADDRESS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(concat!(
        r"\b(do|does|did|can|could|will|would|are|were|have|is) (you|u)\b|\byour\b|\byou (have|sell|ship|offer|do|make|accept|deliver|open|close)\b",
        r"|\b(habt|seid|könnt|macht|bietet|liefert|verkauft|versendet|verschickt|nehmt|akzeptiert|öffnet|schließt) ihr\b|\beuer\w*\b|\bbei euch\b",
        r"|\b(haben|sind|können|bieten|liefern|verkaufen|versenden|verschicken|nehmen|akzeptieren|öffnen|schließen) sie\b|\bbei ihnen\b",
        r"|\bvous\b|\bvotre\b|\bvos\b|\bchez vous\b",
        r"|\b(tenéis|hacéis|aceptáis|vendéis|enviáis|abrís|cerráis|ofrecéis|podéis)\b|\bvuestr\w+\b|\busted(es)?\b",
        r"|\bjullie\b|\buw\b|\bbij jullie\b|\bbij u\b",
    ))
});

/// A general-knowledge question ("how/what/why/who/when/which/where ... ?") or a generic task
/// (an imperative at the start), in the five languages. Yes/no questions are not in here.
static OPEN_REQUEST: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(concat!(
        r"^\W*(please\W+)?(how|what|what's|whats|why|who|whom|whose|when|which|where)\b",
        r"|^\W*(please\W+)?(write|summari[sz]e|compose|draft|create|generate|make|list|describe|explain|tell|give|help|recommend|suggest|plan|find|calculate|convert|name|teach|show)\b",
        r"|^\W*(wie|was|warum|wieso|weshalb|wer|wem|wen|wessen|wann|welche[rsmn]?|wo|woher|wohin)\b",
        r"|^\W*(bitte\W+)?(schreib|schreibe|fasse|fass|erstelle|erstell|mach|mache|erkläre|erklär|beschreibe|beschreib|nenne|nenn|gib|hilf|empfiehl|plane|finde|berechne|zeig|zeige|lehre|erzähl|erzähle)\b",
        r"|^\W*(comment|pourquoi|qui|quand|quel(le)?s?|que|qu'|où|combien de temps faut-il|tous les combien|à quelle fréquence)\b",
        r"|^\W*(écris|écrivez|résume|résumez|rédige|rédigez|crée|créez|fais|faites|explique|expliquez|décris|décrivez|donne|donnez|aide|aidez|conseille|conseillez|recommande|recommandez|propose|proposez|trouve|trouvez|calcule|calculez|cite|citez|apprends|montre|montrez|raconte|racontez)\b",
        r"|^\W*¿?\W*(cómo|como|qué|que|por qué|porque|quién|quien|quiénes|cuándo|cuando|cuál|cual|cuáles|dónde|donde|cada cuánto)\b",
        r"|^\W*¿?\W*(escribe|escríbeme|resume|resúmeme|redacta|crea|haz|hazme|explica|explícame|describe|dame|dime|ayúdame|ayuda|recomienda|recomiéndame|sugiere|planifica|encuentra|calcula|nombra|enséñame|muestra|cuéntame)\b",
        r"|^\W*(hoe|wat|waarom|wie|wanneer|welke?|waar|waarheen)\b",
        r"|^\W*(schrijf|vat|maak|leg|beschrijf|geef|help|raad|stel|plan|vind|bereken|noem|leer|toon|vertel)\b",
    ))
});

/// A generic writing task at the start of the message ("write ...", "summarise ..."): a task
/// whatever its subject, unless the knowledge is clearly relevant.
static GENERATIVE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    built_in_regex(concat!(
        r"^\W*(please\W+)?(can you\W+|could you\W+)?(write|compose|draft|summari[sz]e|paraphrase|rewrite)\b",
        r"|^\W*(bitte\W+)?(schreib|schreibe|verfasse|fasse|fass)\b",
        r"|^\W*(écris|écrivez|rédige|rédigez|résume|résumez)\b",
        r"|^\W*¿?\W*(escribe|escríbeme|redacta|redáctame|resume|resúmeme)\b",
        r"|^\W*(schrijf|vat)\b",
    ))
});

/// Whether the message starts with a generic writing task.
pub(super) fn generative_task(lower: &str) -> bool {
    GENERATIVE.as_ref().is_some_and(|r| r.is_match(lower))
}

/// Whether the message carries any sign of the business: its vocabulary or the visitor
/// addressing it. `lower` is the normalised, lower-cased message.
pub(super) fn business_signs(lower: &str) -> bool {
    BUSINESS.as_ref().is_some_and(|r| r.is_match(lower))
        || ADDRESS.as_ref().is_some_and(|r| r.is_match(lower))
}

/// Whether the visitor both addresses the business and uses its vocabulary ("¿Dónde está
/// vuestra tienda?"): strong enough to overrule a subject pattern ("física").
pub(super) fn addresses_business(lower: &str) -> bool {
    BUSINESS.as_ref().is_some_and(|r| r.is_match(lower))
        && ADDRESS.as_ref().is_some_and(|r| r.is_match(lower))
}

/// Whether the message is an open question or a generic task (the shapes a general-knowledge
/// request takes).
pub(super) fn open_request(lower: &str) -> bool {
    OPEN_REQUEST.as_ref().is_some_and(|r| r.is_match(lower))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize_message;

    #[test]
    fn patterns_compile() {
        assert!(BUSINESS.is_some() && ADDRESS.is_some() && OPEN_REQUEST.is_some() && GENERATIVE.is_some());
    }

    #[test]
    fn business_signs_in_five_languages() {
        for m in [
            "How long does delivery take?",
            "Wie lange dauert der Versand?",
            "Combien coûte la livraison ?",
            "¿Cuánto tarda el envío?",
            "Hoe lang duurt het verzenden?",
            "What do you sell?",
            "Was habt ihr im Angebot?",
            "Que proposez-vous ?",
            "¿Qué tenéis?",
            "Wat hebben jullie?",
        ] {
            assert!(business_signs(&normalize_message(m)), "{m}");
        }
        for m in ["How often should I water a cactus?", "Why is the sky blue?", "Summarize Hamlet"] {
            assert!(!business_signs(&normalize_message(m)), "{m}");
        }
    }

    #[test]
    fn open_requests_and_yes_no_questions() {
        for m in [
            "How often should I water a cactus?",
            "Wie oft gieße ich?",
            "¿Cómo se hace?",
            "Schrijf een brief",
        ] {
            assert!(open_request(&normalize_message(m)), "{m}");
        }
        for m in ["Is the teapot dishwasher safe?", "Ist das spülmaschinenfest?", "Zijn de mokken groen?"] {
            assert!(!open_request(&normalize_message(m)), "{m}");
        }
    }
}
