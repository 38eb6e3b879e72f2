//! HTML to clean main text (Markdown-flavoured: headings, lists and tables kept as text), with
//! the page's title, canonical URL, links and robots directives. Synchronous and on owned data
//! (scraper's `Html` is not `Send`): callers run it inside `spawn_blocking`.

use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Node, Selector};
use url::Url;

use super::sections::{HeadingMark, Section, clean_heading, split_at_headings};

/// What [`html_to_text`] found in a page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HtmlPage {
    /// `<title>`, else the first `<h1>`.
    pub title: Option<String>,
    /// The main text, Markdown-flavoured.
    pub text: String,
    /// `<link rel="canonical">`, resolved against the page URL.
    pub canonical: Option<Url>,
    /// Every `<a href>` (and `<area href>`), resolved, fragments removed, http(s) only.
    pub links: Vec<Url>,
    /// `<meta name="robots" content="noindex">`.
    pub noindex: bool,
    /// `<meta name="robots" content="nofollow">`.
    pub nofollow: bool,
    /// The main text cut at its `h1`-`h6` headings: each part with the path of the headings
    /// above it (a heading's text is its path element). Joined, the parts hold all of `text`.
    pub sections: Vec<Section>,
}

/// Elements whose whole subtree is boilerplate or not text.
fn is_dropped_tag(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "nav"
            | "header"
            | "footer"
            | "aside"
            | "form"
            | "iframe"
            | "svg"
            | "canvas"
            | "button"
            | "select"
            | "textarea"
            | "input"
            | "object"
            | "embed"
            | "video"
            | "audio"
            | "map"
            | "dialog"
            | "head"
    )
}

fn is_block_tag(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "body"
            | "blockquote"
            | "address"
            | "figure"
            | "figcaption"
            | "details"
            | "summary"
            | "dl"
            | "dt"
            | "dd"
            | "ul"
            | "ol"
            | "table"
            | "caption"
            | "thead"
            | "tbody"
            | "tfoot"
            | "center"
            | "fieldset"
            | "legend"
            | "hgroup"
    )
}

/// Class or id tokens that mark navigation, cookie banners and other chrome.
static BOILERPLATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(nav|navbar|navheader|navfooter|navigation|navigation-bar|menu|menubar|main-menu|sidebar|sphinxsidebar|sphinxsidebarwrapper|breadcrumb|breadcrumbs|skip-link|skiplink|skip-to-content|related|footer|site-footer|site-header|masthead|toc-sidebar|share|sharing|social|social-links|advert|advertisement|ads|ad-banner|newsletter|popup|modal|pagination|pager|visually-hidden|sr-only|screen-reader-text)$|^(cookie|cookies|consent|gdpr|cc)([-_]?(banner|bar|notice|notification|consent|law|popup|modal|dialog|window|wrapper|container|message|overlay|settings|preferences))*$",
    )
    .ok()
});

fn is_boilerplate_element(el: &scraper::node::Element) -> bool {
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return true;
    }
    if let Some(role) = el.attr("role")
        && matches!(role, "navigation" | "banner" | "contentinfo" | "search" | "complementary" | "dialog")
    {
        return true;
    }
    if let Some(style) = el.attr("style") {
        let s: String = style.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return true;
        }
    }
    let Some(re) = BOILERPLATE.as_ref() else { return false };
    if let Some(id) = el.id()
        && re.is_match(id)
    {
        return true;
    }
    el.classes().any(|c| re.is_match(c))
}

/// Accumulates text with collapsed whitespace and paragraph breaks.
struct Out {
    buf: String,
    /// A space is owed before the next word.
    space: bool,
    /// Newlines owed before the next text (0, 1 or 2).
    breaks: u8,
    /// Prefix owed at the start of the next line (list bullet, heading marks).
    prefix: String,
    /// Where each heading begins in `buf`, in order.
    marks: Vec<HeadingMark>,
}

impl Out {
    fn new() -> Self {
        Self {
            buf: String::with_capacity(16 * 1024),
            space: false,
            breaks: 0,
            prefix: String::new(),
            marks: Vec::new(),
        }
    }

    fn block(&mut self, n: u8) {
        if !self.buf.is_empty() {
            self.breaks = self.breaks.max(n);
        }
        self.space = false;
    }

