use crate::helpers::spawn_app;

/// Pulls `widget/<name>` paths the loader will request (the minifier
/// writes its strings between backticks).
fn asset_paths(loader: &str) -> Vec<String> {
    loader
        .split(['"', '`'])
        .filter(|s| s.starts_with("widget/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn widget_js_is_a_cacheable_cross_origin_script() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/widget.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert_eq!(
        headers["content-type"],
        "application/javascript; charset=utf-8"
    );
    assert_eq!(headers["access-control-allow-origin"], "*");
    // Loadable by a cross-origin isolated page's plain `<script>`.
    assert_eq!(headers["cross-origin-resource-policy"], "cross-origin");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let loader = response.text().await.unwrap();
    assert!(loader.contains("document.currentScript"));
    for placeholder in [
        "__APP__",
        "__WASM__",
        "__CSS__",
        "__LAUNCHER_CSS__",
        "__VERSION__",
    ] {
        assert!(!loader.contains(placeholder), "{placeholder} is not filled");
    }
    // The launcher's rules ride along; the dialog's come with the app.
    assert!(loader.contains(".launcher{"), "{loader}");
    assert!(!loader.contains(".dialog{"), "{loader}");
}

#[tokio::test]
async fn hashed_widget_assets_have_their_types_and_are_immutable() {
    let app = spawn_app().await;
    let loader = app
        .client
        .get(format!("{}/widget.js", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let paths = asset_paths(&loader);
    assert_eq!(paths.len(), 3, "app, wasm and css: {paths:?}");
    for path in paths {
        let response = app
            .client
            .get(format!("{}/{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(headers["cross-origin-resource-policy"], "cross-origin");
        let body = response.bytes().await.unwrap();
        if path.ends_with(".wasm") {
            assert_eq!(headers["content-type"], "application/wasm");
            assert_eq!(&body[..4], b"\0asm");
        } else if path.ends_with(".css") {
            assert_eq!(headers["content-type"], "text/css; charset=utf-8");
        } else {
            assert_eq!(
                headers["content-type"],
                "application/javascript; charset=utf-8"
            );
            assert!(
                body.starts_with(b"(function(){"),
                "glue is wrapped so it leaks no globals"
            );
        }
    }
    let missing = app
        .client
        .get(format!("{}/widget/earshot.000000000000.wasm", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn widget_assets_are_sent_as_compressed_at_build_time_for_what_the_browser_accepts() {
    use earshot_collector::assets;
    let app = spawn_app().await;
    let wasm = format!("/widget/{}", assets::WASM_NAME);
    let get = |path: String, accept: Option<&'static str>| {
        let mut request = app.client.get(format!("{}{path}", app.address));
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        async move { request.send().await.unwrap() }
    };
    for (path, asset) in [
        ("/widget.js".to_owned(), assets::LOADER_JS_SERVED),
        (wasm.clone(), assets::WASM_SERVED),
        ("/static/page.css".to_owned(), assets::PAGE_CSS_SERVED),
        (
            "/static/local-time.js".to_owned(),
            assets::LOCAL_TIME_JS_SERVED,
        ),
        (
            "/console/static/console.css".to_owned(),
            assets::CONSOLE_CSS_SERVED,
        ),
        (
            "/console/static/console.js".to_owned(),
            assets::CONSOLE_JS_SERVED,
        ),
    ] {
        for (accept, coding, body) in [
            (Some("gzip, deflate, br, zstd"), Some("br"), asset.br),
            (Some("gzip;q=1, br;q=0"), Some("gzip"), asset.gzip),
            (None, None, asset.identity),
        ] {
            let response = get(path.clone(), accept).await;
            assert_eq!(response.status(), 200);
            assert_eq!(
                response
                    .headers()
                    .get("content-encoding")
                    .map(|v| v.to_str().unwrap()),
                coding,
                "{path} for {accept:?}"
            );
            assert_eq!(response.headers()["vary"], "accept-encoding");
            assert_eq!(response.headers()["etag"], asset.etag);
            assert_eq!(&response.bytes().await.unwrap()[..], body, "{path}");
        }
    }
    // A cached copy is revalidated without sending the body again.
    let response = app
        .client
        .get(format!("{}/widget.js", app.address))
        .header("if-none-match", assets::LOADER_JS_SERVED.etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    assert!(response.bytes().await.unwrap().is_empty());
    // The console's own files keep their URLs, so a browser asks each time
    // and is answered 304 while its copy is current.
    let response = app
        .client
        .get(format!("{}/console/static/console.css", app.address))
        .header("if-none-match", assets::CONSOLE_CSS_SERVED.etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["cache-control"], "no-cache");
}
