//! The whole path in a real browser: host page → `<script>` → loader →
//! WebAssembly widget in a shadow root → collector → SQLite.

/// The widget's core cases run in every engine it must work in: one test
/// each, named for the engine, all running `$case(engine)`.
macro_rules! in_every_engine {
    ($case:ident: $chromium:ident, $firefox:ident, $webkit:ident) => {
        #[tokio::test]
        async fn $chromium() -> TestResult {
            $case(Engine::Chromium).await
        }

        #[tokio::test]
        async fn $firefox() -> TestResult {
            $case(Engine::Firefox).await
        }

        #[tokio::test]
        async fn $webkit() -> TestResult {
            earshot_e2e::once_more_if_webkit_driver_failed(stringify!($webkit), || {
                $case(Engine::WebKit)
            })
            .await
        }
    };
}

mod access;
mod form;
mod host_pages;
mod keeping;
mod languages;
mod layout;
mod loading;
mod support;
