//! A webhook endpoint for MinIO bucket notifications (`notify_webhook` target): MinIO POSTs the
//! S3-event-shaped JSON of each upload; the same [`Handler`] as the Lambda function converts it.
//!
//! Delivery is at least once: the response is sent after the conversion, `200` when the event is
//! handled (converted, skipped, or bad input with its error report written) and `503` when the
//! handler asks for a retry (a transient failure), so MinIO redelivers it; a redelivered event
//! whose output is already up to date is skipped. Conversions run one at a time by default
//! (`concurrency`): each one holds the configured memory budget. Bodies over [`MAX_BODY_BYTES`]
//! are refused with `413` (after reading on, and dropping, up to `MAX_DRAIN_BYTES` of the rest,
//! so that a client that writes its whole body first still reads the answer). Other methods
//! (MinIO checks that the target is reachable) get `200`. With an auth token, a POST without
//! `Authorization: Bearer <token>` gets `401` before its body is read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use s3_csv2parquet::error::{error_chain, Error, Result};
use s3_csv2parquet::lambda::handler::Handler;

/// Largest notification body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A bound listener; [`Webhook::run`] serves it.
#[derive(Debug)]
pub(crate) struct Webhook {
    listener: tokio::net::TcpListener,
    handler: Arc<Handler>,
    permits: Arc<Semaphore>,
    /// The `Authorization` header a POST must carry (`Bearer <token>`), if any.
    authorization: Option<Arc<str>>,
}

impl Webhook {
    /// Bind `addr`; up to `concurrency` (at least 1) conversions at once.
    pub(crate) async fn bind(
        addr: SocketAddr,
        handler: Handler,
        concurrency: usize,
    ) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Write {
                location: format!("listen {addr}"),
                source,
            })?;
        Ok(Webhook {
            listener,
            handler: Arc::new(handler),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            authorization: None,
        })
    }

    /// Require `Authorization: Bearer <token>` on notifications.
    pub(crate) fn with_auth_token(mut self, token: Option<String>) -> Self {
        self.authorization = token.map(|t| Arc::from(format!("Bearer {t}")));
        self
    }

    /// The bound address (to learn the port after binding port 0).
    pub(crate) fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| Error::Internal(format!("listener address: {e}")))
    }

    /// Serve until `shutdown` is cancelled; in-flight requests are then dropped, which cancels
    /// their conversions (their uploads are aborted).
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let http = ConnBuilder::new(TokioExecutor::new());
        let mut conns = JoinSet::new();
        loop {
            let socket = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((socket, _)) => socket,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = shutdown.cancelled() => break,
            };
            let (handler, permits) = (Arc::clone(&self.handler), Arc::clone(&self.permits));
            let authorization = self.authorization.clone();
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (handler, permits) = (Arc::clone(&handler), Arc::clone(&permits));
                let authorization = authorization.clone();
                async move {
                    if !authorized(&req, authorization.as_deref()) {
                        return Ok::<_, Infallible>(reply(
                            StatusCode::UNAUTHORIZED,
                            serde_json::json!({"error": "missing or wrong Authorization header"}),
                        ));
                    }
                    Ok::<_, Infallible>(respond(req, &handler, &permits).await)
                }
            });
            let conn = http
                .serve_connection(TokioIo::new(socket), service)
                .into_owned();
            conns.spawn(async move {
                let _ = conn.await;
            });
            while conns.try_join_next().is_some() {}
        }
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

/// Whether `req` may be handled: any non-POST (a reachability probe, answered without data),
/// or a POST whose `Authorization` header equals `expected` (compared in constant time), when
/// a token is set.
fn authorized(req: &Request<Incoming>, expected: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    if req.method() != Method::POST {
        return true;
    }
    let Some(given) = req.headers().get(hyper::header::AUTHORIZATION) else {
        return false;
    };
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Bytes of an oversized body read (and dropped) before answering `413`, so that a client that
/// sends its whole body before it reads the response gets the answer instead of a reset.
const MAX_DRAIN_BYTES: usize = 8 * MAX_BODY_BYTES;

enum BodyError {
    /// Over [`MAX_BODY_BYTES`]: how many bytes were read before giving up.
    TooLarge(usize),
    Read(hyper::Error),
}

/// The body, up to [`MAX_BODY_BYTES`]; a larger one is read on (and dropped) up to
/// [`MAX_DRAIN_BYTES`] more, so at most [`MAX_BODY_BYTES`] is ever held.
async fn read_body(mut body: Incoming) -> std::result::Result<Bytes, BodyError> {
    let mut kept = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(BodyError::Read)?.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= MAX_BODY_BYTES {
            kept.extend_from_slice(&data);
        } else if seen > MAX_BODY_BYTES + MAX_DRAIN_BYTES {
            break;
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge(seen));
    }
    Ok(kept.freeze())
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn respond(
    req: Request<Incoming>,
    handler: &Handler,
    permits: &Semaphore,
) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        return reply(StatusCode::OK, serde_json::json!({"ok": true}));
    }
    let body = match read_body(req.into_body()).await {
        Ok(body) => body,
        Err(BodyError::TooLarge(bytes)) => {
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({
                    "error": format!("the body is larger than {MAX_BODY_BYTES} bytes (read {bytes})")
                }),
            );
        }
        Err(BodyError::Read(e)) => {
            return reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": e.to_string()}),
            );
        }
    };
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "webhook: body is not JSON");
            return reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": format!("not JSON: {e}")}),
            );
        }
    };
    let Ok(_permit) = permits.acquire().await else {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"error": "shutting down"}),
        );
    };
    match handler.handle(&payload, None).await {
        Ok(result) => reply(StatusCode::OK, result),
        Err(e) => {
            let message = error_chain(&e);
            tracing::error!(error = %message, "webhook: event failed; asking for a redelivery");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": message, "retryable": true}),
            )
        }
    }
}
