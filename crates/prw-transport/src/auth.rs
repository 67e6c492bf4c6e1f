//! The authentication step: one pluggable hook that sees the finished request before it is sent.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use base64::Engine as _;
use bytes::Bytes;
use http::HeaderValue;
use http::header::AUTHORIZATION;

use crate::builder::BuildError;
use crate::error::BoxError;
use crate::secret::Secret;

/// The future returned by [`Authenticate::authenticate`].
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;

/// Adds credentials to a request just before it is sent.
///
/// The request is complete: method, absolute URL, every header (protocol headers, the user's
/// extra headers, `User-Agent`) and the final, compressed body, so that request-signing schemes
/// (AWS SigV4 for Amazon Managed Prometheus) fit here as well as plain headers. The step runs for
/// every request (including retries, which get fresh credentials) and within the request timeout.
/// An error stops the request: [`HttpTransport`](crate::HttpTransport) reports it as
/// [`Error::is_auth`](crate::Error::is_auth). Set header values that carry credentials as
/// [sensitive](HeaderValue::set_sensitive), and never put a secret in an error or in `Debug`.
///
/// [`BasicAuth`] and [`BearerToken`] are the two built-in implementations.
pub trait Authenticate: fmt::Debug + Send + Sync + 'static {
    /// Adds credentials to `request` (usually a header).
    fn authenticate<'a>(&'a self, request: &'a mut http::Request<Bytes>) -> AuthFuture<'a>;
}

/// HTTP basic authentication: `Authorization: Basic base64(username:password)`.
///
/// A password file is re-read for every request, so a rotated password is used at once.
#[derive(Debug, Clone)]
pub struct BasicAuth {
    username: String,
    password: Secret,
}

impl BasicAuth {
    /// Basic authentication with this username and password (a value or a file).
    ///
    /// # Errors
    /// [`BuildError::EmptyUsername`], [`BuildError::UsernameWithColon`], or
    /// [`BuildError::Password`] when the password is empty or its file cannot be read now.
    pub fn new(username: impl Into<String>, password: Secret) -> Result<BasicAuth, BuildError> {
        let username = username.into();
        if username.is_empty() {
            return Err(BuildError::EmptyUsername);
        }
        if username.contains(':') {
            return Err(BuildError::UsernameWithColon);
        }
        password.expose().map_err(|source| BuildError::Password { source })?;
        Ok(BasicAuth { username, password })
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    fn header(&self) -> Result<HeaderValue, BoxError> {
        let password = self.password.expose()?;
        Ok(basic_header(&self.username, &password))
    }
}

/// `Basic base64(user:password)`, marked sensitive. Base64 output is always a valid header value.
pub(crate) fn basic_header(username: &str, password: &str) -> HeaderValue {
    let mut credentials = String::with_capacity(username.len() + password.len() + 1);
    credentials.push_str(username);
    credentials.push(':');
    credentials.push_str(password);
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes());
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

impl Authenticate for BasicAuth {
    fn authenticate<'a>(&'a self, request: &'a mut http::Request<Bytes>) -> AuthFuture<'a> {
        Box::pin(async move {
            let value = self.header()?;
            request.headers_mut().insert(AUTHORIZATION, value);
            Ok(())
        })
    }
}

/// Bearer token authentication: `Authorization: Bearer <token>`.
///
/// A token file is re-read for every request, so a rotated token is used at once.
#[derive(Debug, Clone)]
pub struct BearerToken {
    token: Secret,
}

/// Why a bearer token cannot go in a header. Never holds the token.
#[derive(Debug, thiserror::Error)]
#[error("the bearer token{} holds characters not allowed in an HTTP header (only visible ASCII and spaces)", from_file(.path.as_deref()))]
pub(crate) struct InvalidToken {
    path: Option<std::path::PathBuf>,
}

fn from_file(path: Option<&std::path::Path>) -> String {
    path.map(|path| format!(" in {}", path.display())).unwrap_or_default()
}

impl BearerToken {
    /// Bearer authentication with this token (a value or a file).
    ///
    /// # Errors
    /// [`BuildError::Token`] when the token is empty or its file cannot be read now,
    /// [`BuildError::InvalidToken`] when it holds characters not allowed in a header.
    pub fn new(token: Secret) -> Result<BearerToken, BuildError> {
        let bearer = BearerToken { token };
        match bearer.header() {
            Ok(_) => Ok(bearer),
            Err(TokenError::Secret(source)) => Err(BuildError::Token { source }),
            Err(TokenError::Invalid(_)) => Err(BuildError::InvalidToken),
        }
    }

