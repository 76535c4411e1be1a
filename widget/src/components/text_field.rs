use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TextFieldProps {
    pub id: AttrValue,
    pub label: AttrValue,
    pub value: AttrValue,
    /// Server limit in characters; shown as a counter.
    pub max: usize,
    #[prop_or_default]
    pub multiline: bool,
    /// Visible lines of a multi-line field (it grows as typed where the
    /// browser can).
    #[prop_or(4)]
    pub rows: u32,
    #[prop_or_default]
    pub required: bool,
    #[prop_or(AttrValue::Static("text"))]
    pub input_type: AttrValue,
    #[prop_or_default]
    pub autocomplete: Option<AttrValue>,
    #[prop_or_default]
    pub error: Option<AttrValue>,
    pub oninput: Callback<String>,
}

/// A labelled input or textarea with a character counter and its error.
#[function_component(TextField)]
pub fn text_field(props: &TextFieldProps) -> Html {
    let count = props.value.chars().count();
    let counter_id = format!("{}-count", props.id);
    let error_id = format!("{}-error", props.id);
    let describedby = if props.error.is_some() {
        format!("{counter_id} {error_id}")
    } else {
        counter_id.clone()
    };
    let invalid = props.error.is_some().then_some("true");
    let over = count > props.max;
    // Customers write in their own script, whatever the dialog's language:
    // Hebrew or Arabic reads right to left as it is typed (`dir="auto"`;
    // an email address starts with a Latin letter and stays left to right).
    let input = if props.multiline {
        let oninput = props
            .oninput
            .reform(|e: InputEvent| e.target_unchecked_into::<HtmlTextAreaElement>().value());
        html! {
            <textarea id={props.id.clone()} name={props.id.clone()} rows={props.rows.to_string()}
                value={props.value.clone()} required={props.required} dir="auto"
                aria-invalid={invalid} aria-describedby={describedby} {oninput} />
        }
    } else {
        let oninput = props
            .oninput
            .reform(|e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value());
        html! {
            <input id={props.id.clone()} name={props.id.clone()} type={props.input_type.clone()}
                value={props.value.clone()} required={props.required}
                autocomplete={props.autocomplete.clone()} dir="auto"
                aria-invalid={invalid} aria-describedby={describedby} {oninput} />
        }
    };
    html! {
        <div class={classes!("field", props.error.is_some().then_some("has-error"))}>
            <label for={props.id.clone()}>{ props.label.clone() }</label>
            { input }
            <div class="field-foot">
                if let Some(error) = &props.error {
                    <p id={error_id} class="error" role="alert">{ error.clone() }</p>
                }
                <span id={counter_id} class={classes!("counter", over.then_some("over"))}>
                    { format!("{count} / {}", props.max) }
                </span>
            </div>
        </div>
    }
}
