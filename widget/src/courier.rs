//! Delivers submissions and keeps trying until the collector confirms them:
//! the first attempt comes from the form, later ones from the outbox on a
//! timer, when the browser comes back online, and on the next page load.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use earshot_protocol::{FeedbackAccepted, FeedbackRequest};
use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::UseReducerDispatcher;

use crate::api::{self, SubmitError};
use crate::bridge::Host;
use crate::outbox::Outbox;
use crate::state::{Action, State, Upload};
use crate::storage;

/// Longest wait `setTimeout` accepts (about 24 days).
const MAX_TIMEOUT_MS: f64 = 2_147_483_647.0;

#[derive(Clone)]
pub struct Courier {
    site: Rc<str>,
    url: Rc<str>,
    outbox: Rc<RefCell<Outbox>>,
    /// A flush is running; a second one would send the same items twice.
    busy: Rc<Cell<bool>>,
    /// Dropping it cancels it.
    timer: Rc<RefCell<Option<Timeout>>>,
    dispatch: UseReducerDispatcher<State>,
    host: Host,
    /// Screenshots of queued submissions, by idempotency key. Files cannot
    /// be stored, so they wait only while the page is open.
    files: Rc<RefCell<Vec<(String, web_sys::File)>>>,
}

/// Where an attempt came from: the customer pressing Send, or the outbox.
#[derive(Clone, Copy, PartialEq)]
enum Attempt {
    Form,
    Retry,
}

impl Courier {
    pub fn new(site: &str, url: &str, dispatch: UseReducerDispatcher<State>, host: Host) -> Self {
        let outbox = storage::load(site, storage::OUTBOX).unwrap_or_default();
        Courier {
            site: site.into(),
            url: url.into(),
            outbox: Rc::new(RefCell::new(outbox)),
            busy: Rc::new(Cell::new(false)),
            timer: Rc::default(),
            dispatch,
            host,
            files: Rc::default(),
        }
    }

    /// Sends what earlier page loads left behind and retries as soon as the
    /// browser reports it is online again.
    pub fn start(&self) {
        self.flush();
        let this = self.clone();
        let online = Closure::<dyn FnMut()>::new(move || this.retry_now());
        if let Some(window) = web_sys::window() {
            let _ =
                window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        }
        // The listener lives as long as the page: nothing ever removes it.
        online.forget();
    }

    /// The customer pressed Send, perhaps with a screenshot.
    pub fn send(&self, request: FeedbackRequest, file: Option<web_sys::File>) {
        if let (Some(file), Some(key)) = (file, request.idempotency_key.clone()) {
            let mut files = self.files.borrow_mut();
            files.retain(|(k, _)| *k != key);
            files.push((key, file));
        }
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = api::submit(&this.url, &request).await;
            this.settle(&request, result, Attempt::Form);
        });
    }

    /// "Try now", or the browser is back online.
    pub fn retry_now(&self) {
        self.outbox.borrow_mut().hurry(js_sys::Date::now());
        self.flush();
    }

    fn flush(&self) {
        if self.busy.replace(true) {
            return;
        }
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let due = this.outbox.borrow().due(js_sys::Date::now());
            for request in due {
                let result = api::submit(&this.url, &request).await;
                this.settle(&request, result, Attempt::Retry);
            }
            this.busy.set(false);
            this.schedule();
        });
    }

    fn settle(
        &self,
        request: &FeedbackRequest,
        result: Result<FeedbackAccepted, SubmitError>,
        attempt: Attempt,
    ) {
        let key = request.idempotency_key.clone().unwrap_or_default();
        match result {
            Ok(accepted) => {
                self.outbox.borrow_mut().remove(&key);
                self.save();
                self.host.submitted(&accepted);
                let file = {
                    let mut files = self.files.borrow_mut();
                    let index = files.iter().position(|(k, _)| *k == key);
                    index.map(|i| files.remove(i).1)
                };
                self.dispatch.dispatch(match attempt {
                    Attempt::Form => Action::Sent(accepted.clone()),
                    Attempt::Retry => Action::Delivered {
                        key,
                        accepted: accepted.clone(),
                    },
                });
                if let Some(file) = file {
                    self.upload(accepted, file);
                }
            }
            Err(SubmitError::Rejected(error)) => {
                self.outbox.borrow_mut().remove(&key);
                self.save();
                self.host.failed("rejected");
                self.dispatch.dispatch(match attempt {
                    Attempt::Form => Action::Rejected(error),
                    Attempt::Retry => Action::Restore(Box::new(request.clone()), error),
                });
            }
            Err(error) => {
                let (rate_limited, retry_after_ms) = match error {
                    SubmitError::RateLimited { retry_after_secs } => {
                        (true, retry_after_secs.map(|s| f64::from(s) * 1_000.0))
                    }
                    _ => (false, None),
                };
                let next =
                    self.outbox
                        .borrow_mut()
                        .failed(request, js_sys::Date::now(), retry_after_ms);
                let saved = self.save();
                if attempt == Attempt::Form {
                    self.host.failed(if rate_limited {
                        "rate_limited"
                    } else {
                        "unreachable"
                    });
                }
                self.dispatch.dispatch(match next {
                    Some(retry_at) => Action::Queued {
                        key,
                        rate_limited,
                        retry_at,
                        saved,
                    },
                    None => Action::Unreachable,
                });
                if attempt == Attempt::Form {
                    self.schedule();
                }
            }
        }
    }

    /// Attaches `file` to the accepted entry, trying a few times over a
    /// minute before saying it could not.
    fn upload(&self, accepted: FeedbackAccepted, file: web_sys::File) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            this.dispatch.dispatch(Action::Upload(Upload::Sending));
            let mut outcome = Upload::Failed;
            for wait_ms in [0, 2_000, 10_000, 45_000] {
                sleep(wait_ms).await;
                match api::attach(&this.url, &accepted, &file).await {
                    Ok(()) => {
                        outcome = Upload::Attached;
                        break;
                    }
                    Err(SubmitError::Rejected(_)) => break,
                    Err(_) => {}
                }
            }
            this.dispatch.dispatch(Action::Upload(outcome));
        });
    }

    /// Writes the outbox through to storage; whether what it holds would
    /// survive the page being closed.
    fn save(&self) -> bool {
        let outbox = self.outbox.borrow();
        if outbox.is_empty() {
            storage::remove(&self.site, storage::OUTBOX);
            true
        } else {
            storage::save(&self.site, storage::OUTBOX, &*outbox)
        }
    }

    /// One timer for the earliest due item; replaces any earlier timer.
    fn schedule(&self) {
        // Dropping the earlier one cancels it.
        self.timer.borrow_mut().take();
        let Some(at) = self.outbox.borrow().next_due() else {
            return;
        };
        let wait = (at - js_sys::Date::now()).clamp(0.0, MAX_TIMEOUT_MS);
        let this = self.clone();
        let timeout = Timeout::new(wait as u32, move || this.flush());
        *self.timer.borrow_mut() = Some(timeout);
    }
}

/// Resolves after `ms` milliseconds (at once for 0).
async fn sleep(ms: i32) {
    if ms <= 0 {
        return;
    }
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
