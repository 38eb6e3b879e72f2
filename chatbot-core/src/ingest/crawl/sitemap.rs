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

/// The `<loc>` entries of a sitemap, and whether it is a sitemap index.
pub fn parse_sitemap(xml: &str) -> (bool, Vec<String>) {
    let is_index = xml.contains("<sitemapindex") || xml.contains(":sitemapindex");
    let Some(re) = LOC.as_ref() else { return (is_index, Vec::new()) };
    let locs = re
        .captures_iter(xml)
        .filter_map(|c| c.get(1))
        .map(|m| {
            m.as_str()
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
        })
        .collect();
    (is_index, locs)
}

/// Page URLs from the site's sitemaps (robots.txt's, else /sitemap.xml), following indexes.
pub(super) async fn load_sitemaps(ctx: &Ctx) -> Vec<Url> {
    let mut todo: VecDeque<Url> = VecDeque::new();
    if let Some(r) = &ctx.robot {
        todo.extend(r.sitemaps.iter().filter_map(|s| Url::parse(s).ok()));
    }
    if todo.is_empty() {
        let mut u = ctx.site.start.clone();
        u.set_path("/sitemap.xml");
        u.set_query(None);
        todo.push_back(u);
    }
    let mut pages = Vec::new();
    let mut fetched = 0usize;
    let mut seen = HashSet::new();
    while let Some(sm) = todo.pop_front() {
        if fetched >= 100 || !seen.insert(sm.to_string()) || sm.host_str() != ctx.site.start.host_str() {
            continue;
        }
        fetched += 1;
        let f = match ctx.fetch(&sm, None, 50 * 1024 * 1024, false).await {
            Ok(f) if (200..300).contains(&f.status) => f,
            Ok(_) | Err(_) => continue,
        };
        let (is_index, locs) = parse_sitemap(&extract::decode_text(&f.body));
        for loc in locs {
            let Ok(mut u) = Url::parse(&loc) else { continue };
            u.set_fragment(None);
            if is_index {
                todo.push_back(u);
            } else if ctx.site.in_scope(&u) {
                pages.push(u);
            }
        }
    }
    pages
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
}