    fn flush_pending(&mut self) {
        if self.breaks > 0 {
            for _ in 0..self.breaks {
                self.buf.push('\n');
            }
            self.breaks = 0;
            self.space = false;
        } else if self.space && !self.buf.is_empty() {
            self.buf.push(' ');
        }
        self.space = false;
        if !self.prefix.is_empty() {
            let p = std::mem::take(&mut self.prefix);
            self.buf.push_str(&p);
        }
    }

    fn text(&mut self, t: &str) {
        let mut first = true;
        for word in t.split_whitespace() {
            if first {
                if t.starts_with(char::is_whitespace) {
                    self.space = true;
                }
                first = false;
            } else {
                self.space = true;
            }
            self.flush_pending();
            self.buf.push_str(word);
        }
        if first {
            // Whitespace-only text.
            if !t.is_empty() {
                self.space = true;
            }
        } else if t.ends_with(char::is_whitespace) {
            self.space = true;
        }
    }

    fn raw(&mut self, t: &str) {
        if t.is_empty() {
            return;
        }
        self.flush_pending();
        self.buf.push_str(t);
    }

    /// The trimmed text and the heading marks, moved to match it.
    fn finish(self) -> (String, Vec<HeadingMark>) {
        let lead = self.buf.len() - self.buf.trim_start().len();
        let text = self.buf.trim().to_string();
        let mut marks = self.marks;
        for m in &mut marks {
            m.start = m.start.saturating_sub(lead).min(text.len());
        }
        (text, marks)
    }
}

struct Walker {
    out: Out,
    /// Nesting of lists, for indentation.
    list_depth: usize,
}

const MAX_DEPTH: usize = 512;

impl Walker {
    fn new() -> Self {
        Self { out: Out::new(), list_depth: 0 }
    }

    /// Record the heading whose line was written from `start` (nothing when it had no text).
    /// Headings nested inside it are dropped: the outer heading's text holds theirs.
    fn mark_heading(&mut self, start: usize, level: usize) {
        let marks = &mut self.out.marks;
        while marks.last().is_some_and(|m| m.start >= start) {
            marks.pop();
        }
        let Some(line) = self.out.buf.get(start..) else { return };
        let text = clean_heading(line.trim_start().trim_start_matches('#'));
        if !text.is_empty() {
            let level = u8::try_from(level).unwrap_or(6);
            marks.push(HeadingMark { start, level, text });
        }
    }

