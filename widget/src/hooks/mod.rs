mod use_modal;

pub use use_modal::use_modal;
