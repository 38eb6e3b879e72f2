//! robots.txt (RFC 9309, through texting_robots): none (4xx) means crawl everything, an
//! unreachable one (5xx, network failure) means crawl nothing.

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
