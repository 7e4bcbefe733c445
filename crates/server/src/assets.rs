//! Static files embedded in the binary: the vendored NHS design system and CarePact's two small scripts. The
//! service runs offline, with nothing fetched from a CDN.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::errors::AppError;

macro_rules! embed {
    ($($path:literal => $kind:literal),* $(,)?) => {
        const FILES: &[(&str, &str, &[u8])] = &[
            $(($path, $kind, include_bytes!(concat!("../assets/", $path))),)*
        ];
    };
}

embed! {
    "nhsuk/nhsuk-frontend.min.css" => "text/css; charset=utf-8",
    "nhsuk/nhsuk-frontend.min.js" => "text/javascript; charset=utf-8",
    "nhsuk/manifest.json" => "application/manifest+json",
    "nhsuk/images/favicon.ico" => "image/x-icon",
    "nhsuk/images/favicon.svg" => "image/svg+xml",
    "nhsuk/images/nhsuk-icon-180.png" => "image/png",
    "nhsuk/images/nhsuk-icon-192.png" => "image/png",
    "nhsuk/images/nhsuk-icon-512.png" => "image/png",
    "nhsuk/images/nhsuk-icon-mask.svg" => "image/svg+xml",
    "nhsuk/images/nhsuk-icon-arrow-down.svg" => "image/svg+xml",
    "nhsuk/images/nhsuk-icon-arrow-up-down.svg" => "image/svg+xml",
    "nhsuk/images/nhsuk-icon-arrow-up.svg" => "image/svg+xml",
    "nhsuk/images/nhsuk-icon-cross.svg" => "image/svg+xml",
    "app/js-enabled.js" => "text/javascript; charset=utf-8",
    "app/init.js" => "text/javascript; charset=utf-8",
    "app/carepact.css" => "text/css; charset=utf-8",
}

pub async fn serve(Path(path): Path<String>) -> Result<Response, AppError> {
    let (_, kind, bytes) = FILES.iter().find(|(p, _, _)| *p == path).ok_or(AppError::NotFound)?;
    let mut response = (*bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(response)
}

pub async fn favicon() -> Result<Response, AppError> {
    serve(Path("nhsuk/images/favicon.ico".to_owned())).await
}
