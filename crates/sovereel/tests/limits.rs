//! Abuse resistance, tried from the outside: rate limits (429 with
//! `Retry-After`, and recovery once it has passed), log-in delays that
//! neither lock an owner out nor tell whether a handle exists, exports one
//! at a time and per day, the browser-safety headers, cross-origin cookie
//! writes refused, `Secure` cookies behind TLS, client addresses from
//! trusted proxies only, slow-header and idle connections closed, bounded
//! `/metrics`, and problem+json for the framework's own rejections.
//!
//! Limits here are small and configured per test; the harness turns them
//! off for every other test file.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sovereel_server::config::Rate;
use sovereel_store::Backend;

fn rate(s: &str) -> Rate {
    Rate::parse(s).unwrap()
}

/// Every limit off but those a test sets.
fn only(c: &mut sovereel_server::Config, set: impl FnOnce(&mut sovereel_server::config::Rates)) {
    let r = &mut c.limits.rates;
    r.enabled = true;
    for x in [
        &mut r.signup_per_address,
        &mut r.login_per_address,
        &mut r.login_per_account,
        &mut r.upload_per_account,
        &mut r.upload_per_address,
        &mut r.comment_per_account,
        &mut r.comment_per_address,
        &mut r.report_per_account,
        &mut r.report_per_address,
        &mut r.export_per_address,
        &mut r.events_per_account,
        &mut r.events_per_address,
        &mut r.social_per_account,
        &mut r.social_per_address,
    ] {
        *x = Rate(None);
    }
    r.login_free_failures = 1000;
    r.exports_per_day = 0;
    set(r);
}

