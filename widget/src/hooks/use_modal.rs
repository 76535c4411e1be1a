use web_sys::HtmlDialogElement;
use yew::prelude::*;

/// Keeps a `<dialog>` shown as a modal while `open` is true.
///
/// `showModal()` puts the dialog in the browser's top layer (above any
/// z-index the host page uses), makes the page behind it inert, traps focus
/// and turns Esc into a `cancel` event.
#[hook]
pub fn use_modal(open: bool) -> NodeRef {
    let node = use_node_ref();
    {
        let node = node.clone();
        use_effect_with(open, move |&open| {
            if let Some(dialog) = node.cast::<HtmlDialogElement>() {
                if open && !dialog.open() {
                    // Fails only if the dialog is detached; nothing to do then.
                    let _ = dialog.show_modal();
                } else if !open && dialog.open() {
                    dialog.close();
                }
            }
        });
    }
    node
}
