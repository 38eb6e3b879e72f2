//! The routes as a [`tower::Service`], to mount inside another application: the same answers,
//! CORS, body limits, timeouts, metrics and server-sent events as `chatbot serve`, which runs
//! this very service behind its own accept loop.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use chatbot_core::Chatbot;
use futures::future::BoxFuture;
use hyper::{Request, Response};

use crate::ServerConfig;
use crate::app::App;
use crate::body::{BoxError, ResponseBody};

/// The client's TCP address, as a request extension. It feeds the per-IP rate limits (through
/// the trusted-proxy rule of [`ServerConfig::trusted_proxies`]); a request without it has no
/// client IP, so only the per-session limits apply. `chatbot serve` sets it for every
/// connection; an application that mounts [`ChatService`] sets it from its own connection info
/// (with axum: copy `ConnectInfo<SocketAddr>` into `PeerAddr` in a middleware).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Every route of the server as one cheap-to-clone [`tower::Service`].
///
/// Paths are matched as they arrive, so mount it where the prefix is stripped (axum's
/// `Router::nest_service("/chat", chatbot_server::service(bot, config))` does that). It never
/// fails: errors are answered in the JSON error shape.
#[derive(Clone)]
pub struct ChatService {
    app: Arc<App>,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService").finish_non_exhaustive()
    }
}

/// The routes of `chatbot serve` as a service. The connection options (`config.bind`,
/// `shutdown_grace`, `header_timeout`, `max_connections`, `http2_keep_alive`) are not used: the
/// host application listens, limits its connections and shuts down.
pub fn service(bot: Chatbot, config: ServerConfig) -> ChatService {
    ChatService { app: Arc::new(App::new(bot, config)) }
}

impl ChatService {
    pub(crate) fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Answer one request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<ResponseBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let peer = req.extensions().get::<PeerAddr>().map(|p| p.0);
        self.app.handle(req, peer).await
    }
}

impl<B> tower::Service<Request<B>> for ChatService
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}
