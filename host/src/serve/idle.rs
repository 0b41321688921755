//! Connections that say nothing are closed, and only so many are open.
//!
//! The HTTP server keeps a connection for as long as its client does: a
//! client that opens connections and sends nothing (slowloris) would pin
//! the server's tasks and sockets for good. Every connection here is closed
//! after [`IDLE`] without a byte either way (an open page's event stream
//! gets a keep-alive well within it), and past [`MAX_CONNECTIONS`] new
//! ones wait for a slot.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// How long a connection may go without a byte read or written.
pub const IDLE: Duration = Duration::from_secs(60);

/// How many connections may be open at once.
pub const MAX_CONNECTIONS: usize = 512;

/// A listener whose connections time out when idle, and are bounded.
pub struct IdleListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    idle: Duration,
}

impl IdleListener {
    /// Connections of `inner`, closed after `idle` without traffic.
    pub fn new(inner: TcpListener, idle: Duration) -> IdleListener {
        IdleListener {
            inner,
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            idle,
        }
    }
}

impl axum::serve::Listener for IdleListener {
    type Io = IdleStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (IdleStream, std::net::SocketAddr) {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        let stream = IdleStream {
            inner: stream,
            deadline: Box::pin(tokio::time::sleep(self.idle)),
            idle: self.idle,
            _slot: slot,
        };
        (stream, addr)
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that fails its reads once it has been idle too long.
pub struct IdleStream {
    inner: TcpStream,
    deadline: Pin<Box<Sleep>>,
    idle: Duration,
    _slot: OwnedSemaphorePermit,
}

impl IdleStream {
    fn active(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }
}

impl AsyncRead for IdleStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                self.active();
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::ErrorKind::TimedOut.into())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for IdleStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if written.is_ready() {
            self.active();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
