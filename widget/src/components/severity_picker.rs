use std::rc::Rc;

use earshot_protocol::Severity;
use yew::prelude::*;

use crate::strings::{Key, Strings};

#[derive(Properties, PartialEq)]
pub struct SeverityPickerProps {
    pub strings: Rc<Strings>,
    pub selected: Option<Severity>,
    pub onselect: Callback<Option<Severity>>,
}

/// "How much does this affect you?": optional, so a plain select whose
/// first choice is no answer.
#[function_component(SeverityPicker)]
pub fn severity_picker(props: &SeverityPickerProps) -> Html {
    let onchange = props.onselect.reform(|e: Event| {
        let value = e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        Severity::parse(&value)
    });
    let t = &props.strings;
    html! {
        <div class="field">
            <label for="severity">{ t.get(Key::SeverityLegend).to_owned() }</label>
            <select id="severity" {onchange}>
                <option value="" selected={props.selected.is_none()}>{ "—" }</option>
                { for Severity::ALL.into_iter().map(|severity| html! {
                    <option value={severity.as_str()} selected={props.selected == Some(severity)}>
                        { t.severity(severity).to_owned() }
                    </option>
                }) }
            </select>
        </div>
    }
}
