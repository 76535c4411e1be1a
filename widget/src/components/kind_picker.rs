use earshot_protocol::Kind;
use yew::prelude::*;

use std::rc::Rc;

use crate::strings::{Key, Strings};

#[derive(Properties, PartialEq)]
pub struct KindPickerProps {
    pub strings: Rc<Strings>,
    pub selected: Kind,
    pub onselect: Callback<Kind>,
}

/// Radio group choosing what the feedback is about.
#[function_component(KindPicker)]
pub fn kind_picker(props: &KindPickerProps) -> Html {
    html! {
        <fieldset class="kinds">
            <legend>{ props.strings.get(Key::KindLegend).to_owned() }</legend>
            { for Kind::ALL.into_iter().map(|kind| {
                let id = format!("kind-{}", kind.as_str());
                let onchange = props.onselect.reform(move |_: Event| kind);
                html! {
                    <label class="kind" for={id.clone()}>
                        // The chosen kind is the form's first field: focus
                        // starts there when the dialog opens (the dialog's
                        // autofocus delegate), not on Close.
                        <input type="radio" name="kind" id={id} value={kind.as_str()}
                            checked={props.selected == kind} {onchange}
                            autofocus={props.selected == kind}
                            data-first={(props.selected == kind).then_some("")} />
                        <span>{ props.strings.kind(kind).to_owned() }</span>
                    </label>
                }
            }) }
        </fieldset>
    }
}
