mod app;
mod dialog;
mod kind_picker;
mod queued;
mod sent;
mod severity_picker;
mod text_field;

pub use app::{App, AppProps};
pub use dialog::{FeedbackDialog, FeedbackDialogProps};
pub use kind_picker::{KindPicker, KindPickerProps};
pub use queued::{QueuedNotice, QueuedNoticeProps};
pub use sent::{SentNotice, SentNoticeProps};
pub use severity_picker::{SeverityPicker, SeverityPickerProps};
pub use text_field::{TextField, TextFieldProps};
