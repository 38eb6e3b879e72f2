//! robots.txt (RFC 9309, through texting_robots): none (4xx) means crawl everything, an
//! unreachable one (5xx, network failure) means crawl nothing.

use std::time::Duration;

use texting_robots::Robot;

use super::fetch::{Ctx, FetchError};
use crate::error::{Error, Result};

/// Fetch robots.txt. `Ok(None)`: none (4xx), crawl everything.
pub(super) async fn load_robots(ctx: &Ctx) -> Result<Option<Robot>> {
    let mut robots_url = ctx.site.start.clone();
    robots_url.set_path("/robots.txt");
    robots_url.set_query(None);
    match ctx.fetch(&robots_url, None, 512 * 1024, false).await {
        Ok(f) if (200..300).contains(&f.status) => match Robot::new(ctx.site.robots_token(), &f.body) {
            Ok(r) => Ok(Some(r)),
            Err(e) => {
                tracing::warn!(error = %e, "unparseable robots.txt; crawling without it");
                Ok(None)
            }
        },
        Ok(f) if (400..500).contains(&f.status) => Ok(None),
        Ok(f) => Err(Error::upstream(
            "site",
            format!(
                "{robots_url} answered HTTP {}; not crawling (RFC 9309: unreachable robots.txt means disallow)",
                f.status
            ),
            true,
        )),
        Err(FetchError::OffSite(_) | FetchError::Duplicate(_)) => Ok(None),
        Err(FetchError::Other(reason)) => {
            Err(Error::upstream("site", format!("{robots_url}: {reason}"), true))
        }
    }
}

/// The crawl delay robots.txt asks for, at most a minute (texting_robots accepts any
/// non-negative float, `inf` included).
pub(super) fn crawl_delay(robot: &Robot) -> Option<Duration> {
    // NaN is rejected by the parser; checked again since `from_secs_f32` panics on it.
    let d = robot.delay.filter(|d| !d.is_nan())?;
    Some(Duration::from_secs_f32(d.clamp(0.0, 60.0)))
}

/// robots.txt as the crawler reads it (for the fuzz targets): the delay, the sitemaps and
/// whether each URL is allowed.
#[cfg(feature = "fuzzing")]
pub(super) fn for_fuzzing(body: &[u8], urls: &[&str]) -> Option<(Option<Duration>, Vec<String>, Vec<bool>)> {
    let r = Robot::new("chatbot-toolkit", body).ok()?;
    let allowed = urls.iter().map(|u| r.allowed(u)).collect();
    Some((crawl_delay(&r), r.sitemaps.clone(), allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawl_delays_are_capped_at_a_minute() {
        for (body, want) in [
            ("User-agent: *\nCrawl-delay: 2.5\n", Some(2.5)),
            ("User-agent: *\nCrawl-delay: inf\n", Some(60.0)),
            ("User-agent: *\nCrawl-delay: 1e30\n", Some(60.0)),
            ("User-agent: *\nCrawl-delay: NaN\n", None),
            ("User-agent: *\nCrawl-delay: -1\n", None),
            ("User-agent: *\nDisallow: /\n", None),
        ] {
            let r = Robot::new("chatbot-toolkit", body.as_bytes()).unwrap();
            assert_eq!(crawl_delay(&r).map(|d| d.as_secs_f32()), want, "{body:?}");
        }
    }
}