    fn header(&self) -> Result<HeaderValue, TokenError> {
        let token = self.token.expose().map_err(TokenError::Secret)?;
        let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
            TokenError::Invalid(InvalidToken { path: self.token.path().map(ToOwned::to_owned) })
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

#[derive(Debug, thiserror::Error)]
enum TokenError {
    #[error(transparent)]
    Secret(crate::secret::SecretError),
    #[error(transparent)]
    Invalid(InvalidToken),
}

impl Authenticate for BearerToken {
    fn authenticate<'a>(&'a self, request: &'a mut http::Request<Bytes>) -> AuthFuture<'a> {
        Box::pin(async move {
            let value = self.header()?;
            request.headers_mut().insert(AUTHORIZATION, value);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> http::Request<Bytes> {
        http::Request::post("http://example.test/api/v1/write")
            .body(Bytes::from_static(b"body"))
            .unwrap()
    }

    #[tokio::test]
    async fn basic_sets_a_sensitive_header() {
        let auth = BasicAuth::new("Aladdin", Secret::new("open sesame")).unwrap();
        let mut request = request();
        auth.authenticate(&mut request).await.unwrap();
        let value = &request.headers()[AUTHORIZATION];
        assert_eq!(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(value.is_sensitive());
        assert!(!format!("{auth:?}").contains("open sesame"));
        assert!(!format!("{value:?}").contains("QWxh"), "{value:?}");
    }

    #[tokio::test]
    async fn bearer_sets_a_sensitive_header_and_rereads_its_file() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "token-one\n").unwrap();
        let auth = BearerToken::new(Secret::from_file(file.path())).unwrap();
        let mut request = request();
        auth.authenticate(&mut request).await.unwrap();
        assert_eq!(request.headers()[AUTHORIZATION], "Bearer token-one");
        assert!(request.headers()[AUTHORIZATION].is_sensitive());

        std::fs::write(file.path(), "token-two").unwrap();
        auth.authenticate(&mut request).await.unwrap();
        assert_eq!(request.headers()[AUTHORIZATION], "Bearer token-two");

        std::fs::write(file.path(), "bad\ntoken").unwrap();
        let err = auth.authenticate(&mut request).await.unwrap_err().to_string();
        assert!(err.contains("not allowed in an HTTP header"), "{err}");
        assert!(!err.contains("bad"), "{err}");

        std::fs::remove_file(file.path()).unwrap();
        let err = auth.authenticate(&mut request).await.unwrap_err().to_string();
        assert!(err.contains("cannot read secret file"), "{err}");
    }

    #[test]
    fn constructors_validate() {
        assert!(matches!(BasicAuth::new("", Secret::new("p")), Err(BuildError::EmptyUsername)));
        assert!(matches!(
            BasicAuth::new("a:b", Secret::new("p")),
            Err(BuildError::UsernameWithColon)
        ));
        assert!(matches!(BasicAuth::new("a", Secret::new("")), Err(BuildError::Password { .. })));
        assert!(matches!(BearerToken::new(Secret::new("")), Err(BuildError::Token { .. })));
        assert!(matches!(BearerToken::new(Secret::new("a\u{7f}b")), Err(BuildError::InvalidToken)));
    }
}
