use web_sys::HtmlElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LauncherProps {
    pub label: AttrValue,
    pub expanded: bool,
    pub onopen: Callback<()>,
}

/// The floating button. It sits in a manual popover so it renders in the top
/// layer, above any overlay the host page stacks with z-index.
#[function_component(Launcher)]
pub fn launcher(props: &LauncherProps) -> Html {
    let layer = use_node_ref();
    {
        let layer = layer.clone();
        use_effect_with((), move |_| {
            if let Some(el) = layer.cast::<HtmlElement>() {
                // Older browsers without popovers still get the fixed button.
                let _ = el.show_popover();
            }
        });
    }
    let onclick = props.onopen.reform(|_: MouseEvent| ());
    html! {
        <div class="launcher-layer" popover="manual" ref={layer}>
            <button type="button" class="launcher" part="launcher"
                aria-haspopup="dialog" aria-expanded={props.expanded.to_string()} {onclick}>
                { props.label.clone() }
            </button>
        </div>
    }
}