struct Answer {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Value,
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// A 429 problem with a whole number of seconds in `Retry-After`.
fn retry_after(a: &Answer) -> Duration {
    assert_problem(a.status, &a.body, 429, "rate-limited");
    assert_eq!(
        a.headers[header::CONTENT_TYPE],
        "application/problem+json",
        "{}",
        a.body
    );
    let secs: u64 = a.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(secs >= 1, "Retry-After {secs}");
    Duration::from_secs(secs)
}

fn signup_json(handle: &str) -> Value {
    json!({"handle": handle, "password": "correct horse battery", "email": format!("{handle}@mail.example"), "country": "US", "birthdate": "1999-04-01"})
}

async fn signup(app: &TestApp, handle: &str) -> Answer {
    send(
        app.client
            .post(app.url("/v1/accounts"))
            .json(&signup_json(handle)),
    )
    .await
}

async fn login(app: &TestApp, handle: &str, password: &str) -> Answer {
    send(
        app.client
            .post(app.url("/v1/sessions"))
            .json(&json!({"handle": handle, "password": password})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_per_address_get_429_then_recover() {
    let app = spawn_with(Backend::Sqlite, |c| {
        only(c, |r| r.signup_per_address = rate("3/3s"))
    })
    .await;
    for i in 0..3 {
        let a = signup(&app, &format!("burst_{i}")).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let refused = signup(&app, "burst_3").await;
    let wait = retry_after(&refused);
    // Nothing was stored: the handle is still free once the wait is over.
    tokio::time::sleep(wait).await;
    let a = signup(&app, "burst_3").await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_log_ins_slow_a_handle_down_the_same_whether_it_exists_or_not() {
    let app = spawn_with(Backend::Sqlite, |c| {
        only(c, |r| {
            r.login_free_failures = 3;
            r.login_base_delay_secs = 3;
            r.login_max_delay_secs = 6;
        })
    })
    .await;
    let owner = app.signup("owner_us", "US").await;
    // The same answers for a handle that exists and one that does not:
    // three wrong passwords are 401, then the next attempt must wait.
    for handle in ["owner_us", "nobody_us"] {
        for _ in 0..3 {
            let a = login(&app, handle, "wrong password!").await;
            assert_problem(a.status, &a.body, 401, "bad-credentials");
        }
        let a = login(&app, handle, "wrong password!").await;
        let wait = retry_after(&a);
        assert!(wait <= Duration::from_secs(3), "{wait:?}");
    }
    // Even the right password waits its turn …
    let a = login(&app, "owner_us", "correct horse battery").await;
    let wait = retry_after(&a);
    // … and then works: a delay, never a lock-out; a success forgets.
    tokio::time::sleep(wait).await;
    let a = login(&app, "owner_us", "correct horse battery").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body["token"].is_string());
    // The wait doubles with each further failure, up to the maximum.
    for _ in 0..3 {
        let a = login(&app, "owner_us", "wrong password!").await;
        assert_problem(a.status, &a.body, 401, "bad-credentials");
    }
    let mut waits = vec![];
    for _ in 0..3 {
        let a = login(&app, "owner_us", "wrong password!").await;
        let wait = retry_after(&a);
        waits.push(wait);
        tokio::time::sleep(wait).await;
        let a = login(&app, "owner_us", "wrong password!").await;
        assert_problem(a.status, &a.body, 401, "bad-credentials");
    }
    assert!(
        waits.iter().all(|w| *w <= Duration::from_secs(6)),
        "{waits:?}"
    );
    assert!(waits[1] > Duration::from_secs(3), "{waits:?}");
    let a = login(&app, "owner_us", "correct horse battery").await;
    tokio::time::sleep(retry_after(&a)).await;
    let a = login(&app, "owner_us", "correct horse battery").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // The session made at sign-up was never affected.
    let (s, _) = app.get("/v1/me", Some(&owner.token)).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_ins_per_handle_and_per_address() {
    let app = spawn_with(Backend::Sqlite, |c| {
        only(c, |r| {
            r.login_per_account = rate("2/2s");
            r.login_per_address = rate("5/5s");
        })
    })
    .await;
    app.signup("hana_us", "US").await; // one log-in
    let a = login(&app, "hana_us", "correct horse battery").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = login(&app, "hana_us", "correct horse battery").await;
    assert!(
        a.body["detail"].as_str().unwrap().contains("handle"),
        "{}",
        a.body
    );
    retry_after(&a);
    // Other handles from the same address, until the address's limit.
    let a = login(&app, "other_one", "whatever pw").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    let a = login(&app, "other_two", "whatever pw").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    let a = login(&app, "other_three", "whatever pw").await;
    assert!(
        a.body["detail"].as_str().unwrap().contains("address"),
        "{}",
        a.body
    );
    let wait = retry_after(&a);
    tokio::time::sleep(wait).await;
    let a = login(&app, "hana_us", "correct horse battery").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

/// Each per-account limit: the third request in the window is refused for
/// this account only, before the handler (so even requests the handler
/// would refuse count), and the account recovers after `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_limited_per_account() {
    let app = spawn_with(Backend::Sqlite, |c| {
        only(c, |r| {
            r.upload_per_account = rate("2/2s");
            r.comment_per_account = rate("2/2s");
            r.report_per_account = rate("2/2s");
            r.events_per_account = rate("2/2s");
            r.social_per_account = rate("2/2s");
        })
    })
    .await;
    let a = app.signup("ann_us", "US").await;
    let b = app.signup("bob_au", "AU").await;
    let video = "us_0000000000000000000000";
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, "/v1/videos".into(), None),
        (
            Method::POST,
            format!("/v1/videos/{video}/comments"),
            Some(json!({"text": "hi"})),
        ),
        (
            Method::POST,
            "/v1/reports".into(),
            Some(json!({"target": "nothing"})),
        ),
        (
            Method::POST,
            "/v1/events".into(),
            Some(json!({"events": []})),
        ),
        (Method::PUT, "/v1/users/bob_au/follow".into(), None),
    ];
    for (method, path, body) in &cases {
        let call = |token: &str| {
            let mut r = app
                .client
                .request(method.clone(), app.url(path))
                .bearer_auth(token);
            if let Some(b) = body {
                r = r.json(b);
            }
            r
        };
        for _ in 0..2 {
            let r = send(call(&a.token)).await;
            assert_ne!(
                r.status,
                StatusCode::TOO_MANY_REQUESTS,
                "{path}: {}",
                r.body
            );
        }
        let r = send(call(&a.token)).await;
        let wait = retry_after(&r);
        assert!(
            r.body["detail"].as_str().unwrap().contains("account"),
            "{path}: {}",
            r.body
        );
        // Another account from the same address is not affected.
        let other = send(call(&b.token)).await;
        assert_ne!(
            other.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{path}: {}",
            other.body
        );
        tokio::time::sleep(wait).await;
        let r = send(call(&a.token)).await;
        assert_ne!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{path}: {}",
            r.body
        );
    }
    // The follow went through once the limit allowed it.
    let (s, v) = app.get("/v1/users/bob_au", Some(&a.token)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_limited_per_address_across_accounts() {
    let app = spawn_with(Backend::Sqlite, |c| {
        only(c, |r| {
            r.comment_per_address = rate("3/3s");
            r.social_per_address = rate("2/2s");
        })
    })
    .await;
    let users = [
        app.signup("one_us", "US").await,
        app.signup("two_nz", "NZ").await,
        app.signup("three_au", "AU").await,
        app.signup("four_us", "US").await,
    ];
    let path = "/v1/videos/us_0000000000000000000000/comments";
    for u in &users[..3] {
        let r = send(
            app.client
                .post(app.url(path))
                .bearer_auth(&u.token)
                .json(&json!({"text": "x"})),
        )
        .await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    }
    let r = send(
        app.client
            .post(app.url(path))
            .bearer_auth(&users[3].token)
            .json(&json!({"text": "x"})),
    )
    .await;
    assert!(
        r.body["detail"].as_str().unwrap().contains("address"),
        "{}",
        r.body
    );
    let wait = retry_after(&r);
    // Anonymous writes count for the address too (and are then refused
    // for want of a session).
    for _ in 0..2 {
        let r = send(app.client.put(app.url("/v1/users/one_us/follow"))).await;
        assert_problem(r.status, &r.body, 401, "unauthorized");
    }
    let r = send(app.client.put(app.url("/v1/users/one_us/follow"))).await;
    retry_after(&r);
    tokio::time::sleep(wait).await;
    let r = send(
        app.client
            .post(app.url(path))
            .bearer_auth(&users[3].token)
            .json(&json!({"text": "x"})),
    )
    .await;
    assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_off_nothing_is_limited() {
    let app = spawn_with(Backend::Sqlite, |c| {
        only(c, |r| {
            r.signup_per_address = rate("1/1h");
            r.login_free_failures = 1;
            r.login_max_delay_secs = 3600;
        });
        c.limits.rates.enabled = false;
    })
    .await;
    for i in 0..4 {
        let a = signup(&app, &format!("free_{i}")).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    for _ in 0..4 {
        let a = login(&app, "free_0", "wrong password!").await;
        assert_problem(a.status, &a.body, 401, "bad-credentials");
    }
    let a = login(&app, "free_0", "correct horse battery").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_one_at_a_time_and_limited_per_day() {
    let app = spawn_with(Backend::Sqlite, |c| only(c, |r| r.exports_per_day = 2)).await;
    let u = app.signup("exporter_us", "US").await;
    let post = || {
        send(
            app.client
                .post(app.url("/v1/me/exports"))
                .bearer_auth(&u.token),
        )
    };
    // Eight at once: exactly one runs at a time; the rest are told so.
    let answers = futures::future::join_all((0..8).map(|_| post())).await;
    let started: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::ACCEPTED)
        .collect();
    assert!(
        !started.is_empty() && started.len() <= 2,
        "{} started",
        started.len()
    );
    for a in answers.iter().filter(|a| a.status != StatusCode::ACCEPTED) {
        if a.status == StatusCode::CONFLICT {
            assert_problem(a.status, &a.body, 409, "export-in-progress");
        } else {
            retry_after(a);
        }
    }
    // Finish whatever is running, then ask until the daily limit answers.
    let mut refused = None;
    for _ in 0..3 {
        let a = loop {
            let a = post().await;
            if a.status != StatusCode::CONFLICT {
                break a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(a);
            break;
        }
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    }
    let refused = refused.expect("the third export in a day is refused");
    let wait = retry_after(&refused);
    assert!(
        wait > Duration::from_secs(3600) && wait <= Duration::from_secs(86_400),
        "{wait:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_browser_safety_headers() {
    let app = spawn(Backend::Sqlite).await;
    for path in [
        "/",
        "/v1/regions",
        "/v1/nothing",
        "/problems/rate-limited",
        "/app.js",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for want in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(want), "{path}: {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    // The web client needs no inline script or style to run under that
    // policy: every script is a file, no element has a handler attribute.
    let html = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        assert!(tag.contains("src="), "inline script: {tag}");
    }
    assert!(!html.contains("<style"), "inline style element");
    assert!(!html.contains(" style="), "inline style attribute");
    assert!(
        !html.contains(" onclick=") && !html.contains(" onload=") && !html.contains(" onerror="),
        "inline handler"
    );
    // The problem page behind the new type explains it.
    let page = app
        .client
        .get(app.url("/problems/rate-limited"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Retry-After"));
}

fn session_cookie(a: &Answer) -> String {
    let c = a.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    c.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_writes_from_another_origin_are_refused() {
    let app = spawn(Backend::Sqlite).await;
    let u = app.signup("cookie_us", "US").await;
    let l = login(&app, "cookie_us", "correct horse battery").await;
    let cookie = session_cookie(&l);
    assert!(
        !l.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    let ours = app.base.clone();
    let patch = |origin: Option<(&'static str, String)>, auth: Auth| {
        let mut r = app
            .client
            .patch(app.url("/v1/me"))
            .json(&json!({"bio": "set from a test"}));
        r = match auth {
            Auth::Cookie => r.header(header::COOKIE, cookie.clone()),
            Auth::Bearer => r
                .bearer_auth(&u.token)
                .header(header::COOKIE, cookie.clone()),
        };
        if let Some((h, v)) = origin {
            r = r.header(h, v);
        }
        send(r)
    };
    #[derive(Clone, Copy)]
    enum Auth {
        Cookie,
        Bearer,
    }
    for (h, v) in [
        ("origin", "https://evil.example".to_string()),
        ("origin", "null".to_string()),
        ("referer", "https://evil.example/page".to_string()),
        ("origin", ours.replace("127.0.0.1", "127.0.0.2")),
    ] {
        let a = patch(Some((h, v.clone())), Auth::Cookie).await;
        assert_problem(a.status, &a.body, 403, "cross-origin");
        assert!(a.headers.contains_key("content-security-policy"));
        // A bearer token is not sent by another site's page: not affected.
        let a = patch(Some((h, v.clone())), Auth::Bearer).await;
        assert_eq!(a.status, StatusCode::OK, "bearer with {h}: {v}: {}", a.body);
    }
    // Our own origin, and a client that names none (not a browser), pass.
    let a = patch(Some(("origin", ours.clone())), Auth::Cookie).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = patch(Some(("referer", format!("{ours}/me"))), Auth::Cookie).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = patch(None, Auth::Cookie).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // The data export of the issue, from another site: refused, none made.
    let a = send(
        app.client
            .post(app.url("/v1/me/exports"))
            .header(header::COOKIE, cookie.clone())
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_problem(a.status, &a.body, 403, "cross-origin");
    // Reads are not writes.
    let a = send(
        app.client
            .get(app.url("/v1/me"))
            .header(header::COOKIE, cookie.clone())
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_tls() {
    let app = spawn_with(Backend::Sqlite, |c| c.http.behind_tls = true).await;
    app.signup("secure_us", "US").await;
    let l = login(&app, "secure_us", "correct horse battery").await;
    let c = l.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(c.contains("; Secure") && c.contains("HttpOnly"), "{c}");
    // Beside it, the readable hint (no secret in it) is Secure too; log-out
    // clears both.
    let all: Vec<&str> = l
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let hint = all
        .iter()
        .find(|c| c.starts_with("sovereel_signed_in=1;"))
        .unwrap_or_else(|| panic!("{all:?}"));
    assert!(
        hint.contains("; Secure") && !hint.contains("HttpOnly"),
        "{hint}"
    );
    let out = send(
        app.client
            .delete(app.url("/v1/sessions/current"))
            .header(header::COOKIE, session_cookie(&l)),
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let cleared: Vec<&str> = out
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cleared.len(), 2, "{cleared:?}");
    assert!(
        cleared.iter().all(|c| c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    let l = login(&app, "secure_us", "correct horse battery").await;
    // Behind TLS the site's origin is https://host: a cookie write naming
    // it passes.
    let a = send(
        app.client
            .patch(app.url("/v1/me"))
            .header(header::COOKIE, session_cookie(&l))
            .header("origin", app.base.replace("http://", "https://"))
            .json(&json!({"bio": "ok"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    // Not trusted: X-Forwarded-For is the client's own claim and ignored.
    let app = spawn_with(Backend::Sqlite, |c| {
        only(c, |r| r.signup_per_address = rate("1/1h"))
    })
    .await;
    let fwd = |h: &str, ip: &str| {
        app.client
            .post(app.url("/v1/accounts"))
            .header("x-forwarded-for", ip)
            .header("x-forwarded-proto", "https")
            .json(&signup_json(h))
    };
    assert_eq!(send(fwd("plain_one", "198.51.100.1")).await.status, 201);
    retry_after(&send(fwd("plain_two", "198.51.100.2")).await);
    let l = send(
        app.client
            .post(app.url("/v1/sessions"))
            .header("x-forwarded-proto", "https")
            .json(&json!({"handle": "plain_one", "password": "correct horse battery"})),
    )
    .await;
    assert!(
        !l.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    drop(app);

    // Trusted (the proxy is on loopback): the address it saw is the client.
    let app = spawn_with(Backend::Sqlite, |c| {
        only(c, |r| r.signup_per_address = rate("1/1h"));
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let fwd = |h: &str, ip: &str| {
        app.client
            .post(app.url("/v1/accounts"))
            .header("x-forwarded-for", ip)
            .json(&signup_json(h))
    };
    assert_eq!(send(fwd("proxied_one", "198.51.100.1")).await.status, 201);
    retry_after(&send(fwd("proxied_two", "198.51.100.1")).await);
    // A client that writes its own X-Forwarded-For only prepends to what
    // the proxy appends: the right-most untrusted address counts.
    retry_after(&send(fwd("proxied_two", "203.0.113.9, 198.51.100.1")).await);
    assert_eq!(send(fwd("proxied_two", "198.51.100.2")).await.status, 201);
    // IPv6 clients count per /64.
    assert_eq!(
        send(fwd("proxied_v6a", "2001:db8:1:2::1")).await.status,
        201
    );
    retry_after(&send(fwd("proxied_v6b", "2001:db8:1:2:ffff::7")).await);
    let l = send(
        app.client
            .post(app.url("/v1/sessions"))
            .header("x-forwarded-proto", "https")
            .json(&json!({"handle": "proxied_one", "password": "correct horse battery"})),
    )
    .await;
    let c = l.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(c.contains("; Secure"), "{c}");
}

/// Connections that stop halfway through their headers, or never send a
/// byte, are closed by the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_closed() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.limits.header_read_timeout_secs = 1;
        c.limits.idle_timeout_secs = 2;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let handles: Vec<_> = (0..12)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(&addr).unwrap();
                if i % 3 != 0 {
                    s.write_all(b"GET /v1/regions HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                        .unwrap();
                }
                // A guard against a hang, far above the configured timeouts.
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                let mut buf = Vec::new();
                match s.read_to_end(&mut buf) {
                    Ok(_) => Ok(buf),
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(buf),
                    Err(e) => Err(e),
                }
            })
        })
        .collect();
    for h in handles {
        let r = h.join().unwrap();
        assert!(r.is_ok(), "the server kept a slow connection open: {r:?}");
    }
    // A keep-alive connection serves requests, then is closed when idle.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // The server still answers everyone else.
    let (s, _) = app.get("/healthz", None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_stay_small_after_junk_methods() {
    let app = spawn(Backend::Sqlite).await;
    let before = app.client.get(app.url("/metrics")).send().await.unwrap();
    let before = before.text().await.unwrap().len();
    for i in 0..300 {
        let junk = format!("{}{i}", "J".repeat(4000));
        let m = Method::from_bytes(junk.as_bytes()).unwrap();
        let r = send(app.client.request(m, app.url("/v1/regions"))).await;
        assert_problem(r.status, &r.body, 405, "method-not-allowed");
        let m = Method::from_bytes(junk.as_bytes()).unwrap();
        let r = send(app.client.request(m, app.url(&format!("/nowhere/{i}")))).await;
        assert_problem(r.status, &r.body, 404, "not-found");
    }
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("JJJJ"), "a junk method became a label");
    assert!(!text.contains("/nowhere"), "a path became a label");
    assert!(text.contains("method=\"OTHER\""));
    assert!(
        text.len() < before + 8 * 1024,
        "/metrics grew from {before} to {} bytes",
        text.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_have_their_own_address() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = spawn_with(Backend::Sqlite, |c| {
        c.http.metrics_listen = Some(format!("127.0.0.1:{port}"))
    })
    .await;
    let (s, b) = app.get("/metrics", None).await;
    assert_problem(s, &b, 404, "not-found");
    let text = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("sovereel_http_requests_total"), "{text}");
    let r = app
        .client
        .get(format!("http://127.0.0.1:{port}/v1/regions"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// The framework's own rejections are problems too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_path_is_problem_json() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.limits.max_upload_bytes = 1024 * 1024;
        c.limits.max_uri_bytes = 4096;
    })
    .await;
    let u = app.signup("problems_us", "US").await;
    let problem = |a: &Answer, status: u16, slug: &str| {
        assert_eq!(
            a.headers
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap()),
            Some("application/problem+json"),
            "{status} {slug}: {}",
            a.body
        );
        assert_problem(a.status, &a.body, status, slug);
        assert!(
            a.body["instance"]
                .as_str()
                .unwrap()
                .starts_with("urn:sovereel:request:"),
            "{}",
            a.body
        );
    };
    let c = &app.client;
    let t = &u.token;
    // Multipart without a boundary, and not multipart at all.
    let a = send(
        c.post(app.url("/v1/videos"))
            .bearer_auth(t)
            .header(header::CONTENT_TYPE, "multipart/form-data")
            .body("x"),
    )
    .await;
    problem(&a, 400, "bad-request");
    let a = send(
        c.post(app.url("/v1/videos"))
            .bearer_auth(t)
            .header(header::CONTENT_TYPE, "text/plain")
            .body("x"),
    )
    .await;
    assert!(a.status.is_client_error());
    problem(
        &a,
        a.status.as_u16(),
        a.body["type"]
            .as_str()
            .unwrap()
            .trim_start_matches("/problems/"),
    );
    // A URI over the limit.
    let a = send(c.get(app.url(&format!("/v1/regions?pad={}", "a".repeat(5000))))).await;
    problem(&a, 414, "uri-too-long");
    // 405 from the nested log router, and from the API router.
    let a = send(c.post(app.url("/log/us/checkpoint"))).await;
    problem(&a, 405, "method-not-allowed");
    let a = send(c.put(app.url("/v1/regions"))).await;
    problem(&a, 405, "method-not-allowed");
    // 404s: an API path, a tile that does not exist.
    let a = send(c.get(app.url("/v1/no/such/thing"))).await;
    problem(&a, 404, "not-found");
    let a = send(c.get(app.url("/log/us/tile/0/x999"))).await;
    assert!(a.status.is_client_error(), "{}", a.status);
    problem(
        &a,
        a.status.as_u16(),
        a.body["type"]
            .as_str()
            .unwrap()
            .trim_start_matches("/problems/"),
    );
    // JSON: syntax, type, content type, size.
    let json_post = |body: &'static str, ct: &'static str| {
        send(
            c.patch(app.url("/v1/me"))
                .bearer_auth(t)
                .header(header::CONTENT_TYPE, ct)
                .body(body),
        )
    };
    problem(
        &json_post("{\"bio\": ", "application/json").await,
        400,
        "malformed-json",
    );
    problem(
        &json_post("{\"bio\": 5}", "application/json").await,
        422,
        "invalid-field",
    );
    problem(
        &json_post("{\"bio\": \"x\"}", "text/plain").await,
        400,
        "malformed-json",
    );
    let big = format!("{{\"bio\": \"{}\"}}", "b".repeat(100 * 1024));
    let a = send(
        c.patch(app.url("/v1/me"))
            .bearer_auth(t)
            .header(header::CONTENT_TYPE, "application/json")
            .body(big),
    )
    .await;
    problem(&a, 413, "payload-too-large");
    // A body over every limit, on a route that reads none: refused from
    // its Content-Length, before a byte of it is read.
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(
        format!(
            "POST /v1/me/for-you/reset HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {t}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            3 * 1024 * 1024
        )
        .as_bytes(),
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(
        raw.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{raw}"
    );
    assert!(raw.contains("/problems/payload-too-large"), "{raw}");
    // A junk method anywhere.
    let m = Method::from_bytes(b"BREW").unwrap();
    let a = send(c.request(m, app.url("/v1/me"))).await;
    problem(&a, 405, "method-not-allowed");
}