    fn walk(&mut self, el: ElementRef<'_>, depth: usize) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.out.text(t),
                Node::Element(_) => {
                    if let Some(c) = ElementRef::wrap(child) {
                        self.element(c, depth + 1);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, el: ElementRef<'_>, depth: usize) {
        let v = el.value();
        let name = v.name();
        if is_dropped_tag(name) || is_boilerplate_element(v) {
            return;
        }
        if depth > MAX_DEPTH {
            // Pathologically deep markup: keep the text, drop the structure.
            for t in el.text() {
                self.out.text(t);
            }
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = usize::from(name.as_bytes()[1].saturating_sub(b'0')).clamp(1, 6);
                self.out.block(2);
                self.out.prefix = format!("{} ", "#".repeat(level));
                let start = self.out.buf.len();
                self.walk(el, depth);
                self.out.prefix.clear();
                self.mark_heading(start, level);
                self.out.block(2);
            }
            "br" => self.out.block(1),
            "hr" => self.out.block(2),
            "li" => {
                self.out.block(1);
                self.out.prefix = format!("{}- ", "  ".repeat(self.list_depth.saturating_sub(1)));
                self.walk(el, depth);
                self.out.prefix.clear();
                self.out.block(1);
            }
            "ul" | "ol" | "menu" => {
                self.out.block(2);
                self.list_depth += 1;
                self.walk(el, depth);
                self.list_depth -= 1;
                self.out.block(2);
            }
            "pre" => {
                self.out.block(2);
                let text: String = el.text().collect();
                self.out.raw(text.trim_end());
                self.out.block(2);
            }
            "tr" => {
                self.out.block(1);
                let mut first = true;
                for cell in el.children().filter_map(ElementRef::wrap) {
                    let cname = cell.value().name();
                    if cname != "td" && cname != "th" {
                        continue;
                    }
                    if !first {
                        self.out.raw("|");
                        self.out.space = true;
                    }
                    first = false;
                    self.walk(cell, depth + 1);
                    self.out.space = true;
                }
                self.out.block(1);
            }
            "td" | "th" => {
                self.out.space = true;
                self.walk(el, depth);
                self.out.space = true;
            }
            "img" => {
                if let Some(alt) = v.attr("alt").map(str::trim).filter(|a| a.len() > 3) {
                    self.out.text(" ");
                    self.out.text(alt);
                    self.out.text(" ");
                }
            }
            n if is_block_tag(n) => {
                self.out.block(
                    if matches!(n, "p" | "blockquote" | "table" | "figure" | "section" | "article") {
                        2
                    } else {
                        1
                    },
                );
                self.walk(el, depth);
                self.out.block(
                    if matches!(n, "p" | "blockquote" | "table" | "figure" | "section" | "article") {
                        2
                    } else {
                        1
                    },
                );
            }
            _ => self.walk(el, depth),
        }
    }
}

static SEL_TITLE: LazyLock<Option<Selector>> = LazyLock::new(|| Selector::parse("title").ok());
static SEL_H1: LazyLock<Option<Selector>> = LazyLock::new(|| Selector::parse("h1").ok());
static SEL_LINK_META: LazyLock<Option<Selector>> =
    LazyLock::new(|| Selector::parse("link[rel], meta[name], base[href]").ok());
static SEL_A: LazyLock<Option<Selector>> = LazyLock::new(|| Selector::parse("a[href], area[href]").ok());
static SEL_BODY: LazyLock<Option<Selector>> = LazyLock::new(|| Selector::parse("body").ok());
static SEL_MAIN: LazyLock<Option<Selector>> =
    LazyLock::new(|| Selector::parse(r#"main, [role="main"], article"#).ok());

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Extract a page's main text, title, canonical URL and links.
///
/// The main content is `<main>` / `[role=main]` / a single `<article>` when the page has one
/// holding most of the text, else `<body>`; navigation, headers, footers, scripts, styles,
/// forms, hidden elements and cookie banners are dropped. `base` resolves relative links.
pub fn html_to_text(html: &str, base: Option<&Url>) -> HtmlPage {
    let doc = Html::parse_document(html);
    let mut page = HtmlPage::default();

    if let Some(sel) = SEL_TITLE.as_ref() {
        page.title =
            doc.select(sel).next().map(|t| collapse(&t.text().collect::<String>())).filter(|t| !t.is_empty());
    }
    let mut base = base.cloned();
    if let Some(sel) = SEL_LINK_META.as_ref() {
        for el in doc.select(sel) {
            let v = el.value();
            match v.name() {
                "base" => {
                    if let Some(b) = v.attr("href").and_then(|h| resolve(base.as_ref(), h)) {
                        base = Some(b);
                    }
                }
                "link" => {
                    let rel = v.attr("rel").unwrap_or_default();
                    if rel.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("canonical")) {
                        page.canonical = v.attr("href").and_then(|h| resolve(base.as_ref(), h));
                    }
                }
                "meta" if v.attr("name").is_some_and(|n| n.eq_ignore_ascii_case("robots")) => {
                    let c = v.attr("content").unwrap_or_default().to_ascii_lowercase();
                    page.noindex |= c.contains("noindex") || c.contains("none");
                    page.nofollow |= c.contains("nofollow") || c.contains("none");
                }
                _ => {}
            }
        }
    }
    if let Some(sel) = SEL_A.as_ref() {
        let mut seen = std::collections::HashSet::new();
        for a in doc.select(sel) {
            let v = a.value();
            if v.attr("rel")
                .is_some_and(|r| r.split_ascii_whitespace().any(|x| x.eq_ignore_ascii_case("nofollow")))
            {
                continue;
            }
            if let Some(u) = v.attr("href").and_then(|h| resolve(base.as_ref(), h))
                && seen.insert(u.as_str().to_string())
            {
                page.links.push(u);
            }
        }
    }

    let body = SEL_BODY.as_ref().and_then(|s| doc.select(s).next());
    let main = SEL_MAIN.as_ref().and_then(|s| {
        let found: Vec<ElementRef<'_>> = doc.select(s).collect();
        // The first <main>/[role=main] wins; an <article> only when it is the only one.
        found
            .iter()
            .find(|e| e.value().name() == "main" || e.value().attr("role") == Some("main"))
            .copied()
            .or_else(|| if found.len() == 1 { found.first().copied() } else { None })
    });
    let mut walker = Walker::new();
    if let Some(m) = main {
        walker.element(m, 0);
    }
    let (mut text, mut marks) = walker.out.finish();
    // A main element with little text (a wrapper around the real content elsewhere): use the body.
    if text.len() < 200
        && let Some(b) = body
    {
        let mut w = Walker::new();
        w.walk(b, 0);
        let (t, m) = w.out.finish();
        if t.len() > text.len() {
            (text, marks) = (t, m);
        }
    } else if main.is_none() {
        let root = body.unwrap_or_else(|| doc.root_element());
        let mut w = Walker::new();
        w.walk(root, 0);
        (text, marks) = w.out.finish();
    }
    page.sections = split_at_headings(&text, &marks);
    page.text = text;
    if page.title.is_none() {
        page.title = SEL_H1
            .as_ref()
            .and_then(|s| doc.select(s).next())
            .map(|h| collapse(&h.text().collect::<String>()))
            .filter(|t| !t.is_empty());
    }
    page
}

/// Resolve `href` against `base`: http(s) only, fragment removed.
pub fn resolve(base: Option<&Url>, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let mut u = match base {
        Some(b) => b.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    if u.scheme() != "http" && u.scheme() != "https" {
        return None;
    }
    u.set_fragment(None);
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_banners_go_but_content_about_cookies_stays() {
        let html = r#"<body><div id="cookie-consent">Accept all</div><div class="cc-window">We use cookies</div>
            <div class="section" id="module-http.cookies"><h1>http.cookies — HTTP state management</h1>
            <p>The module defines classes for abstracting the concept of cookies.</p></div>
            <div id="cookiejar-objects"><p>CookieJar objects support the iterator protocol.</p></div></body>"#;
        let t = html_to_text(html, None).text;
        assert!(!t.contains("Accept all") && !t.contains("We use cookies"), "{t}");
        assert!(t.contains("abstracting the concept of cookies"), "{t}");
        assert!(t.contains("CookieJar objects"), "{t}");
    }

    #[test]
    fn drops_chrome_keeps_structure() {
        let html = r#"<html><head><title> My  Page </title><style>p{}</style>
            <link rel="canonical" href="/canon/"><meta name="robots" content="nofollow"></head>
            <body><header>Site header</header><nav><a href="/nav">Nav link</a></nav>
            <div class="cookie-banner">We use cookies</div>
            <div id="content"><h1>Hello <em>world</em></h1><p>First   para
            with <a href="b.html#x">a link</a>.</p><ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>
            <table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>
            <script>var x = 1;</script><pre>code
  indented</pre></div><footer>Copyright</footer></body></html>"#;
        let base = Url::parse("http://h/dir/page.html").unwrap();
        let p = html_to_text(html, Some(&base));
        assert_eq!(p.title.as_deref(), Some("My Page"));
        assert_eq!(p.canonical.as_ref().map(Url::as_str), Some("http://h/canon/"));
        assert!(p.nofollow && !p.noindex);
        let t = &p.text;
        for gone in ["Site header", "Nav link", "cookies", "Copyright", "var x", "p{}"] {
            assert!(!t.contains(gone), "{gone:?} in {t}");
        }
        assert!(t.contains("# Hello world"), "{t}");
        assert!(t.contains("First para with a link."), "{t}");
        assert!(t.contains("- one\n- two"), "{t}");
        assert!(t.contains("  - nested"), "{t}");
        assert!(t.contains("A | B\n1 | 2"), "{t}");
        assert!(t.contains("code\n  indented"), "{t}");
        let links: Vec<&str> = p.links.iter().map(Url::as_str).collect();
        assert!(links.contains(&"http://h/dir/b.html"), "{links:?}");
    }

    #[test]
    fn main_element_wins_and_title_falls_back_to_h1() {
        let body = "x ".repeat(150);
        let html = format!("<body><div>Outside</div><main><h1>T</h1><p>{body}</p></main></body>");
        let p = html_to_text(&html, None);
        assert!(!p.text.contains("Outside"));
        assert_eq!(p.title.as_deref(), Some("T"));
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "",
            "<",
            "<<<>>>",
            "<html><body><p>unclosed <b>bold",
            "\u{0}\u{1}",
            "<a href='javascript:x'>j</a>",
        ] {
            let p = html_to_text(s, None);
            assert!(p.links.is_empty());
        }
    }
}
