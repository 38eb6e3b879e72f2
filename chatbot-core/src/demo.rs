//! The seed's "test data for company_id '123'": a demo shop with settings, keys and a small
//! knowledge base, so search and chat answer at once.

use serde::Serialize;

use crate::auth::KeyKind;
use crate::chatbot::Chatbot;
use crate::error::{Error, Result};
use crate::ingest::index::NewChunk;
use crate::tenant::{NewCompany, WidgetSettingsPatch};

pub const DEMO_COMPANY_ID: &str = "123";
pub const DEMO_COMPANY_NAME: &str = "Demo Shop";

/// The demo company's suggested questions (the widget shows them as chips).
pub const DEMO_SUGGESTED_QUESTIONS: &[&str] =
    &["What are your opening hours?", "Do you ship abroad?", "How do returns work?"];

/// The demo knowledge base: (source, title, text).
pub const DEMO_PAGES: &[(&str, &str, &str)] = &[
    (
        "https://demo-shop.example/opening-hours",
        "Opening hours",
        "Our store in Amsterdam is open Monday to Friday from 9:00 to 18:00 and on Saturday from 10:00 to 17:00. We are closed on Sundays and public holidays. Customer service answers phone calls and e-mails on weekdays from 9:00 to 17:00.",
    ),
    (
        "https://demo-shop.example/shipping",
        "Shipping and delivery",
        "We ship to the Netherlands, Belgium, Germany, France and the rest of the European Union. Orders placed before 15:00 on a weekday are shipped the same day. Delivery in the Netherlands takes 1 to 2 business days; elsewhere in the EU 3 to 5 business days. Shipping is free for orders over 50 euros; below that it costs 4.95 euros. We do not ship outside the European Union. Every order gets a tracking code by e-mail.",
    ),
    (
        "https://demo-shop.example/returns",
        "Returns and refunds",
        "You can return any item within 30 days of delivery, unused and in its original packaging. Start a return from your account or by e-mailing support@demo-shop.example with your order number. Return shipping is free in the Netherlands. We refund the purchase price within 14 days after we receive the item, to the original payment method. Personalised items and gift cards cannot be returned.",
    ),
    (
        "https://demo-shop.example/products",
        "Products",
        "Demo Shop sells handmade ceramic mugs, teapots and plates, organic cotton kitchen towels and loose-leaf teas. Our best seller is the Stoneware Mug (350 ml, 24 euros), available in blue, green and sand. Teapots hold 1 litre and cost 59 euros. All ceramics are dishwasher and microwave safe. Gift wrapping is available for 3 euros per order.",
    ),
    (
        "https://demo-shop.example/orders",
        "Orders and payment",
        "You can pay with iDEAL, credit card (Visa, Mastercard), PayPal and Klarna. To change or cancel an order, contact customer service within 2 hours of ordering; after that the order is packed. If your order arrived damaged, send a photo and your order number to support@demo-shop.example and we will send a replacement free of charge. Track your order with the link in your shipping e-mail.",
    ),
    (
        "https://demo-shop.example/contact",
        "Contact",
        "E-mail support@demo-shop.example or call +31 20 123 4567 on weekdays from 9:00 to 17:00. Our store address is Keizersgracht 123, Amsterdam. For wholesale and business orders, e-mail sales@demo-shop.example.",
    ),
];

/// What seeding did.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSeed {
    pub company_id: String,
    /// False when the company already existed (seeding again is harmless).
    pub created: bool,
    /// Keys issued now (only on creation), shown once.
    pub publishable_key: Option<String>,
    pub secret_key: Option<String>,
    /// Knowledge chunks indexed (deterministic ids: re-seeding never duplicates).
    pub chunks: usize,
}

impl Chatbot {
    /// Seed the demo company `123` (Demo Shop: its keys and a small knowledge base). Idempotent.
    ///
    /// # Errors
    /// Storage, embedder or vector store failures.
    pub async fn seed_demo(&self) -> Result<DemoSeed> {
        seed(self).await
    }
}

/// Seed company `123`. Idempotent.
async fn seed(bot: &Chatbot) -> Result<DemoSeed> {
    let created = match bot
        .create_company(NewCompany {
            company_id: DEMO_COMPANY_ID.into(),
            company_name: DEMO_COMPANY_NAME.into(),
            email: "hello@demo-shop.example".into(),
            phone: Some("+31 20 123 4567".into()),
            website: Some("https://demo-shop.example".into()),
            ..NewCompany::default()
        })
        .await
    {
        Ok(_) => true,
        Err(Error::Conflict(_)) => false,
        Err(e) => return Err(e),
    };
    let ctx = bot.operator_context(DEMO_COMPANY_ID).await?;
    let (mut pk, mut sk) = (None, None);
    if created {
        pk = Some(bot.create_key(&ctx, KeyKind::Publishable).await?.token);
        sk = Some(bot.create_key(&ctx, KeyKind::Secret).await?.token);
    }
    // The suggested questions, unless the company has some (an owner's own list stays).
    if bot.widget_settings(&ctx).await?.suggested_questions.is_empty() {
        let patch = WidgetSettingsPatch {
            suggested_questions: Some(DEMO_SUGGESTED_QUESTIONS.iter().map(|q| (*q).to_string()).collect()),
            ..WidgetSettingsPatch::default()
        };
        bot.update_widget_settings(&ctx, &patch).await?;
    }
    let chunks: Vec<NewChunk> = DEMO_PAGES
        .iter()
        .flat_map(|(source, title, text)| {
            split_sentences_into_chunks(text, 2).into_iter().enumerate().map(move |(i, t)| NewChunk {
                source: (*source).to_string(),
                title: Some((*title).to_string()),
                position: i,
                text: format!("{title}. {t}"),
                headings: Vec::new(),
            })
        })
        .collect();
    let ids = bot.index_chunks(&ctx, &chunks).await?;
    Ok(DemoSeed {
        company_id: DEMO_COMPANY_ID.into(),
        created,
        publishable_key: pk,
        secret_key: sk,
        chunks: ids.len(),
    })
}

/// Group sentences `per` at a time (the demo pages are short; real ingest uses text-splitter).
fn split_sentences_into_chunks(text: &str, per: usize) -> Vec<String> {
    let sentences: Vec<&str> = text.split_inclusive(". ").map(str::trim).filter(|s| !s.is_empty()).collect();
    sentences.chunks(per.max(1)).map(|c| c.join(" ")).collect()
}
