//! Sitemaps: `<loc>` entries of sitemaps and sitemap indexes, read before following links.

use std::collections::{HashSet, VecDeque};
use std::sync::LazyLock;

use regex::Regex;
use url::Url;

use super::fetch::Ctx;
use crate::ingest::extract;

static LOC: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?is)<(?:\w+:)?loc>\s*(?:<!\[CDATA\[)?\s*(.*?)\s*(?:\]\]>)?\s*</(?:\w+:)?loc>").ok()
});

/// Sitemap files read per crawl (indexes included).
const MAX_SITEMAPS: usize = 100;
/// Largest sitemap file read (the protocol's limit is 50 MB uncompressed).
const MAX_SITEMAP_BYTES: u64 = 50 * 1024 * 1024;

/// The `<loc>` entries of a sitemap, and whether it is a sitemap index.
pub fn parse_sitemap(xml: &str) -> (bool, Vec<String>) {
    (is_index(xml), locs(xml).collect())
}

fn is_index(xml: &str) -> bool {
    xml.contains("<sitemapindex") || xml.contains(":sitemapindex")
}

/// The `<loc>` entries, one at a time (a caller that stops early never holds the rest).
fn locs(xml: &str) -> impl Iterator<Item = String> + '_ {
    LOC.iter()
        .flat_map(move |re| re.captures_iter(xml))
        .filter_map(|c| c.get(1))
        .map(|m| unescape(m.as_str()))
}

/// XML's five named entities and character references, decoded in one pass (so `&amp;lt;`
/// stays `&lt;`); anything else is kept as written.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let entity = rest.find(';').filter(|&e| e <= 12).map(|e| (&rest[1..e], e));
        let decoded = entity.and_then(|(name, e)| {
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Page URLs from the site's sitemaps (robots.txt's, else /sitemap.xml), following indexes:
/// at most `max` distinct pages and [`MAX_SITEMAPS`] files. The flag is true when entries were
/// dropped for those limits (the crawl is then not complete).
pub(super) async fn load_sitemaps(ctx: &Ctx, max: usize) -> (Vec<Url>, bool) {
    let mut todo: VecDeque<Url> = VecDeque::new();
    let mut cut = false;
    if let Some(r) = &ctx.robot {
        todo.extend(r.sitemaps.iter().filter_map(|s| Url::parse(s).ok()).take(MAX_SITEMAPS));
        cut = r.sitemaps.len() > MAX_SITEMAPS;
    }
    if todo.is_empty() {
        let mut u = ctx.site.start.clone();
        u.set_path("/sitemap.xml");
        u.set_query(None);
        todo.push_back(u);
    }
    // Sitemaps queued or read, by URL (each is read once).
    let mut seen: HashSet<String> = todo.iter().map(Url::to_string).collect();
    let mut pages = Vec::new();
    let mut page_keys = HashSet::new();
    let mut fetched = 0usize;
    while let Some(sm) = todo.pop_front() {
        if sm.host_str() != ctx.site.start.host_str() {
            continue;
        }
        fetched += 1;
        let f = match ctx.fetch(&sm, None, MAX_SITEMAP_BYTES, false).await {
            Ok(f) if (200..300).contains(&f.status) => f,
            Ok(_) | Err(_) => continue,
        };
        let xml = extract::decode_text(&f.body);
        drop(f);
        let index = is_index(&xml);
        for loc in locs(&xml) {
            let Ok(mut u) = Url::parse(&loc) else { continue };
            u.set_fragment(None);
            if index {
                // Only as many sitemaps as may still be read are queued.
                if seen.contains(u.as_str()) {
                    continue;
                }
                if todo.len() + fetched < MAX_SITEMAPS {
                    seen.insert(u.to_string());
                    todo.push_back(u);
                } else {
                    cut = true;
                }
            } else if ctx.site.in_scope(&u) && !page_keys.contains(&super::dedup_key(&u)) {
                if pages.len() >= max {
                    cut = true;
                    break;
                }
                page_keys.insert(super::dedup_key(&u));
                pages.push(u);
            }
        }
    }
    (pages, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemaps_parse() {
        let xml = r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <url><loc> http://h/a?x=1&amp;y=2 </loc></url><url><loc><![CDATA[http://h/b]]></loc></url></urlset>"#;
        let (idx, locs) = parse_sitemap(xml);
        assert!(!idx);
        assert_eq!(locs, vec!["http://h/a?x=1&y=2", "http://h/b"]);
        let (idx, locs) =
            parse_sitemap("<sitemapindex><sitemap><loc>http://h/s1.xml</loc></sitemap></sitemapindex>");
        assert!(idx);
        assert_eq!(locs, vec!["http://h/s1.xml"]);
    }

    #[test]
    fn entities_are_decoded_once() {
        assert_eq!(unescape("a&amp;lt;b&lt;&#38;&#x41;&bogus;&"), "a&lt;b<&A&bogus;&");
        assert_eq!(unescape("&#xD800;&#99999999999;&;&amp"), "&#xD800;&#99999999999;&;&amp");
        assert_eq!(unescape("ẞ&amp;\u{212A}"), "ẞ&\u{212A}");
    }
}
